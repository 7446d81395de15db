"""Dated archives for backfill tests: dev-set stories given publication days and spread over files
(`bench.dev_set.dated_archive`), and the stored tables to compare two stores by."""
from __future__ import annotations

from pathlib import Path

from bench.dev_set import dated_archive, load  # noqa: F401 - the benchmarks' dev set and archives, shared


def dev_records(n: int) -> list[dict]:
    """The first `n` stories of the dev set (ECB+, CC BY 3.0), as JSON records."""
    return load()[:n]


# columns that say when a run was, not what it found
CLOCK_COLUMNS = {"ingested_at", "run_id", "first_seen", "last_seen"}


def stored_table(data: Path, name: str):
    """A table of the store's current snapshot, without its clock columns, in a fixed row order."""
    import pyarrow.parquet as pq

    table = pq.read_table(data / "current" / f"{name}.parquet")
    table = table.drop_columns([c for c in table.column_names if c in CLOCK_COLUMNS])
    return table.sort_by([(table.column_names[0], "ascending")])
