"""Prefect's side of a run: each stage of `pipeline.run` becomes a task, with retries where it does I/O.

The run sequence lives in `pipeline.run`; this only decides how each stage runs under Prefect:
as a task named after the stage (so the UI shows the run stage by stage), with retries and
backoff for the stages that touch files, feeds or the store, and the embedding progress as a
progress artifact.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NONE
from prefect.context import FlowRunContext, TaskRunContext
from prefect.logging.handlers import APILogHandler

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

    def progress(self, stage: str, done: int, total: int) -> None:
        percent = 100.0 * done / total if total else 100.0
        description = f"{stage}: {done} of {total}"
        if stage not in self._progress:
            self._progress[stage] = create_progress_artifact(percent, key=f"storyflow-{stage}", description=description)
        else:
            update_progress_artifact(self._progress[stage], percent, description=description)
        if done == total:
            get_run_logger().info(description)
