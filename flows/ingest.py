"""The ingest flow: the run sequence of `pipeline.run` as Prefect tasks, with artifacts for operators."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.stages import in_sequence
from pipeline.config import RunOverrides, Settings
from pipeline.run import RunResult, run_ingest


def with_dask(settings: Settings, address: str) -> Settings:
    """`settings` with the Dask scheduler a run was given, if any."""
    if not address:
        return settings
    return settings.with_overrides({"dask": {"address": address}})


def publish(result: RunResult, kind: str) -> None:
    """The run's report as artifacts on its page in the UI."""
    create_markdown_artifact(markdown=result.report.markdown, key=f"storyflow-{kind}-summary",
                             description=f"storyflow {kind} {result.run_id}")
    create_table_artifact(table=result.report.events_touched, key=f"storyflow-{kind}-events",
                          description="events this run created, updated or merged")
    get_run_logger().info("run %s committed as snapshot %s: %s", result.run_id,
                          result.snapshot.id if result.snapshot else "-", result.report.counts)


@flow(name="storyflow-ingest", log_prints=False)
def ingest_flow(
    inputs: str = "seeds",
    data_dir: str = "data",
    feeds: list[str] | None = None,
    overrides: RunOverrides | None = None,
    published_from: date | None = None,
    published_to: date | None = None,
    dask_address: str = "",
) -> str:
    """Run the whole pipeline over `inputs` and `feeds` into `data_dir`; return a summary.

    Files and feed entries ingested by earlier runs are skipped (the inbox log).

    Args:
        inputs: inbox directory, one file, or a feed URL (relative paths are from the deployment's directory)
        data_dir: the store holding the Parquet tables
        feeds: RSS/Atom feed URLs to read as well
        overrides: thresholds and model for this run only; empty fields keep the configured settings
        published_from: if set, only stories published on or after this day (UTC)
        published_to: if set, only stories published on or before this day (UTC)
        dask_address: a Dask scheduler (tcp://host:8786) to run the parallel stages on; empty keeps the setting
    """
    settings = with_dask(Settings(data_dir=Path(data_dir)).with_overrides(overrides), dask_address)
    result = in_sequence(run_ingest, ([inputs, *(feeds or [])], settings, published_from, published_to), settings.dask)
    publish(result, "run")
    return result.summary
