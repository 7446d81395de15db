"""Speed of a backfill with its parallel stages in one process or on a local Dask cluster.

    .venv/bin/python -m bench.dask [--n 535] [--days 5] [--workers 1 2] [--batch-stories 64]

The first `--n` stories of the dev set, dated over `--days` days in eight .jsonl files
(`bench.dev_set.dated_archive`), are backfilled by the backfill flow in one-day windows
(`flows.backfill.backfill_flow`, under a temporary Prefect server) into a fresh store each time
(so every story is embedded): once in one process, then on a `LocalCluster` of 1 and of 2
worker processes (one thread each) that the flow starts for itself (`dask.local_workers`).
Prints stories/s end to end (cluster start and each worker's model load included) and the
peak resident memory of the flow process and of each worker process, sampled every 0.2 s.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import psutil

from bench import dev_set

START = date(2021, 3, 1)


class PeakMemory:
    """Peak RSS of this process and of every child process started after it was made."""

    def __init__(self) -> None:
        self.me = psutil.Process()
        self.old = {p.pid for p in self.me.children(recursive=True)}
        self.peak: dict[int, int] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)

    def sample(self) -> None:
        while not self.done.wait(0.2):
            for proc in [self.me, *self.me.children(recursive=True)]:
                if proc.pid in self.old:
                    continue
                try:
                    self.peak[proc.pid] = max(self.peak.get(proc.pid, 0), proc.memory_info().rss)
                except psutil.Error:
                    pass

    def __enter__(self) -> "PeakMemory":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=535, help="dev-set stories to ingest")
    parser.add_argument("--days", type=int, default=5, help="publication days (one-day windows) they are spread over")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="local cluster sizes")
    parser.add_argument("--batch-stories", type=int, default=64, help="stories per parallel task")
    args = parser.parse_args()
    os.environ["STORYFLOW_DASK__BATCH_STORIES"] = str(args.batch_stories)
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # on a loaded shared machine a worker busy importing torch can stay silent past the 30 s
    # default, and the scheduler then drops it; the workers inherit this from the environment
    os.environ.setdefault("DASK_DISTRIBUTED__COMM__TIMEOUTS__TCP", "180s")

    from prefect.testing.utilities import prefect_test_harness

    from flows.backfill import backfill_flow

    mb = 1 / 2**20
    with tempfile.TemporaryDirectory() as tmp, prefect_test_harness(server_startup_timeout=120):
        source = dev_set.dated_archive(Path(tmp) / "archive", dev_set.load()[:args.n], START, args.days, 8)
        print(f"{args.n} stories over {args.days} one-day windows, {args.batch_stories} per parallel task, "
              f"{os.cpu_count()} cores")
        for workers in [0, *args.workers]:
            os.environ["STORYFLOW_DASK__LOCAL_WORKERS"] = str(workers)
            with PeakMemory() as memory:
                began = time.perf_counter()
                backfill_flow(source=str(source), start=START, end=START + timedelta(days=args.days),
                              data_dir=str(Path(tmp) / f"data{workers}"))
                seconds = time.perf_counter() - began
            flow_peak = memory.peak.pop(memory.me.pid, 0) * mb
            children = sorted((v * mb for v in memory.peak.values()), reverse=True)
            label = "one process" if not workers else f"LocalCluster, {workers} worker{'s' if workers > 1 else ''}"
            print(f"{label:26s} {seconds:7.1f} s  {args.n / seconds:6.2f} stories/s  peak RSS: flow process "
                  f"{flow_peak:6.0f} MB, workers {' '.join(f'{c:.0f}' for c in children[:workers]) or '-'} MB")


if __name__ == "__main__":
    main()
