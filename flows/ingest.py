"""The ingest flow: the run sequence of `pipeline.run` as Prefect tasks, with artifacts for operators."""
from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.context import FlowRunContext

from flows.form import RunSettings, Unset
from flows.stages import in_sequence, tell_watchers
from pipeline.config import Settings
from pipeline.run import RunResult, run_ingest
from pipeline.store.tables import FlowRunRef


def this_flow_run() -> FlowRunRef | None:
    """The Prefect flow run this code runs in, with its page in the UI where the server has a UI
    (the command line's temporary server has none: its runs get an id and no link)."""
    context = FlowRunContext.get()
    if context is None or context.flow_run is None:
        return None
    from prefect.settings import PREFECT_UI_ENABLED, PREFECT_UI_URL

    ui = PREFECT_UI_URL.value() if PREFECT_UI_ENABLED.value() else None
    run_id = str(context.flow_run.id)
    return FlowRunRef(run_id, f"{ui.rstrip('/')}/runs/flow-run/{run_id}" if ui else None)


def with_dask(settings: Settings, address: str) -> Settings:
    """`settings` with the Dask scheduler a run was given, if any."""
    if not address:
        return settings
    return settings.with_overrides({"dask": {"address": address}})


def publish(result: RunResult) -> None:
    """The run's report to this process's watchers (the command line), and as artifacts on its page in the UI."""
    tell_watchers(result)
    kind = result.report.kind
    create_markdown_artifact(markdown=result.report.markdown, key=f"storyflow-{kind}-summary",
                             description=f"storyflow {kind} {result.run_id}")
    create_table_artifact(table=result.report.events_touched, key=f"storyflow-{kind}-events",
                          description="events this run created, updated, split, merged or withdrew")
    if result.report.stories_moved:
        create_table_artifact(table=result.report.stories_moved, key=f"storyflow-{kind}-moves",
                              description="stories this run moved to another event")
    get_run_logger().info("run %s committed as snapshot %s: %s", result.run_id,
                          result.snapshot.id if result.snapshot else "-", result.report.counts)


@flow(name="storyflow-ingest", log_prints=False)
def ingest_flow(
    inputs: str = "seeds",
    data_dir: str = "data",
    feeds: list[str] | Unset = None,
    overrides: RunSettings | Unset = None,
    dask_address: str = "",
) -> str:
    """Read new stories into the store: fold copies together, group stories into events and events into
    storylines. Files and feed entries that earlier runs read are skipped.

    Args:
        inputs: Where to read stories from: a folder (each story file in it is read once, so later runs read only
            new files), one file, or a feed address (http or https). A relative path starts from the folder the
            deployment was made in.
        data_dir: The folder holding the results. A relative path starts from the folder the deployment was made in.
        feeds: More RSS or Atom feed addresses to read in the same run.
        overrides: Change a few settings for this run only. Leave a box empty to keep its usual value.
        dask_address: A Dask scheduler (tcp://host:8786) to spread the per-story work over. Empty: the setting
            (STORYFLOW_DASK__ADDRESS), else this process.
    """
    settings = with_dask(Settings(data_dir=Path(data_dir)).with_overrides(overrides), dask_address)
    result = in_sequence(run_ingest, ([inputs, *(feeds or [])], settings), settings.dask,
                         flow_run=this_flow_run())
    publish(result)
    return result.summary
