"""Arrivals: what a run's stories change in the stored state before copies and events are found.

New stories are normalized and kept when not stored yet (ingestion is idempotent by content);
a newer version replaces its story and takes over its event and duplicate group; a withdrawal
notice takes its story down, now and in later runs. Every function returns a new state and
leaves the one it was given as it was, so a retried stage starts from the same input.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.dedup import canonical_key
from pipeline.ingest.normalize import normalize
from pipeline.ingest.versions import Stamp, Superseded, Withdrawal, merge_versions, take_down
from pipeline.records import Article, RawStory, Reject
from pipeline.store.state import StoredState


@dataclass(slots=True)
class Arrivals:
    """The run's stories applied to the stored state."""

    state: StoredState  # stored stories still current, with events and groups handed over
    current: list[Article]  # every current story: `state.articles` and the new ones
    fresh: list[Article]  # new stories of this run (some may have been taken down since)
    n_known: int  # stories read that were stored already
    rejects: list[Reject]  # stories with no text left after normalization
    shelved: list[Superseded]  # versions replaced or taken down, for `article_versions`
    n_superseded: int
    n_withdrawn: int
    notices: list[Withdrawal]  # notices new in this run, each with the story it took down

    @property
    def new(self) -> list[Article]:
        """The new stories still current: those to fold into copy groups and events."""
        stored = {a.article_id for a in self.state.articles}
        return [a for a in self.current if a.article_id not in stored]


def split_notices(stories: list[RawStory]) -> tuple[list[RawStory], list[Withdrawal]]:
    """Stories to ingest, and withdrawal notices (which carry no story to store)."""
    return [s for s in stories if not s.is_withdrawal], [Withdrawal.from_story(s) for s in stories if s.is_withdrawal]


def arrive(state: StoredState, stories: list[RawStory], notices: list[Withdrawal], ingested_at: datetime) -> Arrivals:
    """Normalize `stories`, keep the new ones, apply versions and then withdrawal notices."""
    return arrive_normalized(state, normalize(stories, ingested_at), origins(stories), notices)


def origins(stories: list[RawStory]) -> dict[str, str]:
    """Where each story id was first read (an input file, a feed entry), for rejects."""
    return {s.source_id: s.origin for s in reversed(stories)}


def arrive_normalized(state: StoredState, articles: list[Article], origin: dict[str, str],
                      notices: list[Withdrawal]) -> Arrivals:
    """`arrive` for stories normalized already (`normalize`, in the order read); `origin` from `origins`."""
    fresh, n_known, rejects = keep_new(articles, origin, state)
    state, current, superseded = apply_versions(state, fresh)
    state, current, withdrawn, recorded = apply_withdrawals(state, current, notices)
    return Arrivals(state, current, fresh, n_known, rejects, superseded + withdrawn, len(superseded),
                    len(withdrawn), recorded)


def keep_new(articles: list[Article], origin: dict[str, str], state: StoredState
             ) -> tuple[list[Article], int, list[Reject]]:
    """Keep the normalized articles not stored yet.

    Returns (new articles, how many were already stored, rejects for stories with no text left).
    """
    known = {a.article_id for a in state.articles} | set(state.article_versions.column("article_id").to_pylist())
    fresh, rejects, n_known = [], [], 0
    for article in articles:
        if article.article_id in known:
            n_known += 1
        elif not article.text.strip():
            rejects.append(Reject(origin=origin.get(article.source_id, article.source_id),
                                  reason="no story text left after removing boilerplate"))
        else:
            known.add(article.article_id)
            fresh.append(article)
    return fresh, n_known, rejects


def apply_versions(state: StoredState, fresh: list[Article]) -> tuple[StoredState, list[Article], list[Superseded]]:
    """The state after `fresh` articles replace earlier versions of their stories, every current
    article, and the versions replaced.

    A replacing version takes over its predecessor's event and duplicate group, so both keep
    their ids; the replaced versions leave the duplicate index (a story is never a copy of its
    old self). The state's articles become the stored stories still current.
    """
    current, superseded = merge_versions(state.articles, fresh)
    state = hand_over(state, {s.article.article_id: s.superseded_by for s in superseded})
    fresh_ids = {a.article_id for a in fresh}
    return dataclasses.replace(state, articles=[a for a in current if a.article_id not in fresh_ids]), current, superseded


def hand_over(state: StoredState, heir: dict[str, str | None]) -> StoredState:
    """The state without the articles `heir` names: each one's event and duplicate group pass
    to its heir (a newer version of the story, or another member of its group), or to no one."""
    if not heir:
        return state
    event_of = dict(state.event_of)
    for old, new in heir.items():
        event_id = event_of.pop(old, None)
        if event_id is not None and new is not None:
            event_of.setdefault(new, event_id)
    if not any(aid in heir for aid in state.group_of):
        return dataclasses.replace(state, event_of=event_of)
    groups = {old: new for old, new in heir.items() if new is not None and old in state.group_of}
    group_of = {aid: groups.get(g, g) for aid, g in state.group_of.items() if aid not in heir}
    # an heir that was a copy in its group is now the group's canonical
    edges = [dataclasses.replace(e, duplicate_of=groups.get(e.duplicate_of, e.duplicate_of))
             for e in state.duplicate_edges if e.article_id not in heir and group_of.get(e.article_id) != e.article_id]
    index = state.minhash_index
    if index is not None:
        index = index.filter(pc.invert(pc.is_in(index["article_id"], pa.array(list(heir), pa.string()))))
        heirs = pa.array([groups.get(g, g) for g in index["dup_group_id"].to_pylist()], pa.string())
        index = index.set_column(index.schema.get_field_index("dup_group_id"), "dup_group_id", heirs)
    return dataclasses.replace(state, event_of=event_of, group_of=group_of, duplicate_edges=edges, minhash_index=index)


def apply_withdrawals(state: StoredState, current: list[Article], notices: list[Withdrawal]
                      ) -> tuple[StoredState, list[Article], list[Superseded], list[Withdrawal]]:
    """The state and `current` articles less those a withdrawal notice takes down; the versions
    taken down; and the notices new in this run.

    A story taken down leaves articles, its duplicate group (a copy of it from elsewhere
    becomes the group's canonical) and its event, and is kept in `article_versions`; the
    notices are recorded in `withdrawals`, where they stay in force for later runs.
    """
    earlier = [Withdrawal(**{k: r[k] for k in Withdrawal.__slots__}) for r in state.withdrawals.to_pylist()]
    if not notices and not earlier:
        return state, current, [], []
    shelved = {r["article_id"]: Stamp(r["version"], r["updated_at"])
               for r in state.article_versions.select(["article_id", "version", "updated_at"]).to_pylist()}
    kept, down, recorded = take_down(current, notices, earlier, shelved)
    for notice in recorded:
        notice.event_id = state.event_of.get(notice.taken_down)
    state = rejoin_events(state, kept, [*earlier, *recorded])
    if not down:
        return state, kept, [], recorded
    down_ids = {a.article_id for a in down}
    heir: dict[str, str | None] = {}
    for a in down:
        group = state.group_of.get(a.article_id)
        copies = [c for c in kept if group == a.article_id and state.group_of.get(c.article_id) == group]
        heir[a.article_id] = min(copies, key=canonical_key).article_id if copies else None
    state = hand_over(state, heir)
    state = dataclasses.replace(state, articles=[a for a in state.articles if a.article_id not in down_ids])
    return state, kept, [Superseded(a, None) for a in down], recorded


def rejoin_events(state: StoredState, current: list[Article], notices: list[Withdrawal]) -> StoredState:
    """A story coming back after a withdrawal (a newer version) rejoins the event it left, or the
    event that one was merged into since, so the event id keeps its meaning."""
    left = {n.source_id: n.event_id for n in notices if n.event_id}
    if not left:
        return state
    rows = {r["event_id"]: r for r in state.events.select(["event_id", "status", "merged_into"]).to_pylist()}
    event_of = dict(state.event_of)
    for article in current:
        event_id = left.get(article.source_id)
        if event_id is None or article.article_id in event_of:
            continue
        row = rows.get(event_id)
        if row is not None and row["status"] == "merged" and row["merged_into"]:
            event_id = row["merged_into"]
        event_of[article.article_id] = event_id
    return dataclasses.replace(state, event_of=event_of)
