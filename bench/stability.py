"""Event id stability: the dev set fed in ten batches versus in one.

    .venv/bin/python -m bench.stability [--batches 10] [--seeds 7 8 ...] [--dated DAYS | --shuffle | --file-order]
                                         [--warm] [--rebuild-every K] [--topic-halves] [--baseline]

The dev set has no publication dates, so arrival order is made up: time-ordered as news
comes (the default, also spelled `--bursts`: each event breaks at a random moment and its
stories follow close together), or with `--shuffle` a seeded shuffle (every event trickles
in across all the batches, no time order at all), and each batch
is "ingested" one day after the previous one (published_at stays unknown, as in the corpus,
so time adds no distance; all batches fall in one incremental window). Each batch is one run
of the run sequence (`pipeline.run.ingest_run`) over the state the previous one left, as the
ingest flow runs it: the story without text rejected, copies folded; only the embedding is
looked up from vectors computed once. Prints the share of stories whose event id
changed after their first assignment (a merge counts as a change), and B-cubed F1 against
the gold events for the batched and the one-shot run.

With `--file-order` the stories arrive in the file's order, one order only (in the dev set,
sorted by id: topic by topic, the two same-kind events of each topic interleaved, so both
events of a topic arrive in the same run or two).

With `--dated DAYS` (time-ordered only) the stories do get publication times instead, along a
stream of DAYS days, and each batch is ingested when its last story is out: time counts.

With `--warm` the store already holds half the topics (stored in one run five days
earlier, inside the incremental window) and the other half arrives in batches: the steady
state of a scheduled stream rather than a cold start. Only the arriving stories are scored.
"""
from __future__ import annotations

import argparse
import random
import statistics
from dataclasses import replace
from datetime import timedelta

import numpy as np

from bench import dev_set
from bench.scoring import scores
from pipeline.config import Settings
from pipeline.events import embed
from pipeline.records import IngestResult, RawStory
from pipeline.run import Stages, ingest_run, recluster_run
from pipeline.store.state import StoredState, state_after


class KnownVectors(Stages):
    """The run sequence's stages, the embedding looked up instead of computed (it is benchmarked apart)."""

    def __init__(self, vectors: dict):
        super().__init__()
        self.vectors = vectors

    def run(self, name, fn, *args, **kwargs):
        if name == "embed":
            return super().run(name, lambda articles, *_: {a.article_id: self.vectors[a.article_id] for a in articles},
                               *args)
        return super().run(name, fn, *args, **kwargs)


def run_batches(batches: list[tuple[list, object]], vectors: dict, settings: Settings, rebuild_every: int = 0):
    """Feed (stories, ingest time) batches as successive runs, with a re-cluster of everything
    stored after every `rebuild_every`-th run (0: never); return the final state, the first event
    of each story, the number of merges, and the median seconds per incremental run."""
    state = StoredState.empty()
    first: dict[str, str] = {}
    n_merged, seconds = 0, []
    for n_run, (batch, now) in enumerate(batches, 1):
        stages = KnownVectors(vectors)
        result = ingest_run(state, IngestResult(batch, [], 1), settings, stages=stages, now=now)
        seconds.append(sum(stages.timings.values()))
        n_merged += result.report.counts["events_merged"]
        new = {r["article_id"]: r["event_id"] for r in result.tables["articles"].to_pylist()}
        for aid in new.keys() - state.event_of.keys() - first.keys():
            first[aid] = new[aid]
        state = state_after(state, result.tables)
        if rebuild_every and n_run % rebuild_every == 0:
            rebuilt = recluster_run(state, None, None, settings, KnownVectors(vectors))
            n_merged += rebuilt.report.counts["events_merged"]
            state = state_after(state, rebuilt.tables)
    return state, first, n_merged, float(np.median(seconds))


def batches_of(articles: list, n_batches: int, seed: int | None, event_of: dict | None = None,
               burst: float = 0.05, dated_days: float = 0.0) -> list[list]:
    """A seeded arrival order cut into batches, each ingested one day after the previous one.

    Without `event_of` the order is a plain shuffle: every event trickles in across all the
    batches. With it, each event breaks at a random moment of the stream and its stories
    arrive within `burst` of the stream's length after that, as news does; the order only
    is drawn from the events, and the stories' times stay unknown to the pipeline unless
    `dated_days` is set: then the stream lasts that many days, each story is published at
    its arrival, and each batch is ingested when its last story is out.
    """
    rng = random.Random(seed)
    order = articles[:]
    if event_of is None:
        if seed is not None:  # None: the order as given
            rng.shuffle(order)
    else:
        start = {e: rng.random() for e in sorted(set(event_of.values()))}
        arrival = {a.article_id: start[event_of[a.article_id]] + burst * rng.random() for a in order}
        order.sort(key=lambda a: arrival[a.article_id])
        if dated_days:
            order = [replace(a, published_at=dev_set.INGESTED + timedelta(days=dated_days * arrival[a.article_id]))
                     for a in order]
    size = -(-len(order) // n_batches)
    batches = [order[i * size:(i + 1) * size] for i in range(n_batches)]
    if dated_days:
        return [[replace(a, ingested_at=max(b.published_at for b in batch)) for a in batch] for batch in batches]
    return [[replace(a, ingested_at=dev_set.INGESTED + timedelta(days=i)) for a in batch] for i, batch in enumerate(batches)]


def as_run(batch: list) -> tuple[list[RawStory], object]:
    """A batch of dev articles as one run reads them: the stories as sent, and when the run ingests."""
    return ([RawStory(a.source_id, a.original_text, a.title, a.source, a.url, a.published_at) for a in batch],
            max(a.ingested_at for a in batch))


def measure(articles: list, gold: dict, vectors: dict, settings: Settings, n_batches: int, seed: int,
            history: list = (), rebuild_every: int = 0, bursts: bool = False, dated_days: float = 0.0) -> dict:
    """Scores of `articles` fed in batches versus in one; `history` (not scored) is stored first, in one earlier run."""
    batches = batches_of(articles, n_batches, seed, gold if bursts else None, dated_days=dated_days)
    if history and dated_days:
        # dated history: its own bursts over the DAYS before the stream, stored in one run
        back = timedelta(days=dated_days)
        earlier = [[replace(a, published_at=a.published_at - back, ingested_at=a.ingested_at - back)
                    for a in batches_of(history, 1, seed + 1000, gold, dated_days=dated_days)[0]]]
    else:
        earlier = [[replace(a, ingested_at=dev_set.INGESTED - timedelta(days=5)) for a in history]] if history else []
    state, first, n_merged, per_run = run_batches([as_run(b) for b in earlier + batches], vectors, settings,
                                                  rebuild_every)
    final = state.event_of
    one_batch = [replace(a, ingested_at=batches[-1][-1].ingested_at) for b in batches for a in b]
    one_shot = run_batches([as_run(b) for b in earlier + [one_batch]], vectors, settings)[0].event_of
    # what the re-cluster flow does afterwards: rebuild the whole range onto the same ids
    rebuilt = state_after(state, recluster_run(state, None, None, settings, KnownVectors(vectors)).tables).event_of
    ids = [a.article_id for a in articles if a.article_id in final]  # a story without text is rejected
    truth = [gold[i] for i in ids]
    return {
        "changed": sum(final[i] != first[i] for i in ids) / len(ids),
        "merged": n_merged,
        "batched": scores(truth, [final[i] for i in ids]),
        "one_batch": scores(truth, [one_shot[i] for i in ids]),
        "agreement": scores([one_shot[i] for i in ids], [final[i] for i in ids])["bcubed_f1"],
        "rebuilt_f1": scores(truth, [rebuilt[i] for i in ids])["bcubed_f1"],
        "moved_by_rebuild": sum(rebuilt[i] != final[i] for i in ids) / len(ids),
        "seconds_per_run": per_run,
    }


def report(name: str, results: dict[str, dict]) -> None:
    print(f"\n== {name}")
    for label, r in results.items():
        b, o = r["batched"], r["one_batch"]
        print(f"  {label}: changed {r['changed']:6.2%} (merges {r['merged']:2d})  batched P/R/F1 "
              f"{b['bcubed_p']:.3f}/{b['bcubed_r']:.3f}/{b['bcubed_f1']:.3f}  one batch F1 {o['bcubed_f1']:.3f}  "
              f"rebuilt F1 {r['rebuilt_f1']:.3f} ({r['moved_by_rebuild']:.1%} moved)")
    med = lambda f: statistics.median(f(r) for r in results.values())  # noqa: E731
    print(f"  median over {len(results)} orders: stories whose event id changed after first assignment "
          f"{med(lambda r: r['changed']):.2%} (worst {max(r['changed'] for r in results.values()):.2%}); "
          f"B-cubed F1 batched {med(lambda r: r['batched']['bcubed_f1']):.3f} vs one batch "
          f"{med(lambda r: r['one_batch']['bcubed_f1']):.3f} (difference "
          f"{med(lambda r: r['batched']['bcubed_f1'] - r['one_batch']['bcubed_f1']):+.3f}, mean "
          f"{statistics.mean(r['batched']['bcubed_f1'] - r['one_batch']['bcubed_f1'] for r in results.values()):+.3f}); "
          f"batched vs one-batch events F1 {med(lambda r: r['agreement']):.3f}; "
          f"after one re-cluster F1 {med(lambda r: r['rebuilt_f1']):.3f}; "
          f"seconds per incremental run {med(lambda r: r['seconds_per_run']):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(7, 17)), help="arrival orders")
    parser.add_argument("--warm", action="store_true",
                        help="a store already holding half the topics (one earlier run); the other half arrives "
                             "in batches and is scored; each half in turn")
    parser.add_argument("--rebuild-every", type=int, default=0, metavar="K",
                        help="re-cluster everything stored after every K-th run, as a scheduled re-cluster would")
    parser.add_argument("--bursts", action="store_true",
                        help="time-ordered: events arrive in bursts (each at a random moment, its stories close "
                             "together); the default, spelled out")
    parser.add_argument("--shuffle", action="store_true",
                        help="every story in a plain seeded shuffle instead of time-ordered bursts")
    parser.add_argument("--file-order", action="store_true",
                        help="the stories in the file's order instead of seeded orders")
    parser.add_argument("--dated", type=float, default=0.0, metavar="DAYS",
                        help="time-ordered only: the stream lasts DAYS days and each story is published at its "
                             "arrival, so publication times count (with --warm, the stored half over the DAYS before)")
    parser.add_argument("--topic-halves", action="store_true",
                        help="each arrival order over a random half of the topics, drawn from its seed: how the "
                             "figures move with the stories (one set of stories has topics at the cliff)")
    parser.add_argument("--baseline", action="store_true",
                        help="also run the previous defaults: no local scaling, storyline_distance 0.55")
    args = parser.parse_args()
    if args.shuffle + args.file_order + args.bursts > 1:
        parser.error("one arrival order: --bursts (the default), --shuffle or --file-order")
    args.bursts = not (args.shuffle or args.file_order)
    if args.dated and not args.bursts:
        parser.error("--dated needs time-ordered bursts")
    if args.file_order and args.warm:
        parser.error("--file-order does not take --warm")
    if args.topic_halves and (args.file_order or args.warm):
        parser.error("--topic-halves takes neither --file-order nor --warm")
    seeds = [None] if args.file_order else args.seeds
    settings = Settings()
    rows = dev_set.load()
    articles = dev_set.articles(rows, detokenize=True)
    gold = {a.article_id: r["event"] for a, r in zip(articles, rows)}
    matrix = embed.embed(articles, settings.embedding)
    vectors = dict(zip((a.article_id for a in articles), matrix))
    print(f"{len(articles)} stories in {args.batches} batches per arrival order "
          f"({'events in bursts' if args.bursts else 'file order' if args.file_order else 'plain shuffle'}"
          f"{f', published over {args.dated:g} days' if args.dated else ''}); seeds {seeds}")
    configs = {"as configured": settings}
    if args.baseline:
        configs["baseline: previous defaults (no local scaling, storyline_distance 0.55)"] = settings.with_overrides(
            dev_set.PREVIOUS_EVENT_DEFAULTS)
    topics = sorted({r["topic"] for r in rows})
    half_of = {a.article_id: topics.index(r["topic"]) % 2 for a, r in zip(articles, rows)}

    def stories_for(seed: int | None) -> list:
        if not args.topic_halves:
            return articles
        drawn = set(random.Random(seed).sample(topics, len(topics) // 2))
        return [a for a, r in zip(articles, rows) if r["topic"] in drawn]

    for name, config in configs.items():
        if not args.warm:
            report(name, {"file order" if seed is None else f"seed {seed:3d}": measure(
                stories_for(seed), gold, vectors, config, args.batches, seed, rebuild_every=args.rebuild_every,
                bursts=args.bursts, dated_days=args.dated) for seed in seeds})
            continue
        report(f"{name}, warm store", {
            f"seed {seed:3d}, topics of half {1 - stored} arriving": measure(
                [a for a in articles if half_of[a.article_id] != stored], gold, vectors, config, args.batches, seed,
                history=[a for a in articles if half_of[a.article_id] == stored], rebuild_every=args.rebuild_every,
                bursts=args.bursts, dated_days=args.dated)
            for seed in args.seeds for stored in (0, 1)})


if __name__ == "__main__":
    main()
