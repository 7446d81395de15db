"""Backfill: ingest an archive folder or file, restricted to stories published in a date range."""
from __future__ import annotations

from datetime import date

from prefect import flow

from flows.form import RunSettings, Unset
from flows.ingest import ingest_flow


@flow(name="storyflow-backfill", log_prints=False)
def backfill_flow(
    source: str,
    start: date,
    end: date,
    data_dir: str = "data",
    overrides: RunSettings | Unset = None,
    dask_address: str = "",
) -> str:
    """Read an archive into the store, keeping only the stories published between two days. The archive is read
    whole every time, so several backfills can take different dates from the same files.

    Args:
        source: The archive: a folder or one file of stories (.txt, .json or .jsonl records, NewsML-G2, RSS or Atom
            .xml, .html pages). A relative path starts from the folder the deployment was made in.
        start: The first publication day to take (UTC).
        end: The last publication day to take (UTC), included.
        data_dir: The folder holding the results. A relative path starts from the folder the deployment was made in.
        overrides: Change a few settings for this run only. Leave a box empty to keep its usual value.
        dask_address: A Dask scheduler (tcp://host:8786) to spread the per-story work over. Empty: the setting.
    """
    # the ingest flow's body, run inside this flow so its tasks, logs and artifacts belong to this run
    return ingest_flow.fn(inputs=source, data_dir=data_dir, overrides=overrides, published_from=start, published_to=end,
                          dask_address=dask_address)
