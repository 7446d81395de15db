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

from flows.form import RunSettings, Unset
from flows.ingest import publish, this_flow_run, with_dask
from flows.stages import in_sequence
from pipeline.config import Settings
from pipeline.ingest.date_window import rebuild_range
from pipeline.run import run_recluster


def _iso(moment: datetime | None) -> str | None:
    """A time as `rebuild_range` reads it; a time without a zone is UTC."""
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).isoformat()


@flow(name="storyflow-recluster", log_prints=False)
def recluster_flow(
    start: datetime | Unset = None,
    end: datetime | Unset = None,
    data_dir: str = "data",
    overrides: RunSettings | Unset = None,
    last_days: float | Unset = None,
    dask_address: str = "",
) -> str:
    """Group stored stories into events again from scratch, for a period or for all of them. Events keep their ids
    where they keep their stories; the report lists the events split and merged and the stories moved.

    Args:
        start: First publication time of the stories to group again (UTC unless a zone is given; stories without a
            date count by when they were read). Empty: from the first story.
        end: Last publication time of the stories to group again. Empty: up to the latest story.
        data_dir: The folder holding the results. A relative path starts from the folder the deployment was made in.
        overrides: Change a few settings for this run only, e.g. a stricter "Events: how close". Leave a box empty
            to keep its usual value.
        last_days: Instead of start and end: the stories of this many days before the run starts (for a schedule).
        dask_address: A Dask scheduler (tcp://host:8786) to spread the per-story work over. Empty: the setting.
    """
    first, last = rebuild_range(_iso(start), _iso(end), last_days, datetime.now(timezone.utc))
    settings = with_dask(Settings(data_dir=Path(data_dir)).with_overrides(overrides), dask_address)
    result = in_sequence(run_recluster, (first, last, settings), settings.dask, flow_run=this_flow_run())
    publish(result)
    return result.summary
