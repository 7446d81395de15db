"""Distance helpers: the text lexical evidence is read from, the time penalty storylines add
for events far apart, and local scaling, which evens out how close the reports of one event look
depending on their length and topic. How alike two stories are is learned (`model`).
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import numpy as np

from pipeline.records import Article


def story_document(article: Article) -> str:
    """The text lexical evidence is read from: headline and the whole body."""
    return f"{article.title}\n{article.text}" if article.title else article.text


# Row blocks of the n x n steps run on this many threads: numpy and scipy's sparse products
# release the GIL, and each block writes its own part of the matrix.
THREADS = min(4, os.cpu_count() or 1)


def blended_distance(
    similarity: np.ndarray,
    times: list[datetime | None],
    time_scale_days: float,
    time_weight: float,
) -> np.ndarray:
    """1 - similarity (computed in place), plus up to `time_weight` for stories published far apart."""
    dist = np.subtract(1.0, similarity, out=similarity if similarity.dtype == np.float32 else None)
    np.clip(dist, 0.0, 2.0, out=dist)
    secs = np.array([t.timestamp() if t else np.nan for t in times], dtype=np.float64)
    if time_weight > 0 and np.isfinite(secs).sum() > 1:
        scaled = ((secs - np.nanmin(secs)) / (86400.0 * time_scale_days)).astype(dist.dtype)
        known = np.isfinite(scaled)  # unknown time: no evidence either way
        scaled[~known] = 0.0
        all_known = bool(known.all())

        def add_penalty(start: int) -> None:
            # penalty per scale of days, capped, in float32 row blocks: no n x n temporary
            rows = slice(start, start + 1024)
            penalty = np.subtract(scaled[rows, None], scaled[None, :])
            np.abs(penalty, out=penalty)
            np.minimum(penalty, 1.0, out=penalty)
            penalty *= time_weight
            if not all_known:
                penalty *= known[rows, None] & known[None, :]
            dist[rows] += penalty

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(add_penalty, range(0, len(dist), 1024)))
    np.fill_diagonal(dist, 0.0)
    return dist


def local_scaling(distance: np.ndarray, neighbours: int, weight: float) -> np.ndarray:
    """Distances rescaled by how far each story's `neighbours`-th nearest other story is (in place).

    A story's reach is that distance against the window's median reach; d(i, j) is multiplied
    by (1 - weight) + weight / sqrt(reach_i * reach_j). Why: how close two reports of one event
    look depends on the stories, not only on the event. One-sentence reports share few words
    with anything, so their distances all run high and an event of such stories falls apart at
    a cut that suits full-length ones; long stories of a busy topic sit close to each other and
    to a same-kind event. Measuring each story against its own neighbourhood (the local scale of
    self-tuning spectral clustering, Zelnik-Manor and Perona 2004) evens that out; the weight is
    chosen with the model (`model.SameEventModel.scaling`).
    """
    if weight <= 0 or len(distance) < 3:
        return distance
    inverse_root = inverse_root_reach(distance, neighbours)
    for start in range(0, len(distance), 1024):
        rows = slice(start, start + 1024)
        distance[rows] *= scale_factors(inverse_root, rows, weight)
    return distance


def inverse_root_reach(distance: np.ndarray, neighbours: int) -> np.ndarray:
    """1 / sqrt of each story's reach (distance to its `neighbours`-th nearest other) against
    the window's median reach, the reach bounded to a quarter and four times the median."""
    n = len(distance)
    k = min(neighbours, n - 1)
    reach = np.empty(n, dtype=np.float64)
    for start in range(0, n, 1024):  # row blocks: no second n x n matrix
        reach[start:start + 1024] = np.partition(distance[start:start + 1024], k, axis=1)[:, k]
    # Bounded: a story whose 5th-nearest is an exact copy (duplicate folding turned off) would
    # otherwise be pushed away from its whole event.
    median = max(float(np.median(reach)), 1e-6)
    relative = np.clip(reach / median, 0.25, 4.0)
    return (1.0 / np.sqrt(relative)).astype(distance.dtype)


def scale_factors(inverse_root: np.ndarray, rows, weight: float) -> np.ndarray:
    """The factors `local_scaling` multiplies rows `rows` of a window's distances by."""
    factor = np.multiply(inverse_root[rows, None], inverse_root[None, :])
    factor *= weight
    factor += 1.0 - weight
    return factor
