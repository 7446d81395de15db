"""Dated archives for backfill tests: dev-set stories given publication days and spread over files."""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEV = ROOT.parent / "shared" / "data" / "ecbplus-dev.jsonl"
if not DEV.exists():
    DEV = Path("/work/shared/data/ecbplus-dev.jsonl")


def dev_records(n: int) -> list[dict]:
    """The first `n` stories of the dev set (ECB+, CC BY 3.0), as JSON records."""
    with DEV.open() as lines:
        return [json.loads(line) for _, line in zip(range(n), lines)]


def dated_archive(folder: Path, records: list[dict], first: date, n_days: int, n_files: int) -> Path:
    """`records` written to `n_files` JSON-lines files in `folder`, story i published on day i mod
    `n_days` after `first` and put in file i mod `n_files` (so every file holds several days)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = [[] for _ in range(n_files)]
    for i, record in enumerate(records):
        day = first + timedelta(days=i % n_days)
        files[i % n_files].append({**record, "published_at": f"{day.isoformat()}T09:30:00Z"})
    for n, rows in enumerate(files):
        (folder / f"wire-{n}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


# columns that say when a run was, not what it found
CLOCK_COLUMNS = {"ingested_at", "run_id", "first_seen", "last_seen"}


def stored_table(data: Path, name: str):
    """A table of the store's current snapshot, without its clock columns, in a fixed row order."""
    import pyarrow.parquet as pq

    table = pq.read_table(data / "current" / f"{name}.parquet")
    table = table.drop_columns([c for c in table.column_names if c in CLOCK_COLUMNS])
    return table.sort_by([(table.column_names[0], "ascending")])
