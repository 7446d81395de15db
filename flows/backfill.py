"""Backfill: read an archive folder or file, the stories published in a date range, one window of days at a time."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.form import RunSettings, Unset
from flows.ingest import publish, this_flow_run, with_dask
from flows.stages import in_sequence
from pipeline.config import Settings
from pipeline.run import run_backfill


@flow(name="storyflow-backfill", log_prints=False)
def backfill_flow(
    source: str,
    start: date,
    end: date,
    data_dir: str = "data",
    overrides: RunSettings | Unset = None,
    dask_address: str = "",
) -> str:
    """Read an archive into the store, keeping only the stories published between two days, one window of days at a
    time (a run and a snapshot each, oldest first). Run it again after an interruption: it goes on at the first
    window not yet committed. The archive is read whole, so several backfills can take different dates from it.

    Args:
        source: The archive: a folder or one file of stories (.txt, .json or .jsonl records, NewsML-G2, RSS or Atom
            .xml, .html pages). A relative path starts from the folder the deployment was made in.
        start: The first publication day to take (UTC).
        end: The last publication day to take (UTC), included.
        data_dir: The folder holding the results. A relative path starts from the folder the deployment was made in.
        overrides: Change a few settings for this run only (the days per window among them). Leave a box empty to
            keep its usual value.
        dask_address: A Dask scheduler (tcp://host:8786) to spread the reading and the per-story work over; its
            workers must see the archive at the same path. Empty: the setting.
    """
    settings = with_dask(Settings(data_dir=Path(data_dir)).with_overrides(overrides), dask_address)
    result = in_sequence(run_backfill, (source, settings, start, end), settings.dask, flow_run=this_flow_run(),
                         on_window=publish)
    summary = result.summary()
    create_markdown_artifact(markdown=summary, key="storyflow-backfill-windows", description=f"backfill of {source}")
    get_run_logger().info(summary)
    return summary

