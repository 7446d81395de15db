"""Storylines: events grouped into the ongoing stories they belong to.

An event is represented by the mean embedding of its canonical stories: at this level
topic similarity is what is wanted (the letters to sanctuary cities and the speech in
Chicago belong to one story), with a mild penalty for events far apart in time.
Storyline ids carry over by which events they hold, like event ids.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np

from pipeline.config import StorylineConfig
from pipeline.events import cluster, similarity
from pipeline.records import Article


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
    config: StorylineConfig,
) -> dict[str, str]:
    """event id -> storyline id for every event with embedded members."""
    ids, centroids = event_centroids(event_of, vectors)
    if not ids:
        return {}
    distance = similarity.blended_distance(centroids @ centroids.T, [event_time.get(e) for e in ids],
                                           config.time_scale_days, config.time_weight)
    labels = cluster.cluster_labels(distance, config.distance)
    return cluster.remap_ids(ids, labels, previous, known, prefix="s_").event_of


def storylines_of(articles: list[Article], group_of: dict[str, str], event_of: dict[str, str],
                  vectors: dict[str, np.ndarray], previous_events, config: StorylineConfig) -> dict[str, str]:
    """event id -> storyline id for the events of `articles` (canonical stories carry the
    vectors), keeping the storyline ids `previous_events` (the events table) gave them."""
    rows = previous_events.select(["event_id", "storyline_id"]).to_pylist()
    previous = {r["event_id"]: r["storyline_id"] for r in rows if r["storyline_id"]}
    canonical = [a for a in articles if group_of[a.article_id] == a.article_id]
    event_time: dict[str, datetime] = {}
    for a in canonical:
        eid, t = event_of[a.article_id], a.published_at or a.ingested_at
        event_time[eid] = min(event_time.get(eid, t), t)
    return assign_storylines({a.article_id: event_of[a.article_id] for a in canonical},
                             {a.article_id: vectors[a.article_id] for a in canonical},
                             event_time, previous, set(previous.values()), config)
