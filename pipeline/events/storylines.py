"""Storylines: events grouped into the developing stories they belong to.

A storyline is one matter unfolding: the letters to sanctuary cities, the officials meeting
about them and the Attorney General's speech on them. Two events of the same kind (two
earthquakes, two workplace shootings) read alike to a sentence embedding but are two stories,
so two events may share a storyline only if they share actors, places or issues: the TF-IDF
cosine of their names (capitalized evidence terms, pooled over each event's stories and
weighed on the events being grouped) must reach `min_shared_names`. Among such pairs, events
are grouped by the distance of their mean embeddings, with a mild penalty for events far apart
in time (average linkage at `distance`). Storyline ids carry over by which events they hold,
like event ids. A run groups again only the events near its new ones in time (at most
`window_max_events` of them, within `window_days`); the others keep their storyline, so what a
run costs does not grow with the store.
"""
from __future__ import annotations

from datetime import datetime

import numpy as np

from pipeline.config import StorylineConfig
from pipeline.events import cluster, lexical, similarity
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


# The distance of two events that share no names: beyond any cut, so average linkage joins a
# group only where most of its pairs share names.
UNRELATED = 2.0


def shared_names(ids: list[str], event_of: dict[str, str], documents: dict[str, str]) -> np.ndarray:
    """len(ids) x len(ids) cosine of the events' names, each event's stories pooled, TF-IDF weighed
    over these events (a name most of them use counts for nothing)."""
    pooled: dict[str, list[str]] = {e: [] for e in ids}
    for aid, eid in event_of.items():
        if eid in pooled and aid in documents:
            pooled[eid].append(documents[aid])
    rows = lexical.tfidf_rows(lexical.name_counts(["\n".join(pooled[e]) for e in ids]))
    return (rows @ rows.T).toarray()


def assign_storylines(
    event_of: dict[str, str],
    vectors: dict[str, np.ndarray],
    event_time: dict[str, datetime | None],
    previous: dict[str, str],
    known: set[str],
    config: StorylineConfig,
    documents: dict[str, str] | None = None,
    again: set[str] | None = None,
) -> dict[str, str]:
    """event id -> storyline id for every event with embedded members. `documents` (story id ->
    headline and text) gives the names events must share; without it only embeddings count.

    Only the events near a new one in time (`again`, by default `regrouped`) are grouped again; the
    others keep the storyline they had, so a run's cost follows the events around its own, not the
    whole store."""
    if again is None:
        again = regrouped(event_of, event_time, previous, config)
    kept = {e: previous[e] for e in set(event_of.values()) - again}
    event_of = {a: e for a, e in event_of.items() if e not in kept}
    ids, centroids = event_centroids(event_of, vectors)
    if not ids:
        return kept
    distance = similarity.blended_distance(centroids @ centroids.T, [event_time.get(e) for e in ids],
                                           config.time_scale_days, config.time_weight)
    if documents is not None and len(ids) > 1:
        unrelated = shared_names(ids, event_of, documents) < config.min_shared_names
        np.fill_diagonal(unrelated, False)
        distance[unrelated] = UNRELATED
    labels = cluster.cluster_labels(distance, config.distance)
    return {**kept, **cluster.remap_ids(ids, labels, previous, known, prefix="s_").event_of}


def regrouped(event_of: dict[str, str], event_time: dict[str, datetime | None], previous: dict[str, str],
              config: StorylineConfig) -> set[str]:
    """The events to group again: those with no storyline yet (new, split or merged ones) and the
    `config.window_max_events` others nearest in time to one of them, within `config.window_days`
    (all of them where a new event has no time)."""
    events = set(event_of.values())
    new = {e for e in events if e not in previous}
    if any(event_time.get(e) is None for e in new):
        return events
    if not new:
        return set()
    anchors = np.array(sorted(event_time[e].timestamp() for e in new))
    gaps = []
    for e in events - new:
        t = event_time.get(e)
        if t is None:
            continue
        i = np.searchsorted(anchors, t.timestamp())
        gap = min(abs(anchors[j] - t.timestamp()) for j in (i - 1, i) if 0 <= j < len(anchors))
        if gap <= config.window_days * 86400.0:
            gaps.append((gap, e))
    return new | {e for _, e in sorted(gaps)[:config.window_max_events]}


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
    events = {a.article_id: event_of[a.article_id] for a in canonical}
    again = regrouped(events, event_time, previous, config)
    looked_at = [a for a in canonical if event_of[a.article_id] in again]  # the others keep theirs
    return assign_storylines(events, {a.article_id: vectors[a.article_id] for a in looked_at},
                             event_time, previous, set(previous.values()), config,
                             {a.article_id: similarity.story_document(a) for a in looked_at}, again)
