"""Event clustering judged on topics it never saw: grouped k-fold over the dev topics.

    .venv/bin/python -m bench.events [--folds 5] [--repeats 0 1 2] [--configs NAME ...] [--text given detok]
                                     [--one-run-only] [--checks]

The 23 dev topics are split into `--folds` groups, `--repeats` times with different fold seeds.
For each split, every free choice of a configuration (its cut, its clusterer's parameters) is
made on the training folds only (`fit`), and the held-out topics are then scored with B-cubed
F1 two ways:
  - one run: the held-out stories clustered as one window of their own (about 100 stories);
  - five runs: the held-out stories in five time-ordered batches (each event breaks at a
    random moment and its stories follow close together: `bench.stability.batches_of`), each
    batch an incremental run over the ones before; F1 of the final events, and the share of
    stories whose event id changed after their first assignment.
Both for the text as given (Penn-Treebank tokens) and with tokenization undone.

Per configuration (the two clusterers side by side, the learned same-event similarity of
`bench.events_model` with each clusterer and without local scaling, then the current settings
with each hand-set mechanism removed) it prints the mean over all held-out windows (folds x repeats),
their standard deviation, the range of the per-repeat means, and the mean difference against
the first configuration printed (paired by window) with its standard deviation.

`--checks` adds what held-out topics cannot show, on the whole dev set at the settings as
they are: the events a first run stores (copies folded), with 20 stories syndicated 30 times
and with an outlet's footer on 30% of them (neither should change anything), damaged copies
clustered as stories of their own, and stage times.

Embeddings are cached under /tmp (STORYFLOW_BENCH_CACHE), keyed by model and text.
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
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from bench import dev_set, events_model
from bench.near_duplicates import OUTLET_FOOTER
from bench.scoring import bcubed, scores
from bench.stability import batches_of
from pipeline.config import EventConfig, Settings
from pipeline.dedup import find_duplicates
from pipeline.events import assign as events
from pipeline.events import cluster, embed, lexical, similarity
from pipeline.events.storylines import assign_storylines
from pipeline.ingest.normalize import normalize_text
from pipeline.records import Article
from pipeline.run import cluster_events
from pipeline.store.state import StoredState
from tests.support import synth

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
def patched(changes: tuple):
    """Module attributes (module, name, value) set for the duration."""
    saved = [(module, name, getattr(module, name)) for module, name, _ in changes]
    for module, name, value in changes:
        setattr(module, name, value)
    try:
        yield
    finally:
        for module, name, value in saved:
            setattr(module, name, value)


class CurrentPipeline:
    """The blended-distance pipeline (`pipeline.events`) with some event settings changed (and
    some module constants: `patches`); the cut (`events.distance`) is chosen on the training
    windows, every other setting stays as given."""

    def __init__(self, changes: dict | None = None, patches: tuple = ()):
        self.changes = changes or {}
        self.patches = patches

    def fit(self, training: list[Window]):
        base = Settings().events.model_copy(update=self.changes)
        with patched(self.patches):
            mean_f1 = {}
            for cut in CUTS:
                settings = base.model_copy(update={"distance": float(cut)})
                mean_f1[cut] = np.mean([f1(w.gold, events.window_labels(w.articles, w.vectors, settings))
                                        for w in training])
        best = max(CUTS, key=lambda c: (mean_f1[c], -abs(c - base.distance)))
        return FittedPipeline(base.model_copy(update={"distance": float(best)}), self.patches)


@dataclass
class FittedPipeline:
    settings: EventConfig
    patches: tuple

    def describe(self) -> str:
        return f"cut {self.settings.distance:.3f}"

    def labels(self, window: Window) -> np.ndarray:
        with patched(self.patches):
            return events.window_labels(window.articles, window.vectors, self.settings)

    def update(self, stories, vectors, previous, known) -> cluster.Assignment:
        with patched(self.patches):
            return events.update_events(stories, vectors, previous, known, self.settings)


class LearnedModel:
    """The learned same-event similarity (`bench.events_model`) fitted on the training windows by
    `bench.events_model.fit` (its local scaling and cut chosen by leaving each training window
    out in turn), clustered by `clusterer`. Incremental runs are `update_events` with every
    window clustered from scratch on the learned distance."""

    def __init__(self, clusterer: str = "average", **fit_options):
        self.clusterer = clusterer
        self.fit_options = fit_options

    def fit(self, training: list[Window]):
        config = Settings().events.model_copy(update={"clusterer": self.clusterer})
        fitted = events_model.fit([window_terms(w, config) for w in training], [w.gold for w in training],
                                  **self.fit_options)
        return FittedModel(config, fitted)


_TERMS: dict[int, tuple] = {}


def window_terms(window: Window, config: EventConfig) -> "events_model.WindowTerms":
    """The window's pair-feature terms, computed once per window (the window is kept alive with them)."""
    if id(window) not in _TERMS:
        _TERMS[id(window)] = (window, events_model.window_terms(window.articles, window.vectors,
                                                                config.common_line_share))
    return _TERMS[id(window)][1]


@dataclass
class FittedModel:
    settings: EventConfig
    model: "events_model.SameEventModel"

    def describe(self) -> str:
        return f"cut {self.model.cuts[self.settings.clusterer]:.3f} scaling {self.model.scaling:.2f}"

    def labels(self, window: Window) -> np.ndarray:
        distance, cut = events_model.window_distance(window.articles, window.vectors, self.settings, self.model,
                                                     window_terms(window, self.settings))
        return cluster.cluster_labels(distance, cut, self.settings.clusterer)

    def window_labels(self, stories, vectors, config, placed=None) -> np.ndarray:
        return cluster.cluster_labels(*events_model.window_distance(stories, vectors, config, self.model),
                                      config.clusterer)

    def update(self, stories, vectors, previous, known) -> cluster.Assignment:
        with patched(((events, "window_labels", self.window_labels),)):
            return events.update_events(stories, vectors, previous, known, self.settings)


NO_WINDOW_FLOOR = ((lexical, "MIN_WINDOW_ROWS", 0),)
NO_SPARSENESS = ((similarity, "window_sparseness", lambda *args: 0.0),)  # every window dense

CONFIGS = {
    "average": lambda: CurrentPipeline({"clusterer": "average"}),
    "hdbscan": lambda: CurrentPipeline({"clusterer": "hdbscan"}),
    "learned": lambda: LearnedModel("average"),
    "learned hdbscan": lambda: LearnedModel("hdbscan"),
    "learned, no local scaling": lambda: LearnedModel("average", scalings=(0.0,)),
    "no local scaling": lambda: CurrentPipeline({"scaling_weight": 0.0}),
    "no window floor": lambda: CurrentPipeline(patches=NO_WINDOW_FLOOR),
    "no sparse cut": lambda: CurrentPipeline({"sparse_distance": 2.0}),  # never tighter than the full cut
    "no sparseness at all": lambda: CurrentPipeline(patches=NO_SPARSENESS),
    "no word pairs": lambda: CurrentPipeline({"word_pairs": False}),
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


def embed_dev(articles, settings: Settings) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    vectors = embed.embed(articles, settings.embedding)
    return vectors, time.perf_counter() - t0


def cluster_dev(rows: list[dict], articles, vectors: np.ndarray, settings: Settings) -> tuple[dict, dict, dict]:
    timings = {}
    t0 = time.perf_counter()
    distance, cut = events.window_distance(articles, vectors, settings.events)
    timings["distance"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    labels = cluster.cluster_labels(distance, cut, settings.events.clusterer)
    timings["cluster"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    event_of = {a.article_id: f"e{label}" for a, label in zip(articles, labels)}
    storyline_of = assign_storylines(event_of, dict(zip((a.article_id for a in articles), vectors)),
                                     {e: None for e in event_of.values()}, {}, set(), settings.storylines)
    timings["storylines"] = time.perf_counter() - t0
    event_scores = scores([r["event"] for r in rows], [event_of[a.article_id] for a in articles])
    storyline_scores = scores([r["topic"] for r in rows], [storyline_of[event_of[a.article_id]] for a in articles])
    event_scores["n_clusters"] = len(set(labels))
    storyline_scores["n_clusters"] = len(set(storyline_of.values()))
    return event_scores, storyline_scores, timings


def as_a_run_stores_them(rows: list[dict], articles, vectors: np.ndarray, settings: Settings,
                         extra: list = ()) -> tuple[dict, int, int]:
    """Scores of the events a first run would store: stories with no text rejected (the corpus
    has one), near-duplicates folded by the real stage, canonical stories clustered and each
    copy given its canonical's event (`pipeline.run.cluster_events`); every stored dev story is scored.
    `extra` stories (not scored) arrive in the same run; those the run does not fold are
    embedded as stories of their own. Returns the scores, the number rejected and the number
    of copies."""
    kept = [i for i, a in enumerate(articles) if a.text.strip()]
    stored = [articles[i] for i in kept] + list(extra)
    dups = find_duplicates(stored, settings.dedup)
    by_id = {articles[i].article_id: vectors[i] for i in kept}
    unfolded = [a for a in extra if dups.group_of[a.article_id] == a.article_id]
    if unfolded:
        by_id |= dict(zip((a.article_id for a in unfolded), embed_dev(unfolded, settings)[0]))
    result = cluster_events(stored, dups, by_id, StoredState.empty(), settings)
    copies = sum(dups.group_of[a.article_id] != a.article_id for a in stored)
    return (scores([rows[i]["event"] for i in kept], [result.event_of[articles[i].article_id] for i in kept]),
            len(articles) - len(kept), copies)


def republished(rows: list[dict], articles, vectors: np.ndarray, settings: Settings, n_stories: int = 20,
                n_copies: int = 30, seed: int = 0) -> tuple[dict, float]:
    """Scores of the dev stories as a first run stores them when `n_stories` of them arrive
    republished `n_copies` times each (lightly trimmed or re-wrapped, as syndication does).
    Only the dev stories are scored, so the figure compares with `as_a_run_stores_them`.
    Returns the scores and the share of the copies folded with their original (a copy chosen
    as its group's canonical counts, its original folded under it)."""
    rng = random.Random(seed)
    kept = [i for i, a in enumerate(articles) if a.text.strip()]
    copies = []
    for i in rng.sample(kept, n_stories):
        for n in range(n_copies):
            text = synth.damage(articles[i].text, rng.choice(["trim", "rewrap"]), "light", rng,
                                articles[rng.choice(kept)].text)
            copies.append(replace(articles[i], article_id=f"{articles[i].article_id}-copy{n}", text=text,
                                  original_text=text))
    result, _, n_folded = as_a_run_stores_them(rows, articles, vectors, settings, copies)
    dev_copies = as_a_run_stores_them(rows, articles, vectors, settings)[2]
    return result, (n_folded - dev_copies) / len(copies)


def with_footer(rows: list[dict], articles, vectors: np.ndarray, settings: Settings, share: float = 0.3,
                seed: int = 0) -> dict:
    """Scores of the dev stories as a first run stores them when `share` of them carry one
    outlet's footer (`bench.near_duplicates.OUTLET_FOOTER`, which no boilerplate pattern knows):
    it should change nothing, neither in the duplicate groups nor in the events. The stories
    keep the embeddings they have without it (a short story's would take in some footer)."""
    rng = random.Random(seed)
    footed = [replace(a, text=normalize_text(f"{a.text}\n{OUTLET_FOOTER}")) if rng.random() < share else a
              for a in articles]
    return as_a_run_stores_them(rows, footed, vectors, settings)[0]


def copies_with_their_original(articles, vectors: np.ndarray, settings: Settings, n_copies: int = 120,
                               seed: int = 5) -> tuple[float, dict[tuple[str, str], float]]:
    """Share of damaged copies clustered into their original's event, overall and by (kind, strength)."""
    rng = random.Random(seed)
    grid = [(kind, strength) for strength in synth.STRENGTHS for kind in synth.KINDS]
    originals = rng.sample(range(len(articles)), n_copies)
    copies, made_as = [], []
    for n, i in enumerate(originals):
        kind, strength = grid[n % len(grid)]
        donor = articles[rng.randrange(len(articles))].text
        text = synth.damage(articles[i].text, kind, synth.STRENGTHS[strength], rng, donor)
        copies.append(replace(articles[i], article_id=f"copy{n}", text=text))
        made_as.append((kind, strength))
    copy_vectors, _ = embed_dev(copies, settings)
    window = articles + copies
    labels = events.window_labels(window, np.vstack([vectors, copy_vectors]), settings.events)
    together: dict[tuple[str, str], list[bool]] = {}
    for n, i in enumerate(originals):
        together.setdefault(made_as[n], []).append(bool(labels[len(articles) + n] == labels[i]))
    overall = float(np.mean([x for found in together.values() for x in found]))
    return overall, {k: float(np.mean(found)) for k, found in together.items()}


def checks(rows: list[dict], settings: Settings, runs: int = 3) -> None:
    """What held-out topics cannot show, on the whole dev set at the settings as they are."""
    print("\n== whole dev set at the settings as they are (not held out)")
    embed.load_model(settings.embedding.model)  # loading is not a stage of a run
    for detokenize in (False, True):
        t0 = time.perf_counter()
        articles = dev_set.articles(rows, detokenize)
        normalize_s = time.perf_counter() - t0
        vectors, embed_s = embed_dev(articles, settings)
        results = [cluster_dev(rows, articles, vectors, settings) for _ in range(runs)]
        ev, sl, _ = results[0]
        print(f"  {'tokenization undone' if detokenize else 'text as given'}")
        for name, s in (("events", ev), ("storylines vs topic", sl)):
            print(f"    {name:20s} B3 P/R/F1 {s['bcubed_p']:.3f}/{s['bcubed_r']:.3f}/{s['bcubed_f1']:.3f}   "
                  f"ARI {s['ari']:.3f}   clusters {s['n_clusters']}")
        stored, n_rejected, n_copies = as_a_run_stores_them(rows, articles, vectors, settings)
        print(f"    {'events, as a run':20s} B3 F1 {stored['bcubed_f1']:.3f}   ({n_rejected} story without text "
              f"rejected, {n_copies} copies folded under their canonical)")
        syndicated, folded = republished(rows, articles, vectors, settings)
        print(f"    {'as a run, syndicated':20s} B3 F1 {syndicated['bcubed_f1']:.3f}   (20 dev stories republished "
              f"30 times each, {folded:.0%} of the copies folded; the dev stories scored)")
        footed = with_footer(rows, articles, vectors, settings)
        print(f"    {'as a run, footer':20s} B3 F1 {footed['bcubed_f1']:.3f}   (one outlet's footer on 30% of them)")
        stages = results[0][2].keys()
        print(f"    stage times (s): normalize {normalize_s:.3f}  embed {embed_s:.2f} "
              f"({len(articles) / embed_s:.1f} stories/s)  " + "  ".join(
                  f"{k} {statistics.median(r[2][k] for r in results):.3f}" for k in stages) + f"  (medians of {runs})")
    overall, by_damage = copies_with_their_original(articles, vectors, settings)
    print(f"  damaged copies clustered as stories of their own (tokenization undone): {overall:.1%} land in their "
          "original's event; " + "  ".join(f"{k}/{s}:{share:.0%}" for (k, s), share in sorted(by_damage.items())))


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
    parser.add_argument("--checks", action="store_true", help="also the whole-set checks (syndication, footer, ...)")
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
    if args.checks:
        checks(rows, settings)


if __name__ == "__main__":
    main()
