"""Embedding rate and clustering time/memory for a large window.

    .venv/bin/python -m bench.speed [--stories 200] [--window 10000]

Embedding: 400-word stories (dev bodies joined and cut to 400 words), embedded the way the
pipeline does (headline + lead, `embedding_max_seq_length` word pieces) against a plain
`encode` of the full text at the model's own limit. Clustering: a synthetic window built
from the dev set: each story is a dev story with a random 30% of its words dropped, and
its vector is that dev story's embedding plus small noise (embedding 10,000 stories would
take the benchmark ten minutes; the clustering cost does not depend on where vectors come
from). Peak memory is the process's maximum resident set size.
"""
from __future__ import annotations

import argparse
import random
import resource
import statistics
import time
from dataclasses import replace
from datetime import timedelta

import numpy as np

from bench import dev_set
from pipeline.config import Settings
from pipeline.events import assign as events
from pipeline.events import cluster, embed
from pipeline.records import Article


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def long_stories(rows: list[dict], n: int, words: int = 400) -> list[Article]:
    base = dev_set.articles(rows)
    pool = " ".join(a.text for a in base).split()
    out = []
    for i in range(n):
        start = (i * 997) % (len(pool) - words)
        out.append(Article(f"long{i}", f"long{i}", base[i % len(base)].title, " ".join(pool[start:start + words]), "",
                           "", "", None, dev_set.INGESTED, ""))
    return out


def embedding_rates(stories: list[Article], settings: Settings, repeats: int) -> tuple[float, float]:
    model = embed.load_model(settings.embedding.model)
    ours, plain = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        embed.embed(stories, settings.embedding)
        ours.append(len(stories) / (time.perf_counter() - t0))
        model.max_seq_length = 256
        t0 = time.perf_counter()
        model.encode([f"{a.title}. {a.text}" for a in stories], batch_size=32, normalize_embeddings=True)
        plain.append(len(stories) / (time.perf_counter() - t0))
    return statistics.median(ours), statistics.median(plain)


def synthetic_window(rows: list[dict], vectors: np.ndarray, n: int, rng: random.Random):
    base = dev_set.articles(rows)
    arts, vecs = [], []
    noise = np.random.default_rng(rng.randrange(2**32))
    for i in range(n):
        k = rng.randrange(len(base))
        words = [w for w in base[k].text.split() if rng.random() > 0.3]
        arts.append(Article(f"w{i}", f"w{i}", base[k].title, " ".join(words), "", "", "",
                            dev_set.INGESTED + timedelta(hours=rng.randrange(24 * 30)), dev_set.INGESTED, ""))
        v = vectors[k] + noise.normal(0, 0.02, vectors.shape[1])
        vecs.append(v / np.linalg.norm(v))
    return arts, np.asarray(vecs, dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=200, help="400-word stories to embed")
    parser.add_argument("--window", type=int, default=10_000, help="stories in the clustering window")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    settings = Settings()
    rows = dev_set.load()
    stories = long_stories(rows, args.stories)
    embed.embed(stories[:8], settings.embedding)  # load and warm the model
    ours, plain = embedding_rates(stories, settings, args.repeats)
    print(f"embedding 400-word stories (median of {args.repeats}): pipeline {ours:.1f} stories/s "
          f"(lead {settings.embedding.max_words} words, {settings.embedding.max_seq_length} word pieces); "
          f"plain encode of the full text {plain:.1f} stories/s")

    dev_vectors = embed.embed(dev_set.articles(rows), settings.embedding)
    arts, vecs = synthetic_window(rows, dev_vectors, args.window, random.Random(1))
    # the previous defaults (no local scaling) as a same-run baseline, run first so that the
    # peak memory printed after it is the baseline's own; then an incremental run of undated
    # stories with half the window new, unscaled and as configured (`events.new_among_older`)
    undated = [replace(a, published_at=None) for a in arts]
    half_placed = np.arange(len(arts)) < len(arts) // 2
    cases = {"previous defaults": (settings.with_overrides(dev_set.PREVIOUS_EVENT_DEFAULTS), arts, None),
             "as configured": (settings, arts, None),
             "as configured, HDBSCAN": (settings.with_overrides({"events": {"clusterer": "hdbscan"}}), arts, None),
             "undated, half new, unscaled": (settings.with_overrides({"events": {"scaling_weight": 0.0}}),
                                             undated, half_placed),
             "as configured, undated, half new": (settings, undated, half_placed)}
    for repeat in range(args.repeats):
        for name, (config, window, placed) in cases.items():
            before = rss_mib()
            t0 = time.perf_counter()
            distance, cut = events.window_distance(window, vecs, config.events, placed)
            t1 = time.perf_counter()
            labels = cluster.cluster_labels(distance, cut, config.events.clusterer)
            t2 = time.perf_counter()
            del distance
            print(f"clustering a {args.window}-story window ({name}, run {repeat + 1}): similarity+distance "
                  f"{t1 - t0:.1f} s, linkage {t2 - t1:.1f} s, total {t2 - t0:.1f} s; {len(set(labels))} events; "
                  f"peak RSS {rss_mib():.0f} MiB (+{rss_mib() - before:.0f} MiB)")


if __name__ == "__main__":
    main()
