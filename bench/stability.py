"""Event id stability: the dev set fed in ten batches versus in one.

    .venv/bin/python -m bench.stability [--batches 10]

The dev set has no publication dates, so arrival order is a seeded shuffle and each batch
is "ingested" one day after the previous one (published_at stays unknown, as in the corpus,
so time adds no distance; all batches fall in one incremental window). Each batch is an
incremental run over the stored state, exactly as the ingest flow does it (near-duplicate
folding left out: every story is canonical). Prints the share of stories whose event id
changed after their first assignment (a merge counts as a change), and B-cubed F1 against
the gold events for the batched and the one-shot run.
"""
from __future__ import annotations

import argparse
import random
import time
from dataclasses import replace
from datetime import timedelta

import numpy as np

from bench import dev_set
from bench.scoring import scores
from pipeline import embed, job, store
from pipeline.config import Settings
from pipeline.near_duplicates import DuplicateResult


def run_batches(batches: list[list], vectors: dict, settings: Settings):
    """Feed batches as successive runs; return the final state, the first event of each story,
    the number of merges, and the median seconds per run."""
    state = job.StoredState([], {}, *(store.SCHEMAS[name].empty_table() for name in (
        "runs", "rejects", "events", "article_versions", "inbox_log")))
    first: dict[str, str] = {}
    n_merged, seconds = 0, []
    for batch in batches:
        t0 = time.perf_counter()
        articles = state.articles + batch
        dups = DuplicateResult([], {a.article_id: a.article_id for a in articles}, "only copy")
        result = job.assign_events(articles, dups, vectors, state, settings)
        rows = job.event_rows(articles, dups, vectors, result, state.events)
        seconds.append(time.perf_counter() - t0)
        n_merged += len(result.merged_into)
        for a in batch:
            first[a.article_id] = result.event_of[a.article_id]
        state = replace(state, articles=articles, event_of=result.event_of, events=store.to_table("events", rows))
    return state, first, n_merged, float(np.median(seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    settings = Settings()
    rows = dev_set.load()
    articles = dev_set.articles(rows, detokenize=True)
    gold = {a.article_id: r["event"] for a, r in zip(articles, rows)}
    matrix = embed.embed(articles, settings.embedding_model, settings.embedding_batch_size,
                         settings.embedding_max_words, settings.embedding_max_seq_length)
    vectors = dict(zip((a.article_id for a in articles), matrix))

    order = articles[:]
    random.Random(args.seed).shuffle(order)
    size = -(-len(order) // args.batches)
    batches = [[replace(a, ingested_at=dev_set.INGESTED + timedelta(days=i)) for a in order[i * size:(i + 1) * size]]
               for i in range(args.batches)]
    state, first, n_merged, per_run = run_batches(batches, vectors, settings)
    final = state.event_of
    one_shot = run_batches([[a for b in batches for a in b]], vectors, settings)[0].event_of
    # what the re-cluster flow does afterwards: rebuild the whole range onto the same ids
    everything = DuplicateResult([], {a.article_id: a.article_id for a in state.articles}, "only copy")
    rebuilt = job.assign_events(state.articles, everything, vectors, state, settings, rebuild=(None, None)).event_of

    ids = [a.article_id for a in articles]
    changed = sum(final[i] != first[i] for i in ids)
    batched = scores([gold[i] for i in ids], [final[i] for i in ids])
    single = scores([gold[i] for i in ids], [one_shot[i] for i in ids])
    agreement = scores([one_shot[i] for i in ids], [final[i] for i in ids])["bcubed_f1"]
    print(f"{len(ids)} stories in {args.batches} batches of up to {size} (shuffle seed {args.seed})")
    print(f"stories whose event id changed after first assignment: {changed} ({changed / len(ids):.2%}); "
          f"events merged: {n_merged}")
    for name, s in (("batched", batched), ("one batch", single)):
        print(f"B-cubed vs gold, {name:9s}: P {s['bcubed_p']:.3f}  R {s['bcubed_r']:.3f}  F1 {s['bcubed_f1']:.3f}")
    print(f"B-cubed F1 difference, batched - one batch: {batched['bcubed_f1'] - single['bcubed_f1']:+.3f}")
    print(f"B-cubed F1 of batched vs one-batch events: {agreement:.3f}")
    rebuilt_f1 = scores([gold[i] for i in ids], [rebuilt[i] for i in ids])["bcubed_f1"]
    moved = sum(rebuilt[i] != final[i] for i in ids)
    print(f"after one re-cluster of the whole range: B-cubed F1 {rebuilt_f1:.3f}; "
          f"{moved} stories ({moved / len(ids):.2%}) moved to another event id")
    print(f"median seconds per incremental run (clustering + labels): {per_run:.3f}")


if __name__ == "__main__":
    main()
