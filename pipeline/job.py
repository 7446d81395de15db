"""The pieces of one run that sit between stages: previous state in, output tables out.

`flows/` calls these in order; benchmarks and tests can call them without Prefect.
"""
from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa

from pipeline import events as event_stage
from pipeline import store
from pipeline.headlines import has_title, headline_of
from pipeline.inbox import Inbox
from pipeline.cluster import story_document
from pipeline.config import Settings
from pipeline.lexical import keywords
from pipeline.near_duplicates import CANONICAL_REASON, DuplicateResult, canonical_key
from pipeline.storylines import assign_storylines
from pipeline.normalize import normalize
from pipeline.records import Article, DuplicateEdge, RawStory, Reject, utcnow
from pipeline.versions import Stamp, Superseded, Withdrawal, merge_versions, take_down


@dataclass(slots=True)
class StoredState:
    articles: list[Article]
    event_of: dict[str, str]  # article_id -> event_id from the last run
    runs: pa.Table
    rejects: pa.Table
    events: pa.Table  # the last run's events table, merged rows included
    article_versions: pa.Table  # earlier versions of stories
    inbox_log: pa.Table  # files and feed entries already ingested
    group_of: dict[str, str] = field(default_factory=dict)  # article_id -> dup_group_id from the last run
    duplicate_edges: list[DuplicateEdge] = field(default_factory=list)
    minhash_index: pa.Table | None = None
    withdrawals: pa.Table = field(default_factory=store.SCHEMAS["withdrawals"].empty_table)  # notices in force

    def inbox(self) -> Inbox:
        return Inbox.from_table(self.inbox_log)

    @classmethod
    def empty(cls) -> "StoredState":
        """The state of a store nothing was written to yet."""
        return cls([], {}, *(store.SCHEMAS[name].empty_table()
                             for name in ("runs", "rejects", "events", "article_versions", "inbox_log")))


@dataclass(slots=True)
class RunContext:
    run_id: str = field(default_factory=lambda: utcnow().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6])
    started_at: datetime = field(default_factory=utcnow)


def load_state(data_dir) -> StoredState:
    table = store.read_table(data_dir, "articles")
    articles, event_of, group_of = [], {}, {}
    for row in table.to_pylist():
        articles.append(Article(**{k: row[k] for k in Article.__slots__}))
        if row["event_id"]:
            event_of[row["article_id"]] = row["event_id"]
        if row["dup_group_id"]:
            group_of[row["article_id"]] = row["dup_group_id"]
    edges = [DuplicateEdge(**row) for row in store.read_table(data_dir, "duplicates").to_pylist()]
    return StoredState(articles, event_of, *(store.read_table(data_dir, name) for name in (
        "runs", "rejects", "events", "article_versions", "inbox_log")),
        group_of, edges, store.read_table(data_dir, "minhash_index"), store.read_table(data_dir, "withdrawals"))


def stored_duplicates(state: StoredState) -> DuplicateResult:
    """The duplicate groups as the last run wrote them (a rebuild re-clusters, it does not re-fold)."""
    group_of = {a.article_id: state.group_of.get(a.article_id, a.article_id) for a in state.articles}
    return DuplicateResult(state.duplicate_edges, group_of, CANONICAL_REASON)


def new_articles(stories: list[RawStory], state: StoredState, ingested_at: datetime) -> tuple[list[Article], int, list[Reject]]:
    """Normalize stories and keep those not stored yet (ingestion is idempotent by content).

    Returns (new articles, how many were already stored, rejects for stories with no text left).
    """
    known = {a.article_id for a in state.articles} | set(state.article_versions.column("article_id").to_pylist())
    fresh, rejects, n_known = [], [], 0
    for article in normalize(stories, ingested_at):
        if article.article_id in known:
            n_known += 1
        elif not article.text.strip():
            rejects.append(Reject(origin=stories_origin(stories, article.source_id), reason="no story text left after removing boilerplate"))
        else:
            known.add(article.article_id)
            fresh.append(article)
    return fresh, n_known, rejects


def apply_versions(state: StoredState, fresh: list[Article]) -> tuple[list[Article], list[Superseded]]:
    """All current articles after `fresh` ones replace earlier versions of their stories.

    A replacing version takes over its predecessor's event and duplicate group, so both keep
    their ids; the replaced versions leave the duplicate index (a story is never a copy of its
    old self). `state.articles` becomes the stored stories still current. The versions
    replaced are returned for `article_versions`.
    """
    current, superseded = merge_versions(state.articles, fresh)
    hand_over(state, {s.article.article_id: s.superseded_by for s in superseded})
    fresh_ids = {a.article_id for a in fresh}
    state.articles = [a for a in current if a.article_id not in fresh_ids]
    return current, superseded


def hand_over(state: StoredState, heir: dict[str, str | None]) -> None:
    """Articles `heir` names leave the stored state: each one's event and duplicate group pass to
    its heir (a newer version of the story, or another member of its group), or to no one."""
    for old, new in heir.items():
        event_id = state.event_of.pop(old, None)
        if event_id is not None and new is not None:
            state.event_of.setdefault(new, event_id)
    if not any(aid in heir for aid in state.group_of):
        return
    groups = {old: new for old, new in heir.items() if new is not None and old in state.group_of}
    state.group_of = {aid: groups.get(g, g) for aid, g in state.group_of.items() if aid not in heir}
    # an heir that was a copy in its group is now the group's canonical
    state.duplicate_edges = [e for e in state.duplicate_edges
                             if e.article_id not in heir and state.group_of.get(e.article_id) != e.article_id]
    for e in state.duplicate_edges:
        e.duplicate_of = groups.get(e.duplicate_of, e.duplicate_of)
    if state.minhash_index is not None:
        index = state.minhash_index
        index = index.filter(pa.compute.invert(pa.compute.is_in(index["article_id"], pa.array(list(heir), pa.string()))))
        heirs = pa.array([groups.get(g, g) for g in index["dup_group_id"].to_pylist()], pa.string())
        state.minhash_index = index.set_column(index.schema.get_field_index("dup_group_id"), "dup_group_id", heirs)


def split_notices(stories: list[RawStory]) -> tuple[list[RawStory], list[Withdrawal]]:
    """Stories to ingest, and withdrawal notices (which carry no story to store)."""
    return [s for s in stories if not s.is_withdrawal], [Withdrawal.from_story(s) for s in stories if s.is_withdrawal]


def apply_withdrawals(state: StoredState, current: list[Article],
                      notices: list[Withdrawal]) -> tuple[list[Article], list[Superseded], list[Withdrawal]]:
    """`current` articles (`apply_versions`) less those a withdrawal notice takes down.

    A story taken down leaves articles, its duplicate group (a copy of it from elsewhere
    becomes the group's canonical) and its event, and is kept in `article_versions`; the
    notices are recorded in `withdrawals`, where they stay in force for later runs.
    """
    earlier = [Withdrawal(**{k: r[k] for k in Withdrawal.__slots__}) for r in state.withdrawals.to_pylist()]
    if not notices and not earlier:
        return current, [], []
    shelved = {r["article_id"]: Stamp(r["version"], r["updated_at"])
               for r in state.article_versions.select(["article_id", "version", "updated_at"]).to_pylist()}
    kept, down, recorded = take_down(current, notices, earlier, shelved)
    for notice in recorded:
        notice.event_id = state.event_of.get(notice.taken_down)
    rejoin_events(state, kept, [*earlier, *recorded])
    if not down:
        return kept, [], recorded
    down_ids = {a.article_id for a in down}
    heir: dict[str, str | None] = {}
    for a in down:
        group = state.group_of.get(a.article_id)
        copies = [c for c in kept if group == a.article_id and state.group_of.get(c.article_id) == group]
        heir[a.article_id] = min(copies, key=canonical_key).article_id if copies else None
    hand_over(state, heir)
    state.articles = [a for a in state.articles if a.article_id not in down_ids]
    return kept, [Superseded(a, None) for a in down], recorded


def rejoin_events(state: StoredState, current: list[Article], notices: list[Withdrawal]) -> None:
    """A story coming back after a withdrawal (a newer version) rejoins the event it left, or the
    event that one was merged into since, so the event id keeps its meaning."""
    left = {n.source_id: n.event_id for n in notices if n.event_id}
    if not left:
        return
    rows = {r["event_id"]: r for r in state.events.select(["event_id", "status", "merged_into"]).to_pylist()}
    for article in current:
        event_id = left.get(article.source_id)
        if event_id is None or article.article_id in state.event_of:
            continue
        row = rows.get(event_id)
        if row is not None and row["status"] == "merged" and row["merged_into"]:
            event_id = row["merged_into"]
        state.event_of[article.article_id] = event_id


def run_inbox(state: StoredState, windowed: bool) -> Inbox:
    """The inbox a run checks its inputs against.

    A date-windowed run (a backfill) reads its source whole, whatever the log says, and its
    reads are not logged: it takes only part of each file, so later windows must still see them.
    """
    return Inbox() if windowed else state.inbox()


def ingest_tables(ctx: RunContext, state: StoredState, superseded: list[Superseded], inbox_rows: list[dict],
                  notices: list[Withdrawal] = ()) -> dict[str, pa.Table]:
    """The version history, withdrawals and inbox log after this run, for `store.commit` with the other tables."""
    version_rows = [
        {**{k: getattr(s.article, k) for k in Article.__slots__}, "superseded_by": s.superseded_by, "superseded_at": ctx.started_at}
        for s in superseded
    ]
    notice_rows = [{"run_id": ctx.run_id, **{k: getattr(n, k) for k in Withdrawal.__slots__}, "logged_at": ctx.started_at}
                   for n in notices]
    return {
        "article_versions": pa.concat_tables([state.article_versions, store.to_table("article_versions", version_rows)]),
        "withdrawals": pa.concat_tables([state.withdrawals, store.to_table("withdrawals", notice_rows)]),
        "inbox_log": pa.concat_tables([state.inbox_log, store.to_table("inbox_log", [{**r, "run_id": ctx.run_id} for r in inbox_rows])]),
    }


def stories_origin(stories: list[RawStory], source_id: str) -> str:
    return next((s.origin for s in stories if s.source_id == source_id), source_id)


@dataclass(slots=True)
class EventResult:
    event_of: dict[str, str]  # every article -> its event
    merged_into: dict[str, str]  # events absorbed this run -> the event that absorbed them
    storyline_of: dict[str, str]  # active event -> storyline


def assign_events(
    articles: list[Article],
    dups: DuplicateResult,
    vectors: dict[str, np.ndarray],
    state: StoredState,
    settings: Settings,
    rebuild: tuple[datetime | None, datetime | None] | None = None,
) -> EventResult:
    """Events for all stories (incrementally, or rebuilding the range `rebuild`), duplicates
    following their canonical, and storylines over the events.

    Only canonical stories are clustered; each copy takes its canonical's event. Clustered
    along as rows of the window, copies had outvoted the stories around them: a story's reach
    and the window's median reach were measured to copies, so twenty dev stories republished
    thirty times each brought the dev set's B-cubed F1 from 0.950 to 0.22, and the window grew
    with every republication (README, Events).
    """
    canonical_of = dups.group_of
    canonical = [a for a in articles if canonical_of[a.article_id] == a.article_id]
    # a canonical story new to this run inherits the event its group's older members had
    group_events: dict[str, Counter] = {}
    for a in articles:
        if a.article_id in state.event_of:
            group_events.setdefault(canonical_of[a.article_id], Counter())[state.event_of[a.article_id]] += 1
    previous = {c.article_id: state.event_of.get(c.article_id) or group_events[c.article_id].most_common(1)[0][0]
                for c in canonical if c.article_id in state.event_of or c.article_id in group_events}
    known = set(state.events.column("event_id").to_pylist())
    matrix = (np.stack([vectors[a.article_id] for a in canonical]) if canonical
              else np.zeros((0, 0), np.float32))
    if rebuild is None:
        result = event_stage.update_events(canonical, matrix, previous, known, settings)
    else:
        result = event_stage.rebuild_events(canonical, matrix, previous, known, settings, *rebuild)
    event_of = {a.article_id: result.event_of[canonical_of[a.article_id]] for a in articles}

    rows = state.events.select(["event_id", "storyline_id"]).to_pylist()
    previous_storyline = {r["event_id"]: r["storyline_id"] for r in rows if r["storyline_id"]}
    event_time: dict[str, datetime] = {}
    for a in canonical:
        eid, t = event_of[a.article_id], event_stage.story_time(a)
        event_time[eid] = min(event_time.get(eid, t), t)
    storyline_of = assign_storylines({a.article_id: event_of[a.article_id] for a in canonical},
                                     {a.article_id: vectors[a.article_id] for a in canonical},
                                     event_time, previous_storyline, set(previous_storyline.values()), settings)
    return EventResult(event_of, result.merged_into, storyline_of)


def event_rows(
    articles: list[Article],
    dups: DuplicateResult,
    vectors: dict[str, np.ndarray],
    events: EventResult,
    previous_events: pa.Table,
) -> list[dict]:
    """One row per event: active ones labelled from their members, merged ones kept as they were.

    The representative story, whose headline the event takes, is the canonical story closest
    to the others (highest summed cosine) among those with a title, if any has one: a story
    without one offers only its lead sentence (`headlines.headline_of`).
    """
    members: dict[str, list[Article]] = {}
    for a in articles:
        members.setdefault(events.event_of[a.article_id], []).append(a)
    ids = sorted(members)
    canon_of = {eid: [a for a in members[eid] if dups.group_of[a.article_id] == a.article_id] for eid in ids}
    labels = keywords([[story_document(a) for a in canon_of[eid]] for eid in ids])
    rows = []
    for event_id, words in zip(ids, labels):
        group, canon = members[event_id], canon_of[event_id]
        titled = [a for a in canon if has_title(a)] or canon
        if len(canon) > 2 and all(a.article_id in vectors for a in canon):
            mat = np.stack([vectors[a.article_id] for a in canon])
            centrality = dict(zip((a.article_id for a in canon), (mat @ mat.T).sum(axis=1)))
            rep = max(titled, key=lambda a: centrality[a.article_id])
        else:
            rep = min(titled, key=lambda a: (a.published_at is None, a.published_at, a.article_id))
        seen = [a.published_at or a.ingested_at for a in group]
        rows.append({
            "event_id": event_id,
            "headline": headline_of(rep),
            "size": len(group),
            "n_sources": len({a.source for a in group if a.source}),
            "first_seen": min(seen),
            "last_seen": max(seen),
            "representative_article_id": rep.article_id,
            "storyline_id": events.storyline_of.get(event_id),
            "keywords": words,
            "sources": sorted({a.source for a in group if a.source}),
            "status": "active",
            "merged_into": None,
        })
    rows.sort(key=lambda r: (-r["size"], r["first_seen"], r["event_id"]))
    rows.extend(merged_event_rows(previous_events, events, set(members)))
    rows.extend(withdrawn_event_rows(previous_events, events, set(members)))
    return rows


def withdrawn_event_rows(previous_events: pa.Table, events: EventResult, active: set[str]) -> list[dict]:
    """Rows of events left with no story (all taken down), kept so their ids stay resolvable."""
    gone = [r for r in previous_events.to_pylist() if r["event_id"] not in active
            and r["status"] != "merged" and r["event_id"] not in events.merged_into]
    return sorted(({**r, "status": "withdrawn", "size": 0} for r in gone), key=lambda r: r["event_id"])


def merged_event_rows(previous_events: pa.Table, events: EventResult, active: set[str]) -> list[dict]:
    """Rows of absorbed events, pointing (through any chain of merges) at a live event."""
    merged = [r for r in previous_events.to_pylist()
              if r["event_id"] not in active and (r["status"] == "merged" or r["event_id"] in events.merged_into)]
    target = {r["event_id"]: events.merged_into.get(r["event_id"]) or r["merged_into"] for r in merged}
    rows = []
    for r in merged:
        end, hops = target[r["event_id"]], 0
        while end in target and hops < len(target):  # follow A -> B -> C to the live C
            end, hops = target[end], hops + 1
        rows.append({**r, "status": "merged", "merged_into": end,
                     "storyline_id": events.storyline_of.get(end, r["storyline_id"])})
    return sorted(rows, key=lambda r: r["event_id"])


def article_rows(articles: list[Article], dups: DuplicateResult, events: EventResult) -> list[dict]:
    rows = []
    for a in articles:
        group = dups.group_of[a.article_id]
        row = {k: getattr(a, k) for k in Article.__slots__}
        row.update(
            dup_group_id=group,
            is_canonical=group == a.article_id,
            canonical_reason=dups.canonical_reason if group == a.article_id else "",
            event_id=events.event_of[a.article_id],
            storyline_id=events.storyline_of.get(events.event_of[a.article_id]),
        )
        rows.append(row)
    return rows


def output_tables(
    ctx: RunContext,
    inputs: str,
    parameters: dict,
    state: StoredState,
    all_articles: list[Article],
    dups: DuplicateResult,
    events: EventResult,
    vectors: dict[str, np.ndarray],
    rejects: list[Reject],
    counts: dict[str, int],
) -> dict[str, pa.Table]:
    """Every table of the output contract for this run, ready for `store.commit`."""
    event_table = event_rows(all_articles, dups, vectors, events, state.events)
    active = [r for r in event_table if r["status"] == "active"]
    run_row = {
        "run_id": ctx.run_id,
        "started_at": ctx.started_at,
        "finished_at": utcnow(),
        "inputs": inputs,
        "parameters": json.dumps(parameters, default=str, sort_keys=True),
        "n_rejects": len(rejects),
        "n_exact_duplicates": sum(e.method == "exact" for e in dups.edges),
        "n_near_duplicates": sum(e.method != "exact" for e in dups.edges),
        "n_events": len(active),
        "n_articles_total": len(all_articles),
        **counts,
    }
    reject_rows = [{"run_id": ctx.run_id, "origin": r.origin, "reason": r.reason, "rejected_at": r.rejected_at} for r in rejects]
    index = {"minhash_index": dups.index} if dups.index is not None else {}
    return {
        **index,
        "articles": store.to_table("articles", article_rows(all_articles, dups, events)),
        "duplicates": store.to_table("duplicates", [
            {k: getattr(e, k) for k in e.__slots__} for e in dups.edges
        ]),
        "events": store.to_table("events", event_table),
        "storylines": store.to_table("storylines", storyline_rows(active)),
        "runs": pa.concat_tables([state.runs, store.to_table("runs", [run_row])]),
        "rejects": pa.concat_tables([state.rejects, store.to_table("rejects", reject_rows)]),
    }


def storyline_rows(active_events: list[dict]) -> list[dict]:
    """One row per storyline, labelled by its largest event; keywords pooled over its events:
    those more of its events share first, then in the order of the largest events' own."""
    groups: dict[str, list[dict]] = {}
    for e in active_events:  # already sorted largest first
        groups.setdefault(e["storyline_id"], []).append(e)
    rows = []
    for storyline_id, group in groups.items():
        pooled = Counter(k for e in group for k in e["keywords"])  # insertion order: largest event's first
        rank = {k: i for i, k in enumerate(pooled)}
        rows.append({
            "storyline_id": storyline_id,
            "headline": group[0]["headline"],
            "n_events": len(group),
            "size": sum(e["size"] for e in group),
            "first_seen": min(e["first_seen"] for e in group),
            "last_seen": max(e["last_seen"] for e in group),
            "keywords": sorted(pooled, key=lambda k: (-pooled[k], rank[k]))[:8],
        })
    rows.sort(key=lambda r: (-r["size"], r["first_seen"], r["storyline_id"]))
    return rows


def counted(n: int, one: str, many: str | None = None) -> str:
    """`n` with its noun: "1 story", "3 stories"."""
    return f"{n} {one if n == 1 else many or one + 's'}"


def summary_text(tables: dict[str, pa.Table], run_id: str) -> str:
    """A short report of one run for a terminal or a Prefect artifact."""
    run = tables["runs"].filter(pa.compute.equal(tables["runs"]["run_id"], run_id)).to_pylist()[0]
    # the largest first: the twenty listed are the ones an editor would look at
    events = sorted((e for e in tables["events"].to_pylist() if e["status"] == "active"),
                    key=lambda e: (-e["size"], e["event_id"]))
    lines = [
        f"run {run_id}",
        f"  stories read: {run['n_stories_read']}   new: {run['n_new_articles']}   "
        f"already stored: {run['n_already_stored']}   earlier versions replaced: {run['n_superseded'] or 0}   "
        f"taken down: {run['n_withdrawn'] or 0}   "
        f"rejected: {run['n_rejects']}",
        f"  duplicates: {run['n_exact_duplicates']} exact, {run['n_near_duplicates']} near   "
        f"articles stored: {run['n_articles_total']}   events: {run['n_events']}   "
        f"storylines: {tables['storylines'].num_rows}",
    ]
    for r in events[:20]:
        lines.append(f"  [{r['event_id']}] {counted(r['size'], 'story', 'stories')}, "
                     f"{counted(r['n_sources'], 'source') if r['n_sources'] else 'source unknown'}: "
                     f"{r['headline'][:90]}")
    rejects = tables["rejects"].filter(pa.compute.equal(tables["rejects"]["run_id"], run_id)).to_pylist()
    for r in rejects:
        lines.append(f"  reject {r['origin']}: {r['reason']}")
    return "\n".join(lines)
