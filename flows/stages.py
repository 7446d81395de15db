"""Prefect's side of a run: each stage of `pipeline.run` becomes a task, with retries where it does I/O.

The run sequence lives in `pipeline.run`; this only decides how each stage runs under Prefect:
as a task named after the stage (so the UI shows the run stage by stage), with retries and
backoff for the stages that touch files, feeds or the store, and the embedding progress as a
progress artifact. Watchers in this process (the command line's progress display) are told
when each stage starts and ends, how far a long stage is, and the run's result. The parallel
stages (`Stages.map`) become one task per batch, mapped with the flow's task runner: threads by
default, or a Dask cluster (`in_sequence`, `task_runner`).
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Protocol

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NONE
from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging.handlers import APILogHandler

from pipeline.config import DaskConfig
from pipeline.run import RunResult, Stages

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


class Watcher(Protocol):
    """Follows the runs of this process (flows/progress.py shows them on a terminal)."""

    def stage_started(self, stage: str) -> None: ...

    def stage_finished(self, stage: str, seconds: float, failed: bool) -> None: ...

    def progress(self, stage: str, done: int, total: int) -> None: ...

    def run_finished(self, result: RunResult) -> None: ...


_watchers: list[Watcher] = []
_log = logging.getLogger(__name__)


def _tell(event: str, *args: Any) -> None:
    """Call `event` on every watcher; a watcher that fails is logged, never fails the run."""
    for watcher in list(_watchers):
        try:
            getattr(watcher, event)(*args)
        except Exception:  # noqa: BLE001 - a display's bug must not cost a run
            _log.warning("watcher %r failed on %s", watcher, event, exc_info=True)


@contextmanager
def watching(watcher: Watcher) -> Iterator[Watcher]:
    """Tell `watcher` about the runs made in this process while inside the block."""
    _watchers.append(watcher)
    try:
        yield watcher
    finally:
        _watchers.remove(watcher)


def tell_watchers(result: RunResult) -> None:
    _tell("run_finished", result)


class PrefectStages(Stages):
    def __init__(self) -> None:
        super().__init__()
        self._progress: dict[str, Any] = {}

    def run(self, name: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        options = IO_RETRIES if name in IO_STAGES else {}
        stage = task(fn, name=name, cache_policy=NONE, **options)
        _tell("stage_started", name)
        began, failed = time.perf_counter(), True
        try:
            out = super().run(name, stage, *args, **kwargs)
            failed = False
            return out
        finally:
            _tell("stage_finished", name, time.perf_counter() - began, failed)

    def map(self, name: str, fn: Callable, items: list, *args: Any, sizes: list[int] | None = None) -> list:
        """One task per item on the flow's task runner (a Dask cluster: see `in_sequence`); results in order."""
        stage = task(fn, name=name, cache_policy=NONE)
        sizes = sizes or [1] * len(items)

        def mapped() -> list:
            futures = stage.map(items, *(unmapped(a) for a in args)) if items else []
            out = []
            for future in futures:
                out.append(future.result())
                self.progress(name, sum(sizes[:len(out)]), sum(sizes))
            return out

        _tell("stage_started", name)
        began, failed = time.perf_counter(), True
        try:
            out = Stages.run(self, name, mapped)
            failed = False
            return out
        finally:
            _tell("stage_finished", name, time.perf_counter() - began, failed)

    def progress(self, stage: str, done: int, total: int) -> None:
        _tell("progress", stage, done, total)
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
def run_sequence(run: Callable, args: tuple, keywords: dict) -> Any:
    """`run(*args, stages, **keywords)` as a flow of its own, so that it can get a task runner of its own."""
    return run(*args, PrefectStages(), **keywords)


def in_sequence(run: Callable, args: tuple, config: DaskConfig, **keywords: Any) -> Any:
    """`run(*args, stages, **keywords)` (`pipeline.run.run_ingest`, `run_recluster`) with Prefect
    stages: in this flow, or, where `config` names a Dask cluster, in a subflow whose task runner
    maps the parallel stages onto it (a flow's task runner is fixed when it is called)."""
    runner = task_runner(config)
    if runner is None:
        return run(*args, PrefectStages(), **keywords)
    return run_sequence.with_options(task_runner=runner)(run, args, keywords)
