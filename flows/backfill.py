"""Backfill: ingest an archive folder or file, restricted to stories published in a date range."""
from __future__ import annotations

from datetime import date

from prefect import flow

from flows.ingest import ingest_flow
from pipeline.config import RunOverrides


@flow(name="storyflow-backfill", log_prints=False)
def backfill_flow(
    source: str,
    start: date,
    end: date,
    data_dir: str = "data",
    overrides: RunOverrides | None = None,
    dask_address: str = "",
) -> str:
    """Ingest the stories of `source` published from `start` to `end` (UTC days, both included).

    Args:
        source: archive folder or file: .txt, .json/.jsonl (simple records or IPTC ninjs), .xml (NewsML-G2, RSS, Atom), .html
        start: first publication day to take (UTC)
        end: last publication day to take (UTC)
        data_dir: the store holding the Parquet tables
        overrides: thresholds and model for this run only; empty fields keep the configured settings
        dask_address: a Dask scheduler (tcp://host:8786) to run the parallel stages on; empty keeps the setting
    """
    # the ingest flow's body, run inside this flow so its tasks, logs and artifacts belong to this run
    return ingest_flow.fn(inputs=source, data_dir=data_dir, overrides=overrides, published_from=start, published_to=end,
                          dask_address=dask_address)
