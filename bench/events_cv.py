"""Event clustering judged on topics it never saw: grouped k-fold over the dev topics.

    .venv/bin/python -m bench.events_cv [--folds 5] [--repeats 3] [--configs NAME ...] [--text given detok]

The 23 dev topics are split into `--folds` groups, `--repeats` times with different fold seeds.
For each split, every free choice of a configuration (its cut, its model's weights, its
clusterer's parameters) is made on the training folds only (`Method.fit`), and the held-out
topics are then scored with B-cubed P/R/F1 two ways:
  - one run: the held-out stories clustered as one window of their own (about 100 stories);
  - five runs: the held-out stories in five time-ordered batches (each event breaks at a
    random moment and its stories follow close together: `bench.stability.batches_of`), each
    batch an incremental run over the ones before; F1 of the final events, and the share of
    stories whose event id changed after their first assignment.
Both for the text as given (Penn-Treebank tokens) and with tokenization undone.

Per configuration it prints the mean over all held-out windows (folds x repeats), their
standard deviation, the range of the per-repeat means, and the mean difference against the
first configuration printed (paired by window) with its standard deviation. Embeddings are
cached under /tmp (STORYFLOW_BENCH_CACHE), keyed by model and text.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import random
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import dev_set
from bench.scoring import bcubed
from bench.stability import batches_of
from pipeline.config import EventConfig, Settings
from pipeline.events import assign as events
from pipeline.events import cluster, embed, lexical
from pipeline.records import Article

CACHE = Path(os.environ.get("STORYFLOW_BENCH_CACHE", "/tmp/storyflow-bench-cache"))


def embeddings(articles: list[Article], settings: Settings) -> np.ndarray:
    """The pipeline's embeddings of `articles`, from a file under CACHE when already computed."""
    texts = [embed.embedding_text(a, settings.embedding.max_words) for a in articles]
    key = hashlib.blake2b(json.dumps([settings.embedding.model, settings.embedding.max_seq_length, texts]).encode(),
                          digest_size=10).hexdigest()
    path = CACHE / f"embeddings-{key}.npy"
    if path.exists():
        return np.load(path)
    vectors = embed.embed_texts(texts, settings.embedding)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


@dataclass
class Window:
    """Stories clustered together, with their embeddings and gold events."""

    articles: list[Article]
    vectors: np.ndarray
    gold: list[str]

    def subset(self, positions) -> "Window":
        positions = list(positions)
        return Window([self.articles[i] for i in positions], self.vectors[positions], [self.gold[i] for i in positions])


def topic_folds(topics: list, n_folds: int, seed: int) -> list[list]:
    """The topics shuffled by `seed` and dealt into `n_folds` groups of near-equal size."""
    order = sorted(topics)
    random.Random(seed).shuffle(order)
    return [order[k::n_folds] for k in range(n_folds)]


def f1(gold: list, labels) -> float:
    return bcubed(gold, list(labels))[2]


def incremental(fitted, window: Window, n_batches: int, seed: int) -> tuple[float, float]:
    """B-cubed F1 of `window`'s stories fed in `n_batches` time-ordered burst batches as
    incremental runs (`fitted.update`), and the share whose event changed after it was first given."""
    gold_of = {a.article_id: g for a, g in zip(window.articles, window.gold)}
    vector_of = {a.article_id: v for a, v in zip(window.articles, window.vectors)}
    stored: list[Article] = []
    previous: dict[str, str] = {}
    known: set[str] = set()
    first: dict[str, str] = {}
    for batch in batches_of(window.articles, n_batches, seed, gold_of):
        stored = stored + batch
        result = fitted.update(stored, np.stack([vector_of[a.article_id] for a in stored]), previous, known)
        previous = result.event_of
        known |= set(previous.values()) | set(result.merged_into)
        for a in batch:
            first[a.article_id] = previous[a.article_id]
    ids = [a.article_id for a in window.articles]
    changed = sum(previous[i] != first[i] for i in ids) / len(ids)
    return f1([gold_of[i] for i in ids], [previous[i] for i in ids]), changed


# ---------------------------------------------------------------------------------------------
# Configurations: a Method chooses its free parameters on training windows (`fit`) and returns
# something that clusters a window (`labels`) and runs incremental updates (`update`).

CUTS = np.round(np.arange(0.55, 0.901, 0.025), 3)


@contextlib.contextmanager
def window_floor(rows: int):
    """lexical.MIN_WINDOW_ROWS set to `rows` for the duration."""
    saved = lexical.MIN_WINDOW_ROWS
    lexical.MIN_WINDOW_ROWS = rows
    try:
        yield
    finally:
        lexical.MIN_WINDOW_ROWS = saved


class CurrentPipeline:
    """The blended-distance pipeline (`pipeline.events`) with some event settings changed; the
    cut (`events.distance`) is chosen on the training windows, every other setting stays as given."""

    def __init__(self, changes: dict | None = None, min_window_rows: int | None = None):
        self.changes = changes or {}
        self.min_window_rows = lexical.MIN_WINDOW_ROWS if min_window_rows is None else min_window_rows

    def fit(self, training: list[Window]):
        base = Settings().events.model_copy(update=self.changes)
        with window_floor(self.min_window_rows):
            mean_f1 = {}
            for cut in CUTS:
                settings = base.model_copy(update={"distance": float(cut)})
                mean_f1[cut] = np.mean([f1(w.gold, events.window_labels(w.articles, w.vectors, settings))
                                        for w in training])
        best = max(CUTS, key=lambda c: (mean_f1[c], -abs(c - base.distance)))
        return FittedPipeline(base.model_copy(update={"distance": float(best)}), self.min_window_rows)


@dataclass
class FittedPipeline:
    settings: EventConfig
    min_window_rows: int

    def describe(self) -> str:
        return f"cut {self.settings.distance:.3f}"

    def labels(self, window: Window) -> np.ndarray:
        with window_floor(self.min_window_rows):
            return events.window_labels(window.articles, window.vectors, self.settings)

    def update(self, stories, vectors, previous, known) -> cluster.Assignment:
        with window_floor(self.min_window_rows):
            return events.update_events(stories, vectors, previous, known, self.settings)


NO_NEIGHBOUR_CUTS = {"sparse_distance": 2.0}  # the sparse cut never tighter than the full one

CONFIGS = {
    "current defaults": lambda: CurrentPipeline(),
    "no local scaling": lambda: CurrentPipeline({"scaling_weight": 0.0}),
    "no burst margin": lambda: CurrentPipeline({"burst_margin": 0.0}),
    "no window floor": lambda: CurrentPipeline(min_window_rows=0),
    "no sparse/dense cuts": lambda: CurrentPipeline(NO_NEIGHBOUR_CUTS),
    "none of the four": lambda: CurrentPipeline({"scaling_weight": 0.0, **NO_NEIGHBOUR_CUTS}, min_window_rows=0),
}


# ---------------------------------------------------------------------------------------------

@dataclass
class Result:
    one_run: float
    batched: float
    changed: float
    repeat: int
    seconds: float
    chosen: str


def evaluate(method_factory, data: Window, topic_of: list, n_folds: int, repeats: list[int], n_batches: int,
             incremental_runs: bool = True) -> list[Result]:
    results = []
    topics = sorted(set(topic_of))
    for seed in repeats:
        folds = topic_folds(topics, n_folds, seed)
        fold_of = {t: k for k, fold in enumerate(folds) for t in fold}
        windows = [data.subset([i for i, t in enumerate(topic_of) if fold_of[t] == k]) for k in range(n_folds)]
        for k in range(n_folds):
            t0 = time.perf_counter()
            fitted = method_factory().fit([w for j, w in enumerate(windows) if j != k])
            held = windows[k]
            one_run = f1(held.gold, fitted.labels(held))
            batched, changed = incremental(fitted, held, n_batches, seed) if incremental_runs else (np.nan, np.nan)
            results.append(Result(one_run, batched, changed, seed, time.perf_counter() - t0, fitted.describe()))
    return results


def summary(results: list[Result], baseline: list[Result] | None) -> str:
    def column(get) -> str:
        values = [get(r) for r in results]
        per_repeat = [np.mean([get(r) for r in results if r.repeat == rep]) for rep in sorted({r.repeat for r in results})]
        text = f"{np.mean(values):.3f} ±{np.std(values):.3f} [{min(per_repeat):.3f}-{max(per_repeat):.3f}]"
        if baseline is not None:
            diff = [get(r) - get(b) for r, b in zip(results, baseline)]
            text += f" Δ{np.mean(diff):+.3f}±{np.std(diff):.3f}"
        return text

    return (f"one run F1 {column(lambda r: r.one_run)} | five runs F1 {column(lambda r: r.batched)} "
            f"| moved {np.mean([r.changed for r in results]):.2%} (max {max(r.changed for r in results):.2%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, nargs="+", default=[0, 1, 2], help="fold seeds")
    parser.add_argument("--batches", type=int, default=5)
    parser.add_argument("--configs", nargs="+", default=None, help=f"of {list(CONFIGS)}")
    parser.add_argument("--text", nargs="+", default=["given", "detok"], choices=["given", "detok"])
    parser.add_argument("--one-run-only", action="store_true", help="skip the incremental runs")
    parser.add_argument("--verbose", action="store_true", help="print each held-out window")
    args = parser.parse_args()
    names = args.configs or list(CONFIGS)
    settings = Settings()
    rows = dev_set.load()
    print(f"{len(rows)} stories, {len({r['topic'] for r in rows})} topics; {args.folds} folds grouped by topic, "
          f"fold seeds {args.repeats}; five runs = {args.batches} time-ordered burst batches")
    print("columns: mean ±std over held-out windows [range of per-repeat means] Δ mean±std against the first "
          "configuration, paired by window")
    for text in args.text:
        articles = dev_set.articles(rows, detokenize=text == "detok")
        keep = [i for i, a in enumerate(articles) if a.text.strip()]  # a run rejects a story without text
        data = Window([articles[i] for i in keep], embeddings([articles[i] for i in keep], settings),
                      [rows[i]["event"] for i in keep])
        topic_of = [rows[i]["topic"] for i in keep]
        print(f"\n== text {'as given' if text == 'given' else 'with tokenization undone'} ({len(keep)} stories)")
        baseline = None
        for name in names:
            t0 = time.perf_counter()
            results = evaluate(CONFIGS[name], data, topic_of, args.folds, args.repeats, args.batches,
                               not args.one_run_only)
            if args.verbose:
                for r in results:
                    print(f"    repeat {r.repeat}: one run {r.one_run:.3f} five runs {r.batched:.3f} "
                          f"moved {r.changed:.1%} ({r.chosen})")
            chosen = statistics.multimode(r.chosen for r in results)
            print(f"  {name:28s} {summary(results, baseline)}   [{time.perf_counter() - t0:.0f} s; "
                  f"most chosen: {chosen[0]}]", flush=True)
            baseline = baseline or results


if __name__ == "__main__":
    main()
