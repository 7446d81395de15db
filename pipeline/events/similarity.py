"""Similarity: how close two stories are as reports of one event, as an n x n distance matrix.

Similarity blends the cosine of the stories' embeddings (what kind of thing happened) with the
cosines of their lexical evidence (who, where, how many: `lexical`), so two floods in different
towns fall apart though they read alike. Stories published far apart (when both times are
known) get extra distance. Local scaling evens out how close the reports of one event look
depending on their length and topic.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import numpy as np
from scipy import sparse

from pipeline.events.lexical import term_counts, tfidf_rows
from pipeline.records import Article


def story_document(article: Article) -> str:
    """The text lexical evidence is read from: headline and the whole body."""
    return f"{article.title}\n{article.text}" if article.title else article.text


# Row blocks of the n x n steps run on this many threads: numpy and scipy's sparse products
# release the GIL, and each block writes its own part of the matrix.
THREADS = min(4, os.cpu_count() or 1)


def _add_cosines(out: np.ndarray, rows: sparse.csr_matrix, block_size: int = 1024) -> None:
    """out += rows @ rows.T for sparse rows, computing only the upper triangle.

    The product is symmetric, so each block of rows is multiplied only by itself and the rows
    after it, and the part below the diagonal is mirrored in: half the sparse work, with
    temporary memory bounded by one block per thread. Block i writes rows i, columns from i
    on, and columns i below it: no two blocks write the same cells.
    """
    n = rows.shape[0]
    transposed = rows.T.tocsc()

    def add_block(start: int) -> None:
        stop = min(start + block_size, n)
        block = (rows[start:stop] @ transposed[:, start:]).toarray()
        out[start:stop, start:] += block
        out[stop:, start:stop] += block[:, stop - start:].T

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(add_block, range(0, n, block_size)))


def story_similarity(vectors: np.ndarray, counts: tuple[sparse.csr_matrix, ...],
                     embedding_weight: float, max_df: float = 0.5) -> np.ndarray:
    """n x n float32 similarity: `embedding_weight` of the embedding cosine, the rest split evenly
    between the TF-IDF cosines of each term set of `lexical.term_counts` (evidence terms,
    content words, content-word pairs), weighed on these stories. Terms in more than `max_df`
    of them are background."""
    n = len(vectors)
    sim = np.zeros((n, n), dtype=np.float32)
    if embedding_weight > 0 and len(vectors):
        np.matmul(vectors, vectors.T, out=sim)
        sim *= embedding_weight
    if n:
        # All cosines in one product: side by side, each unit block scaled by the square root
        # of its weight, the rows' dot products are the weighted sum of the cosines.
        scale = np.float32(np.sqrt((1.0 - embedding_weight) / len(counts)))
        stacked = sparse.hstack([tfidf_rows(c, max_df) * scale for c in counts], format="csr")
        _add_cosines(sim, stacked)
    return sim


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
    self-tuning spectral clustering, Zelnik-Manor and Perona 2004) evens that out; half of it,
    blended with the plain distance, is what the dev set favoured.
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


def locally_scaled_rows(distance: np.ndarray, rows: np.ndarray, neighbours: int, weight: float) -> np.ndarray:
    """Rows `rows` of what `local_scaling` would make of the whole window, leaving it as it is."""
    scaled = distance[rows]
    if weight > 0 and len(distance) >= 3:
        scaled *= scale_factors(inverse_root_reach(distance, neighbours), rows, weight)
    return scaled


def event_distance(
    vectors: np.ndarray,
    documents: list[str],
    times: list[datetime | None],
    embedding_weight: float,
    time_scale_days: float,
    time_weight: float,
    word_pairs: bool = True,
) -> np.ndarray:
    """n x n float32 blended distance between stories for event clustering."""
    similarity = story_similarity(vectors, term_counts(documents, word_pairs), embedding_weight)
    return blended_distance(similarity, times, time_scale_days, time_weight)


def neighbours_per_story(distance: np.ndarray, max_distance: float) -> float:
    """Mean number of other stories within `max_distance` of a story."""
    n = len(distance)
    return float((np.count_nonzero(distance <= max_distance) - n) / n) if n else 0.0


def window_sparseness(distance: np.ndarray, full: float, sparse_neighbours: float, dense_neighbours: float) -> float:
    """How sparse a window is for event clustering: 0 where stories have on average at least
    `dense_neighbours` others within distance `full`, 1 where they have at most
    `sparse_neighbours`, and in between following 1/sqrt(neighbours).

    Why it matters: lexical weights are fitted on the window, and a term only one story in it
    uses weighs nothing. Where most events have a story or two in the window (a small first
    run, the first batches of a stream), the names that set each event apart are such terms,
    and two stories of same-kind events are left sharing only the words of their kind, so they
    look closer than they are: a sparse window is cut tighter (`assign.window_distance`).
    """
    neighbours = neighbours_per_story(distance, full)
    if neighbours >= dense_neighbours:
        return 0.0
    if neighbours <= sparse_neighbours:
        return 1.0
    return (neighbours ** -0.5 - dense_neighbours ** -0.5) / (sparse_neighbours ** -0.5 - dense_neighbours ** -0.5)

