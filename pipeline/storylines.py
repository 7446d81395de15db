"""Storylines: events grouped into the ongoing stories they belong to.

An event is represented by the mean embedding of its canonical stories: at this level
topic similarity is what is wanted (the letters to sanctuary cities and the speech in
Chicago belong to one story), with a mild penalty for events far apart in time.
Storyline ids carry over by which events they hold, like event ids.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np

from pipeline import cluster
from pipeline.config import Settings


def event_centroids(event_of: dict[str, str], vectors: dict[str, np.ndarray]) -> tuple[list[str], np.ndarray]:
    """Event ids (sorted) and their unit-length mean embeddings over the canonical stories."""
    members: dict[str, list[np.ndarray]] = {}
    for aid, eid in event_of.items():
        if aid in vectors:
            members.setdefault(eid, []).append(vectors[aid])
    ids = sorted(members)
    if not ids:
        return [], np.zeros((0, 0), dtype=np.float32)
    centroids = np.stack([np.mean(members[e], axis=0) for e in ids])
    centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    return ids, centroids


def assign_storylines(
    event_of: dict[str, str],
    vectors: dict[str, np.ndarray],
    event_time: dict[str, datetime | None],
    previous: dict[str, str],
    known: set[str],
    settings: Settings,
) -> dict[str, str]:
    """event id -> storyline id for every event with embedded members."""
    ids, centroids = event_centroids(event_of, vectors)
    if not ids:
        return {}
    distance = cluster.blended_distance(centroids @ centroids.T, [event_time.get(e) for e in ids],
                                        settings.storyline_time_scale_days, settings.storyline_time_weight)
    labels = cluster.cluster_labels(distance, settings.storyline_distance)
    return cluster.remap_ids(ids, labels, previous, known, prefix="s_").event_of
