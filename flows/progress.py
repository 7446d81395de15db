"""What the command line shows while a run works: a live bar per stage on a terminal, plain lines elsewhere.

On a terminal (the stream is a TTY) the running stage gets a row of rich's live display: a
spinner while it works, a bar with counts and time left where the stage reports progress
(embedding); when it ends the row gives way to a line with a tick and its time. Anywhere else (cron, a pipe, a log file) the same events are
plain time-stamped lines, and long stages report at most one line every `every_s` seconds, so
a log shows where a run is without filling up with redraws: one line per stage when it ends,
and for a long stage (embedding) its start and progress too.
"""
from __future__ import annotations

import sys
import time
from datetime import datetime
from typing import IO

from pipeline.run import RunResult

# what each stage of `pipeline.run` does, for someone watching a run
STAGE_LABELS = {
    "load": "reading the store",
    "read": "reading the inputs",
    "normalize": "normalizing the stories",
    "versions": "sorting new versions and withdrawals",
    "sketch": "sketching the new stories",
    "copies": "finding copies",
    "embed_cache": "looking up and saving stories embedded before",
    "embed": "reading stories with the language model",
    "events": "grouping stories into events",
    "storylines": "grouping events into storylines",
    "tables": "preparing the tables",
    "search": "indexing the stories for search",
    "commit": "committing a new snapshot",
    "parts": "listing the archive's files",
    "survey": "finding the publication days in each file",
    "windows": "backfilling the archive window by window",
}
UNITS = {"embed": "stories", "windows": "windows"}


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class RunDisplay:
    """A `flows.stages.Watcher` that shows each stage on `stream` (default: stderr) and keeps the run's result."""

    def __init__(self, stream: IO[str] | None = None, live: bool | None = None, every_s: float = 10.0):
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty() if live is None else live
        self.every_s = every_s
        self.result: RunResult | None = None  # the last run's
        self.results: list[RunResult] = []  # every run's (a backfill makes one per window)
        self._began: dict[str, float] = {}
        self._printed: dict[str, float] = {}
        self._tasks: dict[str, int] = {}
        self._counting: set[str] = set()  # rows opened by progress alone
        self._bars = None

    # --- the context: a live display runs from entry to exit ------------------------------

    def __enter__(self) -> "RunDisplay":
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self._bars = Progress(
                SpinnerColumn(), TextColumn("{task.description}"), BarColumn(bar_width=30),
                TextColumn("{task.fields[count]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                console=Console(file=self.stream), transient=False, redirect_stdout=False, redirect_stderr=False)
            self._bars.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._bars is not None:
            self._bars.stop()
            self._bars = None

    def _line(self, text: str) -> None:
        self.stream.write(f"{datetime.now():%H:%M:%S} {text}\n")
        self.stream.flush()

    # --- the watcher ---------------------------------------------------------------------

    def stage_started(self, stage: str) -> None:
        self._began[stage] = time.monotonic()
        label = STAGE_LABELS.get(stage, stage)
        if self._bars is not None:
            self._tasks[stage] = self._bars.add_task(f"{stage:<10}", total=None, count="")  # short: room for the bar
        elif stage in UNITS:  # a long stage: its start, then its progress (the others: one line when done)
            self._line(f"{stage}: {label} …")

    def progress(self, stage: str, done: int, total: int) -> None:
        """How far a stage is; a count with no stage around it (a backfill's windows) gets a row of its own."""
        unit = UNITS.get(stage, "")
        count = f"{done:,} of {total:,} {unit}".rstrip()
        if self._bars is not None and stage not in self._tasks and stage not in self._began:
            self._counting.add(stage)
            self.stage_started(stage)
        if self._bars is not None and stage in self._tasks:
            self._bars.update(self._tasks[stage], total=total, completed=done, count=count)
            if done >= total and stage in self._counting:
                self._counting.discard(stage)
                self.stage_finished(stage, time.monotonic() - self._began.pop(stage), False)
            return
        now = time.monotonic()
        if done < total and now - self._printed.get(stage, 0.0) < self.every_s:
            return
        self._printed[stage] = now
        elapsed = now - self._began.get(stage, now)
        left = f", about {_clock(elapsed * (total - done) / done)} left" if 0 < done < total else ""
        self._line(f"{stage}: {count} ({100 * done // max(total, 1)}%), {_clock(elapsed)} elapsed{left}")

    def stage_finished(self, stage: str, seconds: float, failed: bool) -> None:
        outcome = "failed after" if failed else "done in"
        if self._bars is not None and stage in self._tasks:  # the live row gives way to a line that stays
            task_id = self._tasks.pop(stage)
            task = next(t for t in self._bars.tasks if t.id == task_id)
            self._bars.remove_task(task.id)
            count = f" ({task.fields['count']})" if task.fields.get("count") else ""
            mark = "[red]✗[/]" if failed else "[green]✓[/]"
            self._bars.console.print(f"{mark} {stage:<10} {STAGE_LABELS.get(stage, stage)}: {outcome} {seconds:.1f} s{count}",
                                     highlight=False)
            return
        self._line(f"{stage}: {STAGE_LABELS.get(stage, stage)}: {outcome} {seconds:.1f} s")

    def run_finished(self, result: RunResult) -> None:
        self.result = result
        self.results.append(result)
