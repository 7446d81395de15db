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
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from pipeline.config import EventConfig
from pipeline.events import cluster, lexical, similarity
from pipeline.records import Article


def story_time(article: Article) -> datetime:
    return article.published_at or article.ingested_at


def window_distance(stories: list[Article], vectors: np.ndarray, config: EventConfig,
                    placed: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Distances between the stories of one window, and the cut to cluster them at.

    `placed` marks the stories that already have an event (None: none do, the window is
    clustered from scratch). The cut is `event_distance` where the window is dense and
    tightens towards `event_sparse_distance` as it gets sparse (`cluster.window_sparseness`).
    A window is also locally scaled (`cluster.local_scaling`) and cut `event_scaled_margin`
    higher, with the scaling fading out as the window gets sparse (a story's nearest others
    are then mostly other events' stories), when no story in it is placed yet or when every
    story in it has a publication time. A run that places new, undated stories among older
    events does so by `new_among_older`: with publication times, the time penalty keeps
    same-kind events apart, and scaling lets an event's later, farther-dated stories join its
    first ones; without them, scaling new stories against older ones pulled them into
    same-kind events.
    """
    documents = lexical.without_common_lines([similarity.story_document(a) for a in stories],
                                             config.common_line_share)
    distance = similarity.event_distance(vectors, documents,
                                      [a.published_at for a in stories], config.embedding_weight,
                                      config.time_scale_days, config.time_weight,
                                      config.word_pairs)
    if config.scaling_weight <= 0:
        return distance, cut_at(config.distance, distance, config)
    if placed is None or not placed.any() or all(a.published_at is not None for a in stories):
        return distance, scale_as_from_scratch(distance, config)
    return new_among_older(distance, ~placed, config)


def scaled_full_cut(config: EventConfig) -> float:
    return config.distance + config.scaled_margin


def sparseness_at(full: float, distance: np.ndarray, config: EventConfig) -> float:
    """How sparse stories are at cut `full` (`cluster.window_sparseness`): 0 dense, 1 sparse."""
    return similarity.window_sparseness(distance, full, config.sparse_neighbours, config.dense_neighbours)


def cut_at(full: float, distance: np.ndarray, config: EventConfig, sparseness: float | None = None) -> float:
    """The cut for a window whose full cut is `full`: that where it is dense, tightening towards
    `event_sparse_distance` as it gets sparse (`sparseness`, measured when not given)."""
    if sparseness is None:
        sparseness = sparseness_at(full, distance, config)
    # a stricter cut (a per-run override) is never loosened by the sparse cut
    return full - (full - min(config.sparse_distance, full)) * sparseness


def density_among(distance: np.ndarray, config: EventConfig) -> float:
    """1 where stories have `event_dense_neighbours` others within the scaled full cut, 0 where sparse."""
    return 1 - sparseness_at(scaled_full_cut(config), distance, config)


def scale_as_from_scratch(distance: np.ndarray, config: EventConfig) -> float:
    """Locally scale a window as a run clustering it from scratch does (in place); return its cut."""
    sparseness = sparseness_at(scaled_full_cut(config), distance, config)
    similarity.local_scaling(distance, config.scaling_neighbours, config.scaling_weight * (1 - sparseness))
    return cut_at(scaled_full_cut(config), distance, config, sparseness)


def new_among_older(distance: np.ndarray, new: np.ndarray, config: EventConfig) -> tuple[np.ndarray, float]:
    """Distances for a run placing new, undated stories among older ones (in place), and the cut.

    Two readings, weighed by how dense the new stories are among themselves (`density_among`):
    - scattered new stories (a few per event, mostly first reports) are scaled among themselves
      only (`scale_among_themselves`) and stay plain against older ones;
    - a burst (the bulk of an event or several at once) is scaled as a from-scratch run over
      the whole window would scale it, except that a new story never comes closer to an older
      one than the plain distance. Why: a burst's first reports of a same-kind event measure
      their reach to the older event, and scaling would pull them into it.
    Everything is expressed against the scaled window's cut (plain distances move up by the
    difference of the two cuts).
    """
    plain_cut = cut_at(config.distance, distance, config)
    window_sparseness = sparseness_at(scaled_full_cut(config), distance, config)
    cut = cut_at(scaled_full_cut(config), distance, config, window_sparseness)
    shift = np.float32(cut - plain_cut)
    rows = np.flatnonzero(new)
    among_new = np.ix_(rows, rows)
    strength = density_among(distance[among_new], config) if len(rows) >= 3 else 0.0
    if strength > 0:
        burst = similarity.locally_scaled_rows(distance, rows, config.scaling_neighbours,
                                            config.scaling_weight * (1 - window_sparseness))
        floor = distance[rows]
        floor += shift
        floor[:, rows] = 0.0  # among the new stories the scaled distances stand as they are
        np.maximum(burst, floor, out=burst)
        del floor
        distance[among_new] = scale_among_themselves(distance[among_new], strength, config)
    distance += shift
    np.fill_diagonal(distance, 0.0)
    if strength > 0:
        burst *= np.float32(strength)
        blended = distance[rows]
        blended *= np.float32(1 - strength)
        blended += burst
        distance[rows] = blended
        distance[:, rows] = blended.T
    return distance, cut


def scale_among_themselves(among_new: np.ndarray, strength: float, config: EventConfig) -> np.ndarray:
    """The new stories' distances among themselves locally scaled as a run over them alone would
    scale them, at `strength` (how dense they are among themselves), in place.

    Their distances are lowered by the scaled windows' extra margin (`event_scaled_margin`) to
    the same extent, as the plain cut is the reference. Why: where a run brings the bulk of an
    event at once (news comes in bursts), its one-line reports are kept together as in a first
    run; where the new stories are few or scattered across events, nothing changes.
    """
    similarity.local_scaling(among_new, config.scaling_neighbours, config.scaling_weight * strength)
    among_new -= np.float32(config.scaled_margin * strength)
    np.clip(among_new, 0.0, None, out=among_new)
    np.fill_diagonal(among_new, 0.0)
    return among_new


def window_labels(stories: list[Article], vectors: np.ndarray, config: EventConfig,
                  placed: np.ndarray | None = None) -> np.ndarray:
    """Cluster labels for one window of stories (`window_distance`), by `events.clusterer`."""
    return cluster.cluster_labels(*window_distance(stories, vectors, config, placed), config.clusterer)


def update_events(
    stories: list[Article],
    vectors: np.ndarray,
    previous: dict[str, str],
    known: set[str],
    config: EventConfig,
) -> cluster.Assignment:
    """Place stories without an event; every other story keeps its event unless merged.

    The window of time around the new stories (at most `event_window_max_stories` of them:
    `nearest_in_time`) is clustered from scratch, as one run over all
    of it would except that, once older stories are in it and some story has no publication
    time, scaling never brings a new story closer to an older one (`new_among_older`), and the
    clusters are named after the events their older stories already have (`cluster.remap_ids`). New stories take their
    cluster's name, so they land where that clustering puts them; older stories never move. An older event that no
    cluster is named after any more, that has no stories outside the window and holds one
    story, was found to be part of another: it is merged into the event its story's cluster
    took. A larger one stays as it is.
    """
    fresh = [a for a in stories if a.article_id not in previous]
    if not fresh:
        return cluster.Assignment({a.article_id: previous[a.article_id] for a in stories})
    reach = timedelta(days=config.window_days)
    start, end = min(map(story_time, fresh)) - reach, max(map(story_time, fresh)) + reach
    inside = nearest_in_time(stories, [i for i, a in enumerate(stories) if start <= story_time(a) <= end],
                             {a.article_id for a in fresh}, config.window_max_stories)
    ids = [stories[i].article_id for i in inside]
    labels = window_labels([stories[i] for i in inside], vectors[inside], config,
                           placed=np.array([aid in previous for aid in ids]))
    named = cluster.remap_ids(ids, labels, {i: previous[i] for i in ids if i in previous}, known | set(previous.values()))
    in_window = set(ids)
    held_outside = {eid for aid, eid in previous.items() if aid not in in_window}
    size = Counter(previous.values())
    # Only one-story events are folded in: a window's merge cannot be undone by a later run,
    # and a larger event may already be linked from the dashboard; the re-cluster flow merges any.
    merged_into = {old: new for old, new in named.merged_into.items()
                   if old not in held_outside and size[old] == 1}
    event_of = {a.article_id: previous.get(a.article_id) or named.event_of[a.article_id] for a in stories}
    for aid, eid in event_of.items():
        event_of[aid] = merged_into.get(eid, eid)
    return cluster.Assignment(event_of, merged_into)


def nearest_in_time(stories: list[Article], inside: list[int], fresh: set[str], limit: int) -> list[int]:
    """Positions `inside` (in order) cut to at most `limit`: every new story (id in `fresh`),
    then the older stories nearest in time to a new one.

    Why: a window's memory and time grow with the square of its size (20,000 stories: about
    4 GiB and 40 s on 2 cores), and a busy desk's month of stories would not fit. Older
    stories left out keep their events, and an event with stories outside the window is
    never merged. A run that brings more than `limit` new stories clusters all of them.
    """
    if len(inside) <= limit:
        return inside
    new = [i for i in inside if stories[i].article_id in fresh]
    older = [i for i in inside if stories[i].article_id not in fresh]
    new_times = np.sort([story_time(stories[i]).timestamp() for i in new])
    times = np.array([story_time(stories[i]).timestamp() for i in older])
    after = np.searchsorted(new_times, times).clip(1, len(new_times))  # the nearest new story is at after-1 or after
    gap = np.minimum(np.abs(times - new_times[after - 1]), np.abs(times - new_times[after.clip(max=len(new_times) - 1)]))
    nearest = np.argsort(gap, kind="stable")[:max(limit - len(new), 0)]
    return sorted(new + [older[k] for k in nearest])


def rebuild_events(
    stories: list[Article],
    vectors: np.ndarray,
    previous: dict[str, str],
    known: set[str],
    config: EventConfig,
    start: datetime | None = None,
    end: datetime | None = None,
) -> cluster.Assignment:
    """Re-cluster the stories whose time falls in [start, end] and map clusters onto old ids.

    A range of more than `event_window_max_stories` canonical stories is refused before any
    work: cut in parts, an event spanning two parts would be split in two.
    """
    inside = [i for i, a in enumerate(stories)
              if (start is None or story_time(a) >= start) and (end is None or story_time(a) <= end)]
    if len(inside) > config.window_max_stories:
        raise ValueError(f"the range holds {len(inside)} canonical stories, more than event_window_max_stories "
                         f"({config.window_max_stories}) can be clustered at once: re-cluster a shorter range")
    window = [stories[i] for i in inside]
    in_window = {a.article_id for a in window}
    labels = window_labels(window, vectors[inside], config)
    result = cluster.remap_ids([a.article_id for a in window], labels,
                               {k: v for k, v in previous.items() if k in in_window}, known)
    event_of = {a.article_id: previous[a.article_id] for a in stories
                if a.article_id not in in_window and a.article_id in previous}
    still_held = set(event_of.values())
    event_of.update(result.event_of)
    # an id that lost its members inside the range but still has some outside is not merged
    merged_into = {old: new for old, new in result.merged_into.items() if old not in still_held}
    return cluster.Assignment(event_of, merged_into)


@dataclass(slots=True)
class EventResult:
    event_of: dict[str, str]  # every article -> its event
    merged_into: dict[str, str]  # events absorbed this run -> the event that absorbed them
    storyline_of: dict[str, str]  # active event -> storyline


def assign_events(
    articles: list[Article],
    group_of: dict[str, str],
    vectors: dict[str, np.ndarray],
    previous_event_of: dict[str, str],
    known_ids: set[str],
    config: EventConfig,
    rebuild: tuple[datetime | None, datetime | None] | None = None,
) -> cluster.Assignment:
    """Events for all stories (incrementally, or rebuilding the range `rebuild`), copies
    following their canonical story.

    Only canonical stories are clustered; each copy takes its canonical's event. Clustered
    along as rows of the window, copies would outvote the stories around them: a story's reach
    and the window's median reach would be measured to copies, and the window would grow with
    every republication.
    """
    canonical = [a for a in articles if group_of[a.article_id] == a.article_id]
    # a canonical story new to this run inherits the event its group's older members had
    group_events: dict[str, Counter] = {}
    for a in articles:
        if a.article_id in previous_event_of:
            group_events.setdefault(group_of[a.article_id], Counter())[previous_event_of[a.article_id]] += 1
    previous = {c.article_id: previous_event_of.get(c.article_id) or group_events[c.article_id].most_common(1)[0][0]
                for c in canonical if c.article_id in previous_event_of or c.article_id in group_events}
    matrix = (np.stack([vectors[a.article_id] for a in canonical]) if canonical
              else np.zeros((0, 0), np.float32))
    if rebuild is None:
        result = update_events(canonical, matrix, previous, known_ids, config)
    else:
        result = rebuild_events(canonical, matrix, previous, known_ids, config, *rebuild)
    event_of = {a.article_id: result.event_of[group_of[a.article_id]] for a in articles}
    return cluster.Assignment(event_of, result.merged_into)
