"""Cluster: group stories into events by embedding, lexical evidence and time; name them stably.

Similarity of two stories blends the cosine of their embeddings (what kind of thing happened)
with the cosine of their lexical evidence (who, where, how many: pipeline.lexical), so two
floods in different towns fall apart though they read alike. Stories published far apart
(when both times are known) get extra distance. Groups come from average-linkage clustering
cut at a distance: a story joins a group only if it is close to the group on average, which
resists the chaining that single-linkage methods (HDBSCAN included) show between same-kind
events. Every story ends in a cluster; a story close to nothing is an event of one.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from pipeline.lexical import term_counts, tfidf_rows
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
    time_scale_days: float = 3.0,
    time_weight: float = 0.25,
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
    blended with the plain distance, is what the dev set favoured (README, Events).
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
    look closer than they are: a sparse window is cut tighter (`events.window_distance`). On
    the dev set (without word pairs) the best cut rose from 0.50-0.60 for windows of 54
    stories (about 2 neighbours each) to 0.70 for 500 (12) (README, Events).
    """
    neighbours = neighbours_per_story(distance, full)
    if neighbours >= dense_neighbours:
        return 0.0
    if neighbours <= sparse_neighbours:
        return 1.0
    return (neighbours ** -0.5 - dense_neighbours ** -0.5) / (sparse_neighbours ** -0.5 - dense_neighbours ** -0.5)


def cluster_labels(distance: np.ndarray, max_distance: float) -> np.ndarray:
    """Average-linkage clusters whose mean inner distance stays within `max_distance`.

    Two stories with no chain of pairs within `max_distance` between them can never share a
    cluster (every pair across would be farther), so each connected part of that graph is
    linked on its own: far cheaper than one linkage over the window when topics are many.
    """
    n = len(distance)
    labels = np.zeros(n, dtype=int)
    if n < 2:
        return labels
    n_parts, part = connected_components(sparse.csr_matrix(distance <= max_distance), directed=False)
    order = np.argsort(part, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(part[order]) != 0])
    next_label = 0
    for members in np.split(order, starts[1:]):
        if len(members) == 1:
            found = np.zeros(1, dtype=int)
        else:
            # distance is symmetric: the condensed form takes its upper triangle
            condensed = squareform(distance[np.ix_(members, members)], checks=False).astype(np.float64)
            found = fcluster(linkage(condensed, method="average"), t=max_distance, criterion="distance") - 1
        labels[members] = found + next_label
        next_label += int(found.max()) + 1
    return labels


def new_id(prefix: str, founder: str, taken: set[str]) -> str:
    """A fresh id derived from the founding member, never one already used."""
    salt = 0
    while True:
        key = founder if salt == 0 else f"{founder}\x00{salt}"
        candidate = prefix + hashlib.blake2b(key.encode(), digest_size=6).hexdigest()
        if candidate not in taken:
            return candidate
        salt += 1


@dataclass(slots=True)
class Assignment:
    event_of: dict[str, str]  # member -> id
    merged_into: dict[str, str] = field(default_factory=dict)  # absorbed id -> surviving id


def _groups(member_ids: list[str], labels: np.ndarray) -> list[list[str]]:
    clusters: dict[int, list[str]] = {}
    for mid, label in zip(member_ids, labels):
        clusters.setdefault(int(label), []).append(mid)
    return sorted(clusters.values(), key=lambda m: (-len(m), min(m)))


def remap_ids(
    member_ids: list[str],
    labels: np.ndarray,
    previous: dict[str, str],
    known: set[str] = frozenset(),
    prefix: str = "e_",
) -> Assignment:
    """Name fresh clusters after the previous ids their members had (a rebuild).

    Each previous id goes to the cluster holding most of its old members, so it keeps its
    meaning and as many stories as possible keep their id: (cluster, id) pairs are taken by
    how many members they share, most first, each cluster and each id at most once (ties: the
    larger cluster, then the id). A cluster that took no id gets a new one. A previous id no
    cluster took was absorbed: it is merged into the id now held by most of its old members.
    Why not let the largest cluster choose first: where one event's stories split, a large
    cluster of new stories holding a few of them took the id from the cluster holding most of
    them, so the new stories joined the event (README, Events).
    """
    taken: set[str] = set(known) | set(previous.values())
    groups = _groups(member_ids, labels)  # largest first
    shared = sorted((-n, position, eid) for position, members in enumerate(groups)
                    for eid, n in Counter(previous[m] for m in members if m in previous).items())
    name: dict[int, str] = {}
    reused: set[str] = set()
    for _, position, eid in shared:
        if position not in name and eid not in reused:
            name[position] = eid
            reused.add(eid)
    event_of: dict[str, str] = {}
    for position, members in enumerate(groups):
        chosen = name.get(position) or new_id(prefix, min(members), taken)
        taken.add(chosen)
        event_of.update(dict.fromkeys(members, chosen))
    merged_into = {}
    for old in set(previous[m] for m in member_ids if m in previous) - reused:
        heirs = Counter(event_of[m] for m in member_ids if previous.get(m) == old)
        merged_into[old] = min(heirs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return Assignment(event_of, merged_into)
