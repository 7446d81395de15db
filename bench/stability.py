"""Event id stability: the dev set fed in ten batches versus in one.

    .venv/bin/python -m bench.stability [--batches 10] [--seeds 7 8 ...] [--dated DAYS | --shuffle | --file-order]
                                         [--warm] [--rebuild-every K] [--fold-copies] [--topic-halves] [--baseline]

The dev set has no publication dates, so arrival order is made up: time-ordered as news
comes (the default, also spelled `--bursts`: each event breaks at a random moment and its
stories follow close together), or with `--shuffle` a seeded shuffle (every event trickles
in across all the batches, no time order at all), and each batch
is "ingested" one day after the previous one (published_at stays unknown, as in the corpus,
so time adds no distance; all batches fall in one incremental window). Each batch is an
incremental run over the stored state, exactly as the ingest flow does it (near-duplicate
folding left out, every story canonical, unless `--fold-copies`: then the story without
text is left out and each run folds copies first, as runs store them). Prints the share of stories whose event id
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
import time
from dataclasses import replace
from datetime import timedelta

import numpy as np

from bench import dev_set
from bench.scoring import scores
from pipeline import embed, job, near_duplicates, store
from pipeline.config import Settings
from pipeline.near_duplicates import DuplicateResult


def run_batches(batches: list[list], vectors: dict, settings: Settings, rebuild_every: int = 0,
                fold_copies: bool = False):
    """Feed batches as successive runs, with a re-cluster of everything stored after every
    `rebuild_every`-th run (0: never); return the final state, the first event of each story,
    the number of merges, and the median seconds per incremental run. With `fold_copies` each
    run first folds its stories' near-duplicates as the ingest flow does (copies take their
    canonical's event); otherwise every story is canonical."""
    state = job.StoredState.empty()
    params = near_duplicates.DuplicateParams.from_settings(settings)
    first: dict[str, str] = {}
    n_merged, seconds = 0, []
    for n_run, batch in enumerate(batches, 1):
        t0 = time.perf_counter()
        articles = state.articles + batch
        if fold_copies:
            dups = near_duplicates.update_duplicates(batch, state.articles, state.group_of, state.duplicate_edges,
                                                     state.minhash_index, params)
        else:
            dups = DuplicateResult([], {a.article_id: a.article_id for a in articles}, "only copy")
        result = job.assign_events(articles, dups, vectors, state, settings)
        rows = job.event_rows(articles, dups, vectors, result, state.events)
        seconds.append(time.perf_counter() - t0)
        n_merged += len(result.merged_into)
        for a in batch:
            first[a.article_id] = result.event_of[a.article_id]
        state = replace(state, articles=articles, event_of=result.event_of, events=store.to_table("events", rows),
                        group_of=dups.group_of, duplicate_edges=dups.edges, minhash_index=dups.index)
        if rebuild_every and n_run % rebuild_every == 0:
            result = job.assign_events(articles, dups, vectors, state, settings, rebuild=(None, None))
            rows = job.event_rows(articles, dups, vectors, result, state.events)
            n_merged += len(result.merged_into)
            state = replace(state, event_of=result.event_of, events=store.to_table("events", rows))
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


def measure(articles: list, gold: dict, vectors: dict, settings: Settings, n_batches: int, seed: int,
            history: list = (), rebuild_every: int = 0, bursts: bool = False, dated_days: float = 0.0,
            fold_copies: bool = False) -> dict:
    """Scores of `articles` fed in batches versus in one; `history` (not scored) is stored first, in one earlier run."""
    batches = batches_of(articles, n_batches, seed, gold if bursts else None, dated_days=dated_days)
    if history and dated_days:
        # dated history: its own bursts over the DAYS before the stream, stored in one run
        back = timedelta(days=dated_days)
        earlier = [[replace(a, published_at=a.published_at - back, ingested_at=a.ingested_at - back)
                    for a in batches_of(history, 1, seed + 1000, gold, dated_days=dated_days)[0]]]
    else:
        earlier = [[replace(a, ingested_at=dev_set.INGESTED - timedelta(days=5)) for a in history]] if history else []
    state, first, n_merged, per_run = run_batches(earlier + batches, vectors, settings, rebuild_every, fold_copies)
    final = state.event_of
    one_shot = run_batches(earlier + [[a for b in batches for a in b]], vectors, settings,
                           fold_copies=fold_copies)[0].event_of
    # what the re-cluster flow does afterwards: rebuild the whole range onto the same ids
    everything = (job.stored_duplicates(state) if fold_copies
                  else DuplicateResult([], {a.article_id: a.article_id for a in state.articles}, "only copy"))
    rebuilt = job.assign_events(state.articles, everything, vectors, state, settings, rebuild=(None, None)).event_of
    ids = [a.article_id for a in articles]
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
    parser.add_argument("--fold-copies", action="store_true",
                        help="as runs store the stories: the story without text rejected, and each run folds "
                             "near-duplicates first (copies take their canonical's event)")
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
    if args.fold_copies:  # a run rejects a story without text
        rows, articles = map(list, zip(*[(r, a) for r, a in zip(rows, articles) if a.text.strip()]))
    matrix = embed.embed(articles, settings.embedding_model, settings.embedding_batch_size,
                         settings.embedding_max_words, settings.embedding_max_seq_length)
    vectors = dict(zip((a.article_id for a in articles), matrix))
    print(f"{len(articles)} stories in {args.batches} batches per arrival order "
          f"({'events in bursts' if args.bursts else 'file order' if args.file_order else 'plain shuffle'}"
          f"{f', published over {args.dated:g} days' if args.dated else ''}); seeds {seeds}")
    configs = {"as configured": settings}
    if args.baseline:
        configs["baseline: previous defaults (no local scaling, storyline_distance 0.55)"] = settings.model_copy(
            update=dev_set.PREVIOUS_EVENT_DEFAULTS)
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
                bursts=args.bursts, dated_days=args.dated, fold_copies=args.fold_copies) for seed in seeds})
            continue
        report(f"{name}, warm store", {
            f"seed {seed:3d}, topics of half {1 - stored} arriving": measure(
                [a for a in articles if half_of[a.article_id] != stored], gold, vectors, config, args.batches, seed,
                history=[a for a in articles if half_of[a.article_id] == stored], rebuild_every=args.rebuild_every,
                bursts=args.bursts, dated_days=args.dated, fold_copies=args.fold_copies)
            for seed in args.seeds for stored in (0, 1)})


if __name__ == "__main__":
    main()
