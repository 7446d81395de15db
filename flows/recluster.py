"""Re-cluster flow: rebuild the events of a time range from scratch, keeping event ids.

Incremental runs never move a story that already has an event (only merges do), so early
mistakes can stay; this flow re-clusters every canonical story whose time falls in
[start, end] (or the last `last_days` days, for a schedule) and maps the new clusters onto
the old ids (`pipeline.events.assign.rebuild_events`).
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from prefect import flow

from flows.ingest import publish, with_dask
from flows.stages import in_sequence
from pipeline.config import RunOverrides, Settings
from pipeline.ingest.date_window import rebuild_range
from pipeline.run import run_recluster


@flow(name="storyflow-recluster", log_prints=False)
def recluster_flow(
    start: str | None = None,
    end: str | None = None,
    data_dir: str = "data",
    overrides: RunOverrides | None = None,
    last_days: float | None = None,
    dask_address: str = "",
) -> str:
    """Rebuild the events of stories published (or, undated, ingested) from `start` to `end`; return a summary.

    Args:
        start: first time of the range, an ISO date or time (UTC unless stated); empty leaves it open
        end: last time of the range, an ISO date or time (UTC unless stated); empty leaves it open
        data_dir: the store holding the Parquet tables
        overrides: thresholds and model for this run only; empty fields keep the configured settings
        last_days: instead of start and end, the last this many days up to now (for a schedule)
        dask_address: a Dask scheduler (tcp://host:8786) to run the parallel stages on; empty keeps the setting
    """
    first, last = rebuild_range(start, end, last_days, datetime.now(timezone.utc))
    settings = with_dask(Settings(data_dir=Path(data_dir)).with_overrides(overrides), dask_address)
    result = in_sequence(run_recluster, (first, last, settings), settings.dask)
    publish(result, "recluster")
    return result.summary
