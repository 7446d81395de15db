"""Events: which stories report the same event, kept stable from run to run.

An incremental run (`update_events`) clusters the window of time around the new stories;
stories that already had an event keep it, new ones join the event of their cluster or
found a new one, and a small event that a cluster of another now wholly holds is merged
into it. A rebuild (`rebuild_events`) re-clusters a time range from scratch and maps the new
clusters onto the old ids. The caller clusters canonical stories only and gives each copy its
canonical's event (`job.assign_events`).
"""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import numpy as np

from pipeline import cluster, lexical
from pipeline.config import Settings
from pipeline.records import Article


def story_time(article: Article) -> datetime:
    return article.published_at or article.ingested_at


def window_distance(stories: list[Article], vectors: np.ndarray, settings: Settings,
                    placed: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Distances between the stories of one window, and the cut to cluster them at.

    `placed` marks the stories that already have an event (None: none do, the window is
    clustered from scratch). The cut is `event_distance` where the window is dense and
    tightens towards `event_sparse_distance` as it gets sparse (`cluster.window_sparseness`).
    A window is also locally scaled (`cluster.local_scaling`) and cut `event_scaled_margin`
    higher, with the scaling fading out as the window gets sparse (a story's nearest others
    are then mostly other events' stories), when no story in it is placed yet or when every
    story in it has a publication time. A run that places new, undated stories among older
    events scales only the new stories among themselves (`scale_new_among_themselves`): its
    new stories are mostly the first reports of their events, their nearest older stories
    belong to other events, and scaling them against those pulled them into same-kind events;
    with publication times, the time penalty keeps such events apart, and scaling lets an
    event's later, farther-dated stories join its first ones (README, Events).
    """
    documents = lexical.without_common_lines([cluster.story_document(a) for a in stories],
                                             settings.event_common_line_share)
    distance = cluster.event_distance(vectors, documents,
                                      [a.published_at for a in stories], settings.event_embedding_weight,
                                      settings.event_time_scale_days, settings.event_time_weight,
                                      settings.event_word_pairs)
    from_scratch = placed is None or not placed.any()
    dated = all(a.published_at is not None for a in stories)
    scaled = (from_scratch or dated) and settings.event_scaling_weight > 0
    full = settings.event_distance + (settings.event_scaled_margin if scaled else 0.0)
    sparseness = cluster.window_sparseness(distance, full, settings.event_sparse_neighbours,
                                           settings.event_dense_neighbours)
    if scaled:
        cluster.local_scaling(distance, settings.event_scaling_neighbours,
                              settings.event_scaling_weight * (1 - sparseness))
    elif settings.event_scaling_weight > 0:
        scale_new_among_themselves(distance, ~placed, settings)
    # a stricter cut (a per-run override) is never loosened by the sparse cut
    return distance, full - (full - min(settings.event_sparse_distance, full)) * sparseness


def scale_new_among_themselves(distance: np.ndarray, new: np.ndarray, settings: Settings) -> None:
    """Locally scale the distances between new stories only, as a run over them alone would (in place).

    Each new story's reach is measured among the new stories, the scaling fades with how
    sparse they are among themselves, and their distances are lowered by the scaled windows'
    extra margin (`event_scaled_margin`) to the same extent, since the cut is the plain one.
    Distances to older stories stay plain. Why: where a run brings the bulk of an event at
    once (news comes in bursts), its one-line reports are kept together as in a first run;
    where the new stories are few or scattered across events, nothing changes (README, Events).
    """
    index = np.flatnonzero(new)
    if len(index) < 3:
        return
    block = np.ix_(index, index)
    among_new = distance[block]
    full = settings.event_distance + settings.event_scaled_margin
    strength = 1 - cluster.window_sparseness(among_new, full, settings.event_sparse_neighbours,
                                             settings.event_dense_neighbours)
    if strength <= 0:
        return
    cluster.local_scaling(among_new, settings.event_scaling_neighbours, settings.event_scaling_weight * strength)
    among_new -= np.float32(settings.event_scaled_margin * strength)
    np.clip(among_new, 0.0, None, out=among_new)
    np.fill_diagonal(among_new, 0.0)
    distance[block] = among_new


def window_labels(stories: list[Article], vectors: np.ndarray, settings: Settings,
                  placed: np.ndarray | None = None) -> np.ndarray:
    """Cluster labels for one window of stories (`window_distance`)."""
    return cluster.cluster_labels(*window_distance(stories, vectors, settings, placed))


def update_events(
    stories: list[Article],
    vectors: np.ndarray,
    previous: dict[str, str],
    known: set[str],
    settings: Settings,
) -> cluster.Assignment:
    """Place stories without an event; every other story keeps its event unless merged.

    The window of time around the new stories is clustered from scratch, as one run over all
    of it would except that, once older stories are in it and some story has no publication
    time, only the new stories are locally scaled, among themselves (`window_distance`), and the clusters are named after
    the events their older stories already have (`cluster.remap_ids`). New stories take their
    cluster's name, so they land where that clustering puts them; older stories never move. An older event that no
    cluster is named after any more, that has no stories outside the window and at most
    `event_merge_max_stories` stories, was found to be part of another: it is merged into the
    event most of its stories' clusters took. A larger one stays as it is.
    """
    fresh = [a for a in stories if a.article_id not in previous]
    if not fresh:
        return cluster.Assignment({a.article_id: previous[a.article_id] for a in stories})
    reach = timedelta(days=settings.event_window_days)
    start, end = min(map(story_time, fresh)) - reach, max(map(story_time, fresh)) + reach
    inside = [i for i, a in enumerate(stories) if start <= story_time(a) <= end]
    ids = [stories[i].article_id for i in inside]
    labels = window_labels([stories[i] for i in inside], vectors[inside], settings,
                           placed=np.array([aid in previous for aid in ids]))
    named = cluster.remap_ids(ids, labels, {i: previous[i] for i in ids if i in previous}, known | set(previous.values()))
    in_window = set(ids)
    held_outside = {eid for aid, eid in previous.items() if aid not in in_window}
    size = Counter(previous.values())
    # Only small events are folded in: a window's merge cannot be undone by a later run, and
    # a larger event may already be linked from the dashboard; the re-cluster flow merges any.
    merged_into = {old: new for old, new in named.merged_into.items()
                   if old not in held_outside and size[old] <= settings.event_merge_max_stories}
    event_of = {a.article_id: previous.get(a.article_id) or named.event_of[a.article_id] for a in stories}
    for aid, eid in event_of.items():
        event_of[aid] = merged_into.get(eid, eid)
    return cluster.Assignment(event_of, merged_into)


def rebuild_events(
    stories: list[Article],
    vectors: np.ndarray,
    previous: dict[str, str],
    known: set[str],
    settings: Settings,
    start: datetime | None = None,
    end: datetime | None = None,
) -> cluster.Assignment:
    """Re-cluster the stories whose time falls in [start, end] and map clusters onto old ids."""
    inside = [i for i, a in enumerate(stories)
              if (start is None or story_time(a) >= start) and (end is None or story_time(a) <= end)]
    window = [stories[i] for i in inside]
    in_window = {a.article_id for a in window}
    labels = window_labels(window, vectors[inside], settings)
    result = cluster.remap_ids([a.article_id for a in window], labels,
                               {k: v for k, v in previous.items() if k in in_window}, known)
    event_of = {a.article_id: previous[a.article_id] for a in stories
                if a.article_id not in in_window and a.article_id in previous}
    still_held = set(event_of.values())
    event_of.update(result.event_of)
    # an id that lost its members inside the range but still has some outside is not merged
    merged_into = {old: new for old, new in result.merged_into.items() if old not in still_held}
    return cluster.Assignment(event_of, merged_into)
