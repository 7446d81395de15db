"""What a backfill costs per story, stage by stage, and how the single-writer stages grow with the store.

    .venv/bin/python -m bench.backfill [--n 535] [--days 5] [--store-sizes 10000 100000] [--repeats 3]

Part 1: the first `--n` dev stories, dated over `--days` days (`bench.dev_set.dated_archive`),
backfilled in one process in one-day windows into a fresh store (every story embedded):
seconds per 1,000 stories for every stage (`pipeline.run.Stages` timings), split into the
stages a Dask cluster can take (survey, read, normalize, sketch, embed) and those that stay on
the one writer. Median of `--repeats` runs.

Part 2: one more window of 100 dev stories backfilled onto a synthetic store of each
`--store-sizes` stories (`bench.dashboard.synthetic_store`, its vectors cached and its copy
index built by a first window, as earlier runs leave a store): the single-writer stages'
seconds for that window (loading the store, copies, events, tables, search index, commit) as
the store grows, and the process's peak resident memory so far (the sizes run in the order
given, so give them smallest first). These grow with the store, not the window: they bound a
long backfill.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import tempfile
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from bench import dev_set
from bench.dashboard import synthetic_store
from pipeline.config import Settings
from pipeline.events.embed import EmbeddingCache, cache_fill, cache_misses
from pipeline.run import Stages, run_backfill
from pipeline.store import Store
from pipeline.store.state import load_state

PARALLEL = ("parts", "survey", "read", "normalize", "sketch", "embed")
START = date(2021, 3, 1)


def backfill_timings(archive: Path, data: Path, end: date) -> tuple[dict[str, float], int]:
    stages = Stages()
    result = run_backfill(str(archive), Settings(data_dir=data), START, end, stages)
    return stages.timings, sum(r.report.counts["new_articles"] for r in result.runs)


def part_one(tmp_path: Path, rows: list[dict], args, end: date) -> None:
    archive = dev_set.dated_archive(tmp_path / "archive", rows[:args.n], START, args.days, 4)
    runs = [backfill_timings(archive, tmp_path / f"data{k}", end) for k in range(args.repeats)]
    n = runs[0][1]
    stages = sorted({s for timings, _ in runs for s in timings}, key=lambda s: (s not in PARALLEL, s))
    print(f"Part 1: {n} stories in {args.days} one-day windows, one process, {os.cpu_count()} cores; "
          f"median of {args.repeats} (s per 1,000 stories)")
    per_k = {s: statistics.median(t.get(s, 0.0) for t, _ in runs) * 1000 / n for s in stages}
    for stage in stages:
        print(f"  {stage:12s} {'parallel' if stage in PARALLEL else 'writer  '} {per_k[stage]:8.2f}")
    parallel, writer = sum(per_k[s] for s in PARALLEL if s in per_k), sum(v for s, v in per_k.items() if s not in PARALLEL)
    print(f"  {'all':12s} {'parallel':8s} {parallel:8.2f}\n  {'all':12s} {'writer':8s} {writer:8.2f}")


def stored_store(data: Path, size: int, settings: Settings) -> None:
    """A synthetic store of `size` stories whose vectors are in its embedding cache, as earlier runs
    leave it (random unit vectors: this part times the writer, not the model)."""
    synthetic_store(data, size, random.Random(size))
    cache = EmbeddingCache(data, settings.embedding)
    _, missing = cache_misses(load_state(Store(data).current()).articles, cache, settings.embedding)
    vectors = np.random.default_rng(size).normal(size=(len(missing), 384)).astype(np.float32)
    cache_fill(cache, missing, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=535, help="dev stories in the archive of part 1 (0: skip it)")
    parser.add_argument("--days", type=int, default=5, help="publication days they are spread over")
    parser.add_argument("--store-sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    rows = dev_set.load()
    end = date(2021, 3, 31)

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if args.n:
            part_one(tmp_path, rows, args, end)

        print("Part 2: one window of 100 stories onto a store of N stories (single-writer stages, s; median)")
        today = date.today()  # the synthetic store's stories are of the 30 days before
        warm_up = dev_set.dated_archive(tmp_path / "warm-up", rows[100:150], today, 1, 1)
        window = dev_set.dated_archive(tmp_path / "window", rows[:100], today + timedelta(days=1), 1, 1)
        for size in args.store_sizes:
            results = []
            for k in range(args.repeats):
                data = tmp_path / f"store{size}-{k}"
                settings = Settings(data_dir=data)
                stored_store(data, size, settings)
                run_backfill(str(warm_up), settings, today, today)  # builds the copy index
                stages = Stages()
                run_backfill(str(window), settings, today + timedelta(days=1), today + timedelta(days=1), stages)
                results.append(stages.timings)
            shown = ("load", "copies", "events", "storylines", "tables", "search", "commit")
            print(f"  N={size:>9,}  " + "  ".join(
                f"{s} {statistics.median(r.get(s, 0.0) for r in results):.2f}" for s in shown)
                + f"  peak RSS so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
