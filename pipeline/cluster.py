"""Cluster: group canonical stories into events with HDBSCAN, and keep event ids stable.

Distance between two stories blends embedding cosine distance with how far apart they
were published (when both times are known). Stories HDBSCAN leaves as noise become
events of one. Event ids carry over from the previous state by member overlap.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from datetime import datetime

import numpy as np
from sklearn.cluster import HDBSCAN


def blended_distance(
    vectors: np.ndarray,
    times: list[datetime | None],
    time_scale_days: float = 3.0,
    time_weight: float = 0.25,
) -> np.ndarray:
    """Cosine distance plus up to `time_weight` for stories published far apart."""
    dist = np.clip(1.0 - vectors @ vectors.T, 0.0, 2.0).astype(np.float64)
    if time_weight > 0:
        secs = np.array([t.timestamp() if t else np.nan for t in times], dtype=np.float64)
        gap_days = np.abs(secs[:, None] - secs[None, :]) / 86400.0
        penalty = np.minimum(gap_days / time_scale_days, 1.0) * time_weight
        dist += np.nan_to_num(penalty, nan=0.0)  # unknown time: no evidence either way
    np.fill_diagonal(dist, 0.0)
    return dist


def cluster_labels(distance: np.ndarray, min_cluster_size: int = 2, max_distance: float = 0.45) -> np.ndarray:
    """HDBSCAN labels on a precomputed distance; every noise point gets a label of its own.

    Pairs farther apart than `max_distance` can never join: distances beyond it are
    pushed out so that topic-level similarity alone does not merge events.
    """
    n = len(distance)
    if n == 0:
        return np.zeros(0, dtype=int)
    if n < 2:
        return np.zeros(1, dtype=int)
    capped = np.where(distance > max_distance, distance + 10.0, distance)
    labels = HDBSCAN(
        metric="precomputed",
        min_cluster_size=max(2, min_cluster_size),
        min_samples=1,
        cluster_selection_epsilon=float(max_distance),
        allow_single_cluster=True,
        copy=True,
    ).fit_predict(capped)
    labels = labels.copy()
    next_label = labels.max() + 1
    for i in np.flatnonzero(labels < 0):
        labels[i] = next_label
        next_label += 1
    return labels


def new_event_id(founder_article_id: str) -> str:
    return "e_" + hashlib.blake2b(founder_article_id.encode(), digest_size=6).hexdigest()


def assign_event_ids(
    article_ids: list[str],
    labels: np.ndarray,
    previous: dict[str, str],
) -> dict[str, str]:
    """Name each cluster: reuse the previous event id most of its members had, else mint one.

    Larger clusters choose first; each previous id is reused at most once.
    """
    clusters: dict[int, list[str]] = {}
    for aid, label in zip(article_ids, labels):
        clusters.setdefault(int(label), []).append(aid)
    taken: set[str] = set()
    event_of: dict[str, str] = {}
    for members in sorted(clusters.values(), key=lambda m: (-len(m), min(m))):
        votes = Counter(previous[m] for m in members if m in previous)
        chosen = next((eid for eid, _ in votes.most_common() if eid not in taken), None)
        if chosen is None:
            chosen = new_event_id(min(members))
        taken.add(chosen)
        for m in members:
            event_of[m] = chosen
    return event_of
