"""Tables: the rows one run writes, from the stored state and what the stages found."""
from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pyarrow as pa

from pipeline.dedup import DuplicateResult, quality
from pipeline.events.assign import EventResult
from pipeline.events.labels import event_labels, has_title, headline_of
from pipeline.events.similarity import story_document
from pipeline.ingest.versions import Superseded, Withdrawal
from pipeline.records import Article, Reject, utcnow
from pipeline.store.schema import to_table
from pipeline.store.state import StoredState


@dataclass(frozen=True, slots=True)
class FlowRunRef:
    """The orchestrator's run (a Prefect flow run) that ran a pipeline run, for the runs table."""

    id: str
    url: str | None = None  # its page in a UI that outlives the run; None when there is none


def new_run_id() -> str:
    return utcnow().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]


@dataclass(slots=True)
class RunContext:
    run_id: str = field(default_factory=new_run_id)
    started_at: datetime = field(default_factory=utcnow)
    kind: str = "ingest"  # the runs table's kind: ingest, backfill, recluster
    flow_run: FlowRunRef | None = None
    published_from: date | None = None  # a backfill's publication days
    published_to: date | None = None


def ingest_tables(ctx: RunContext, state: StoredState, superseded: list[Superseded], inbox_rows: list[dict],
                  notices: list[Withdrawal] = ()) -> dict[str, pa.Table]:
    """The version history, withdrawals and inbox log after this run, committed with the other tables."""
    version_rows = [
        {**{k: getattr(s.article, k) for k in Article.__slots__}, "superseded_by": s.superseded_by, "superseded_at": ctx.started_at}
        for s in superseded
    ]
    notice_rows = [{"run_id": ctx.run_id, **{k: getattr(n, k) for k in Withdrawal.__slots__}, "logged_at": ctx.started_at}
                   for n in notices]
    added = {"article_versions": (state.article_versions, version_rows), "withdrawals": (state.withdrawals, notice_rows),
             "inbox_log": (state.inbox_log, [{**r, "run_id": ctx.run_id} for r in inbox_rows])}
    # a table this run adds nothing to is carried over from the snapshot it read, not written again
    return {name: pa.concat_tables([before, to_table(name, rows)]) for name, (before, rows) in added.items() if rows}


def event_rows(
    articles: list[Article],
    dups: DuplicateResult,
    vectors: dict[str, np.ndarray],
    events: EventResult,
    previous_events: pa.Table,
) -> list[dict]:
    """One row per event: active ones labelled from their members, merged ones kept as they were.

    The representative story, whose headline the event takes, is the canonical story closest
    to the others (highest summed cosine) among the least damaged (`dedup.quality`, misread words
    counted against the words of the event's canonical stories) of those with a title, if any
    has one: a story without one offers only its lead sentence (`labels.headline_of`).
    """
    members: dict[str, list[Article]] = {}
    for a in articles:
        members.setdefault(events.event_of[a.article_id], []).append(a)
    ids = sorted(members)
    canon_of = {eid: [a for a in members[eid] if dups.group_of[a.article_id] == a.article_id] for eid in ids}
    labels = event_labels([[story_document(a) for a in canon_of[eid]] for eid in ids])
    rows = []
    for event_id, label in zip(ids, labels):
        group, canon = members[event_id], canon_of[event_id]
        titled = [a for a in canon if has_title(a)] or canon
        if len(titled) > 1:  # the least damaged read first: a scanned or scrambled story never heads an event
            vocab = quality.vocabulary(a.text for a in canon)
            step = {a.article_id: quality.damage_step(a, vocab) for a in titled}
            titled = [a for a in titled if step[a.article_id] == min(step.values())]
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
            "keywords": label.keywords,
            "people": label.people,
            "organisations": label.organisations,
            "places": label.places,
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
    """Every table of the output contract for this run, ready to commit."""
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
        "kind": ctx.kind,
        "flow_run_id": ctx.flow_run.id if ctx.flow_run else None,
        "flow_run_url": ctx.flow_run.url if ctx.flow_run else None,
        "published_from": ctx.published_from,
        "published_to": ctx.published_to,
        **counts,
    }
    reject_rows = [{"run_id": ctx.run_id, "origin": r.origin, "reason": r.reason, "rejected_at": r.rejected_at} for r in rejects]
    index = {"_minhash_index": dups.index} if dups.index is not None else {}
    return {
        **index,
        "articles": to_table("articles", article_rows(all_articles, dups, events)),
        "duplicates": to_table("duplicates", [
            {k: getattr(e, k) for k in e.__slots__} for e in dups.edges
        ]),
        "events": to_table("events", event_table),
        "storylines": to_table("storylines", storyline_rows(active)),
        "runs": pa.concat_tables([state.runs, to_table("runs", [run_row])]),
        "rejects": pa.concat_tables([state.rejects, to_table("rejects", reject_rows)]),
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
