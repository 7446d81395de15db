"""Events: which canonical stories report the same event, kept stable from run to run.

An incremental run (`update_events`) clusters the window of time around the new stories;
stories that already had an event keep it, new ones join the event of their cluster or
found a new one, and two events that one cluster now wholly spans are merged. A rebuild
(`rebuild_events`) re-clusters a time range from scratch and maps the new clusters onto the
old ids. Duplicates are not clustered: they inherit their canonical story's event.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from pipeline import cluster
from pipeline.config import Settings
from pipeline.records import Article


def story_time(article: Article) -> datetime:
    return article.published_at or article.ingested_at


def window_distance(canonical: list[Article], vectors: np.ndarray, settings: Settings) -> np.ndarray:
    """Blended distance between the canonical stories of one window."""
    similarity = cluster.story_similarity(vectors, [cluster.story_document(a) for a in canonical],
                                          settings.event_embedding_weight)
    return cluster.blended_distance(similarity, [a.published_at for a in canonical],
                                    settings.event_time_scale_days, settings.event_time_weight)


def window_labels(canonical: list[Article], vectors: np.ndarray, settings: Settings) -> np.ndarray:
    """Cluster labels for one window of canonical stories."""
    return cluster.cluster_labels(window_distance(canonical, vectors, settings), settings.event_distance)


def update_events(
    canonical: list[Article],
    vectors: np.ndarray,
    previous: dict[str, str],
    known: set[str],
    settings: Settings,
) -> cluster.Assignment:
    """Place canonical stories without an event; every other story keeps its event unless merged.

    Within the window of time around the new stories, a new story joins the existing event
    it is closest to on average (the same average linkage that built the events), if that
    is within `event_distance`; the rest are clustered among themselves into new events.
    Two existing events now within `event_distance` of each other on average are merged.
    """
    fresh = [a for a in canonical if a.article_id not in previous]
    if not fresh:
        return cluster.Assignment({a.article_id: previous[a.article_id] for a in canonical})
    reach = timedelta(days=settings.event_window_days)
    start, end = min(map(story_time, fresh)) - reach, max(map(story_time, fresh)) + reach
    inside = [i for i, a in enumerate(canonical) if start <= story_time(a) <= end]
    window = [canonical[i] for i in inside]
    distance = window_distance(window, vectors[inside], settings)
    ids = [a.article_id for a in window]
    old = [i for i, aid in enumerate(ids) if aid in previous]
    new = [i for i, aid in enumerate(ids) if aid not in previous]
    old_events = sorted({previous[ids[i]] for i in old})
    membership = np.zeros((len(ids), len(old_events)))
    position = {e: k for k, e in enumerate(old_events)}
    for i in old:
        membership[i, position[previous[ids[i]]]] = 1.0
    sizes = np.maximum(membership.sum(axis=0), 1.0)

    event_of = {a.article_id: previous[a.article_id] for a in canonical if a.article_id in previous}
    merged_into = merge_close_events(distance, membership, sizes, old_events, settings.event_distance)
    unplaced = []
    if old_events:
        mean_to_event = (distance[new] @ membership) / sizes  # new story x existing event
        nearest = mean_to_event.argmin(axis=1)
        for row, i in enumerate(new):
            if mean_to_event[row, nearest[row]] <= settings.event_distance:
                event_of[ids[i]] = old_events[nearest[row]]
            else:
                unplaced.append(i)
    else:
        unplaced = new
    labels = cluster.cluster_labels(distance[np.ix_(unplaced, unplaced)], settings.event_distance)
    founded = cluster.remap_ids([ids[i] for i in unplaced], labels, {}, known | set(previous.values()))
    event_of.update(founded.event_of)
    for aid, eid in event_of.items():
        event_of[aid] = merged_into.get(eid, eid)
    return cluster.Assignment(event_of, merged_into)


def merge_close_events(distance: np.ndarray, membership: np.ndarray, sizes: np.ndarray, events: list[str],
                       max_distance: float) -> dict[str, str]:
    """Events whose mean distance to each other fell within `max_distance`: absorbed -> absorber.

    Pairs merge closest first; the event with more members in the window absorbs the other.
    """
    if len(events) < 2:
        return {}
    between = (membership.T @ distance @ membership) / np.outer(sizes, sizes)
    np.fill_diagonal(between, np.inf)
    root = list(range(len(events)))

    def find(k: int) -> int:
        while root[k] != k:
            k = root[k]
        return k

    for a, b in sorted(zip(*np.nonzero(between <= max_distance)), key=lambda ab: between[ab]):
        ra, rb = find(a), find(b)
        if ra != rb:
            keep, drop = (ra, rb) if (sizes[ra], events[rb]) >= (sizes[rb], events[ra]) else (rb, ra)
            root[drop] = keep
    return {events[k]: events[find(k)] for k in range(len(events)) if find(k) != k}


def rebuild_events(
    canonical: list[Article],
    vectors: np.ndarray,
    previous: dict[str, str],
    known: set[str],
    settings: Settings,
    start: datetime | None = None,
    end: datetime | None = None,
) -> cluster.Assignment:
    """Re-cluster the stories whose time falls in [start, end] and map clusters onto old ids."""
    inside = [i for i, a in enumerate(canonical)
              if (start is None or story_time(a) >= start) and (end is None or story_time(a) <= end)]
    window = [canonical[i] for i in inside]
    in_window = {a.article_id for a in window}
    labels = window_labels(window, vectors[inside], settings)
    result = cluster.remap_ids([a.article_id for a in window], labels,
                               {k: v for k, v in previous.items() if k in in_window}, known)
    event_of = {a.article_id: previous[a.article_id] for a in canonical
                if a.article_id not in in_window and a.article_id in previous}
    still_held = set(event_of.values())
    event_of.update(result.event_of)
    # an id that lost its members inside the range but still has some outside is not merged
    merged_into = {old: new for old, new in result.merged_into.items() if old not in still_held}
    return cluster.Assignment(event_of, merged_into)
