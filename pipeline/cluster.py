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
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from sklearn.feature_extraction.text import TfidfVectorizer

from pipeline.lexical import evidence_vectors
from pipeline.records import Article


def story_document(article: Article) -> str:
    """The text lexical evidence is read from: headline and the whole body."""
    return f"{article.title}\n{article.text}" if article.title else article.text


def _add_cosines(out: np.ndarray, rows, weight: float) -> None:
    """out += weight * rows @ rows.T for sparse unit rows, in blocks to bound temporary memory."""
    transposed = rows.T.tocsc()
    for start in range(0, rows.shape[0], 2048):
        block = (rows[start:start + 2048] @ transposed).toarray()
        block *= weight
        out[start:start + 2048] += block


def story_similarity(vectors: np.ndarray, documents: list[str], embedding_weight: float) -> np.ndarray:
    """n x n float32 similarity: `embedding_weight` of the embedding cosine, the rest split evenly
    between two TF-IDF cosines fitted on the window: evidence terms, and all content words."""
    n = len(documents)
    sim = np.zeros((n, n), dtype=np.float32)
    if embedding_weight > 0 and len(vectors):
        np.matmul(vectors, vectors.T, out=sim)
        sim *= embedding_weight
    lexical_weight = (1.0 - embedding_weight) / 2
    _add_cosines(sim, evidence_vectors(documents), lexical_weight)
    words = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=2 if n > 2 else 1,
                            max_df=0.5 if n >= 10 else 1.0, dtype=np.float32)
    try:
        _add_cosines(sim, words.fit_transform(documents).tocsr(), lexical_weight)
    except ValueError:  # no word survives the document-frequency limits
        pass
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
        known = np.flatnonzero(np.isfinite(secs))  # unknown time: no evidence either way
        gap_days = np.abs(secs[known, None] - secs[None, known]) / 86400.0
        dist[np.ix_(known, known)] += (np.minimum(gap_days / time_scale_days, 1.0) * time_weight).astype(dist.dtype)
    np.fill_diagonal(dist, 0.0)
    return dist


def cluster_labels(distance: np.ndarray, max_distance: float) -> np.ndarray:
    """Average-linkage clusters whose mean inner distance stays within `max_distance`."""
    n = len(distance)
    if n < 2:
        return np.zeros(n, dtype=int)
    condensed = squareform(distance, checks=False).astype(np.float64)  # distance is symmetric
    return fcluster(linkage(condensed, method="average"), t=max_distance, criterion="distance").astype(int) - 1


def new_id(prefix: str, founder: str, taken: set[str]) -> str:
    """A fresh id derived from the founding member, never one already used."""
    salt = 0
    while True:
        key = founder if salt == 0 else f"{founder}\x00{salt}"
        candidate = prefix + hashlib.blake2b(key.encode(), digest_size=6).hexdigest()
        if candidate not in taken:
            return candidate
        salt += 1


def new_event_id(founder_article_id: str, taken: set[str] = frozenset()) -> str:
    return new_id("e_", founder_article_id, set(taken))


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

    Larger clusters choose first and take the previous id most of their members had; each
    id is reused at most once, so it keeps its meaning: the cluster holding most of its old
    members. A previous id no cluster took was absorbed: it is merged into the id now held
    by most of its old members. Clusters with no free previous id get new ids.
    """
    taken: set[str] = set(known) | set(previous.values())
    event_of: dict[str, str] = {}
    reused: set[str] = set()
    for members in _groups(member_ids, labels):
        votes = Counter(previous[m] for m in members if m in previous)
        chosen = next((eid for eid, _ in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0])) if eid not in reused), None)
        if chosen is None:
            chosen = new_id(prefix, min(members), taken)
        reused.add(chosen)
        taken.add(chosen)
        event_of.update(dict.fromkeys(members, chosen))
    merged_into = {}
    for old in set(previous[m] for m in member_ids if m in previous) - reused:
        heirs = Counter(event_of[m] for m in member_ids if previous.get(m) == old)
        merged_into[old] = min(heirs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return Assignment(event_of, merged_into)
