"""Prefect's side of a run: each stage of `pipeline.run` becomes a task, with retries where it does I/O.

The run sequence lives in `pipeline.run`; this only decides how each stage runs under Prefect:
as a task named after the stage (so the UI shows the run stage by stage), with retries and
backoff for the stages that touch files, feeds or the store, and the embedding progress as a
progress artifact. The parallel stages (`Stages.map`) become one task per batch, mapped with the
flow's task runner: threads by default, or a Dask cluster (`in_sequence`, `task_runner`).
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NONE
from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging.handlers import APILogHandler

from pipeline.config import DaskConfig
from pipeline.run import Stages

# I/O that can fail for passing reasons (network mounts, a file still being copied, a feed
# that times out) is retried with backoff; the stages do not change their inputs, so a retry
# starts from what the failed attempt was given.
IO_STAGES = {"read", "load", "commit"}
IO_RETRIES = dict(retries=3, retry_delay_seconds=[2, 10, 30], retry_jitter_factor=0.5)



class RunLogHandler(APILogHandler):
    """The pipeline's log records, sent to the log of the flow run they happen in (and nowhere else)."""

    def emit(self, record: logging.LogRecord) -> None:
        if FlowRunContext.get() or TaskRunContext.get():
            super().emit(record)


# The pipeline logs through the standard library: its records join the run's log in the UI.
_pipeline_log = logging.getLogger("pipeline")
if not any(isinstance(h, RunLogHandler) for h in _pipeline_log.handlers):
    _pipeline_log.addHandler(RunLogHandler())
_pipeline_log.setLevel(logging.INFO)


class PrefectStages(Stages):
    def __init__(self) -> None:
        super().__init__()
        self._progress: dict[str, Any] = {}

    def run(self, name: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        options = IO_RETRIES if name in IO_STAGES else {}
        stage = task(fn, name=name, cache_policy=NONE, **options)
        return super().run(name, stage, *args, **kwargs)

    def map(self, name: str, fn: Callable, items: list, *args: Any) -> list:
        """One task per item on the flow's task runner (a Dask cluster: see `in_sequence`); results in order."""
        stage = task(fn, name=name, cache_policy=NONE)

        def mapped() -> list:
            futures = stage.map(items, *(unmapped(a) for a in args)) if items else []
            out = []
            for future in futures:
                out.append(future.result())
                self.progress(name, len(out), len(items))
            return out

        return super().run(name, mapped)

    def progress(self, stage: str, done: int, total: int) -> None:
        percent = 100.0 * done / total if total else 100.0
        description = f"{stage}: {done} of {total}"
        if stage not in self._progress:
            self._progress[stage] = create_progress_artifact(percent, key=f"storyflow-{stage}", description=description)
        else:
            update_progress_artifact(self._progress[stage], percent, description=description)
        if done == total:
            get_run_logger().info(description)


def task_runner(config: DaskConfig):
    """The Dask task runner `config` asks for (a scheduler's address, or a local cluster of
    worker processes), or None to keep the flow's own (threads in this process)."""
    if not config.address and not config.local_workers:
        return None
    from prefect_dask import DaskTaskRunner  # only where Dask is used

    if config.address:
        return DaskTaskRunner(address=config.address)
    return DaskTaskRunner(cluster_class="distributed.LocalCluster",
                          cluster_kwargs={"n_workers": config.local_workers, "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None})


@flow(name="storyflow-run-sequence", validate_parameters=False, persist_result=False)
def run_sequence(run: Callable, args: tuple) -> Any:
    """`run(*args, stages)` as a flow of its own, so that it can get a task runner of its own."""
    return run(*args, PrefectStages())


def in_sequence(run: Callable, args: tuple, config: DaskConfig) -> Any:
    """`run(*args, stages)` (`pipeline.run.run_ingest`, `run_recluster`) with Prefect stages: in this
    flow, or, where `config` names a Dask cluster, in a subflow whose task runner maps the parallel
    stages onto it (a flow's task runner is fixed when it is called)."""
    runner = task_runner(config)
    if runner is None:
        return run(*args, PrefectStages())
    return run_sequence.with_options(task_runner=runner)(run, args)
