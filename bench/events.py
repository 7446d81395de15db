"""Event clustering accuracy on the ECB+ dev set, with the time of each stage.

    .venv/bin/python -m bench.events [--runs 3]

For the text as given (Penn-Treebank tokens) and with tokenization undone, prints B-cubed
and pairwise precision/recall/F1 and ARI of the events against the gold `event` labels,
and of the storylines against the gold `topic`. Every story is clustered with its own
embedding (the near-duplicate stage is left out), and again as a first run would store
them: the story without text rejected, copies folded, canonical stories clustered and each
copy given its canonical's event; and once more with 20 of the stories republished 30 times
each (syndication), and with one outlet's footer on 30% of them: neither should change anything.
The dev set has no dates, so lexical evidence and embeddings do all the work.

To show whether the tuned `event_distance` is a knife-edge it also prints B-cubed F1 over a
range of thresholds, and a held-out check: the topics are split in two halves, the threshold
is chosen on one half (each half clustered as its own window) and scored on the other. And,
as a guide to stories it has not seen, the spread of F1 over random subsets of the topics
(half and 85% of them, each clustered as its own window) at `event_distance` and around it.

Last, damaged copies that near-duplicate detection might miss (`tests.support.synth`: every
damage kind at every strength) are clustered with the stories as canonical stories of
their own: the share that lands in its original's event, by kind and strength.
"""
from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
from dataclasses import replace

import numpy as np

from bench import dev_set
from bench.near_duplicates import OUTLET_FOOTER
from bench.scoring import scores
from pipeline.config import Settings
from pipeline.dedup import find_duplicates
from pipeline.events import assign as events
from pipeline.events import cluster, embed
from pipeline.events.storylines import assign_storylines
from pipeline.ingest.normalize import normalize_text
from pipeline.run import cluster_events
from pipeline.store.state import StoredState
from tests.support import synth


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
    labels = cluster.cluster_labels(distance, cut)
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


THRESHOLDS = np.round(np.arange(0.6, 0.801, 0.025), 3)


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


def f1_by_threshold(distance: np.ndarray, gold: list[str], thresholds=THRESHOLDS) -> dict[float, float]:
    """B-cubed F1 of the events cut at each threshold from one distance matrix."""
    return {float(t): scores(gold, list(cluster.cluster_labels(distance, t)))["bcubed_f1"] for t in thresholds}


def held_out(rows: list[dict], articles, vectors: np.ndarray, settings: Settings) -> list[str]:
    """Tune the threshold on half the topics, score it on the other half; both ways round."""
    topics = sorted({r["topic"] for r in rows})
    halves = [[i for i, r in enumerate(rows) if topics.index(r["topic"]) % 2 == k] for k in (0, 1)]
    curves, at_default = [], []
    for members in halves:
        distance, cut = events.window_distance([articles[i] for i in members], vectors[members], settings.events)
        gold = [rows[i]["event"] for i in members]
        curves.append(f1_by_threshold(distance, gold))
        at_default.append(f"{cut:.3f}: {f1_by_threshold(distance, gold, [cut])[cut]:.3f}")
    lines = []
    for tune, test in ((0, 1), (1, 0)):
        chosen = max(curves[tune], key=curves[tune].get)
        lines.append(f"tuned on half {tune} (best {chosen:.3f}: F1 {curves[tune][chosen]:.3f}) -> half {test} F1 "
                     f"{curves[test][chosen]:.3f} (its own best {max(curves[test].values()):.3f}, "
                     f"at the settings' cut for this window {at_default[test]})")
    return lines


def topic_subsets(rows: list[dict], articles, vectors: np.ndarray, settings: Settings, share: float,
                  draws: int = 30, offsets=(-0.01, -0.005, 0.0, 0.005, 0.01), seed: int = 1) -> str:
    """B-cubed F1 (mean / 10th percentile / worst) over `draws` random subsets of `share` of the
    topics, each clustered as its own window, at `event_distance` moved by each of `offsets`
    (stories without text left out, as a run rejects them).

    The whole set is what the settings were tuned on; a subset is a different window (other
    term weights, reaches, density), so the spread shows how far F1 may move on other stories,
    and the offsets whether the tuned cut sits next to a cliff."""
    topics = sorted({r["topic"] for r in rows})
    rng = random.Random(seed)
    subsets = [set(rng.sample(topics, max(2, round(share * len(topics))))) for _ in range(draws)]
    cells = []
    for offset in offsets:
        moved = settings.with_overrides({"events": {"distance": settings.events.distance + offset}})
        f1 = []
        for subset in subsets:
            members = [i for i, r in enumerate(rows) if r["topic"] in subset and articles[i].text.strip()]
            labels = events.window_labels([articles[i] for i in members], vectors[members], moved.events)
            f1.append(scores([rows[i]["event"] for i in members], list(labels))["bcubed_f1"])
        cells.append(f"{moved.events.distance:.3f}: {np.mean(f1):.3f}/{np.quantile(f1, 0.1):.3f}/{min(f1):.3f}")
    return (f"{share:.0%} of the topics ({draws} draws), event_distance: mean/p10/worst F1  " + "  ".join(cells))


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
    labels = cluster.cluster_labels(*events.window_distance(window, np.vstack([vectors, copy_vectors]), settings.events))
    together: dict[tuple[str, str], list[bool]] = {}
    for n, i in enumerate(originals):
        together.setdefault(made_as[n], []).append(bool(labels[len(articles) + n] == labels[i]))
    overall = float(np.mean([x for found in together.values() for x in found]))
    return overall, {k: float(np.mean(found)) for k, found in together.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="timing runs; medians are printed")
    args = parser.parse_args()
    settings = Settings()
    rows = dev_set.load()
    print(f"{len(rows)} stories, {len({r['event'] for r in rows})} events, {len({r['topic'] for r in rows})} topics")
    embed.load_model(settings.embedding.model)  # loading is not a stage of a run
    for detokenize in (False, True):
        t0 = time.perf_counter()
        articles = dev_set.articles(rows, detokenize)
        normalize_s = time.perf_counter() - t0
        vectors, embed_s = embed_dev(articles, settings)
        results = [cluster_dev(rows, articles, vectors, settings) for _ in range(args.runs)]
        ev, sl, _ = results[0]
        label = "tokenization undone" if detokenize else "text as given"
        print(f"\n== {label}")
        for name, s in (("events", ev), ("storylines vs topic", sl)):
            print(f"  {name:20s} B3 P/R/F1 {s['bcubed_p']:.3f}/{s['bcubed_r']:.3f}/{s['bcubed_f1']:.3f}   "
                  f"pairwise P/R/F1 {s['pair_p']:.3f}/{s['pair_r']:.3f}/{s['pair_f1']:.3f}   "
                  f"ARI {s['ari']:.3f}   clusters {s['n_clusters']}")
        stored, n_rejected, n_copies = as_a_run_stores_them(rows, articles, vectors, settings)
        print(f"  {'events, as a run':20s} B3 P/R/F1 {stored['bcubed_p']:.3f}/{stored['bcubed_r']:.3f}/"
              f"{stored['bcubed_f1']:.3f}   ARI {stored['ari']:.3f}   ({n_rejected} story without text rejected, "
              f"{n_copies} copies folded under their canonical)")
        syndicated, folded = republished(rows, articles, vectors, settings)
        print(f"  {'as a run, syndicated':20s} B3 P/R/F1 {syndicated['bcubed_p']:.3f}/{syndicated['bcubed_r']:.3f}/"
              f"{syndicated['bcubed_f1']:.3f}   (20 dev stories republished 30 times each, {folded:.0%} of the "
              "copies folded; the dev stories scored)")
        footed = with_footer(rows, articles, vectors, settings)
        print(f"  {'as a run, footer':20s} B3 P/R/F1 {footed['bcubed_p']:.3f}/{footed['bcubed_r']:.3f}/"
              f"{footed['bcubed_f1']:.3f}   (one outlet's footer on 30% of the stories)")
        previous = cluster_dev(rows, articles, vectors, settings.with_overrides(dev_set.PREVIOUS_EVENT_DEFAULTS))[0]
        print(f"  {'events, previous':20s} B3 P/R/F1 {previous['bcubed_p']:.3f}/{previous['bcubed_r']:.3f}/"
              f"{previous['bcubed_f1']:.3f}   ARI {previous['ari']:.3f}   (same run; defaults {dev_set.PREVIOUS_EVENT_DEFAULTS})")
        stages = results[0][2].keys()
        distance, _ = events.window_distance(articles, vectors, settings.events)
        curve = f1_by_threshold(distance, [r["event"] for r in rows])
        print("  events B3 F1 by cut (event_distance, plus event_scaled_margin when scaled): "
              + "  ".join(f"{t:.3f}:{f:.3f}" for t, f in curve.items()))
        for line in held_out(rows, articles, vectors, settings):
            print(f"  held-out topics: {line}")
        for share in (0.1, 0.5, 0.85):
            print(f"  random subsets, {topic_subsets(rows, articles, vectors, settings, share)}")
        print(f"  stage times (s): normalize {normalize_s:.3f}  embed {embed_s:.2f} "
              f"({len(articles) / embed_s:.1f} stories/s)  " + "  ".join(
                  f"{k} {statistics.median(r[2][k] for r in results):.3f}" for k in stages) + f"  (medians of {args.runs})")
    overall, by_damage = copies_with_their_original(articles, vectors, settings)
    print(f"\ndamaged copies clustered as stories of their own (tokenization undone): {overall:.1%} land in their "
          "original's event; " + "  ".join(f"{k}/{s}:{share:.0%}" for (k, s), share in sorted(by_damage.items())))
    previous, _ = copies_with_their_original(articles, vectors, settings.with_overrides(dev_set.PREVIOUS_EVENT_DEFAULTS))
    print(f"  with the previous defaults: {previous:.1%}")
    print(f"\npeak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
