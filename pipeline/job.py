"""The pieces of one run that sit between stages: previous state in, output tables out.

`flows/` calls these in order; benchmarks and tests can call them without Prefect.
"""
from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyarrow as pa

from pipeline import store
from pipeline.near_duplicates import DuplicateResult
from pipeline.normalize import normalize
from pipeline.records import Article, DuplicateEdge, RawStory, Reject, utcnow

SENTENCE_END = re.compile(r"(?<=[.!?])\s")


@dataclass(slots=True)
class StoredState:
    articles: list[Article]
    event_of: dict[str, str]  # article_id -> event_id from the last run
    runs: pa.Table
    rejects: pa.Table
    group_of: dict[str, str] = field(default_factory=dict)  # article_id -> dup_group_id from the last run
    duplicate_edges: list[DuplicateEdge] = field(default_factory=list)
    minhash_index: pa.Table | None = None


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
    return StoredState(articles, event_of, store.read_table(data_dir, "runs"), store.read_table(data_dir, "rejects"),
                       group_of, edges, store.read_table(data_dir, "minhash_index"))


def new_articles(stories: list[RawStory], state: StoredState, ingested_at: datetime) -> tuple[list[Article], int, list[Reject]]:
    """Normalize stories and keep those not stored yet (ingestion is idempotent by content).

    Returns (new articles, how many were already stored, rejects for stories with no text left).
    """
    known = {a.article_id for a in state.articles}
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


def stories_origin(stories: list[RawStory], source_id: str) -> str:
    return next((s.origin for s in stories if s.source_id == source_id), source_id)


def lead_sentence(text: str, limit: int = 140) -> str:
    first = SENTENCE_END.split(text.strip().split("\n", 1)[0], maxsplit=1)[0]
    return first if len(first) <= limit else first[: limit - 1].rsplit(" ", 1)[0] + "…"


def headline_of(article: Article) -> str:
    return article.title or lead_sentence(article.text)


def event_rows(
    articles: list[Article],
    event_of: dict[str, str],
    dups: DuplicateResult,
    vectors: dict[str, np.ndarray],
) -> list[dict]:
    """One row per event; the representative is the canonical story closest to the others."""
    members: dict[str, list[Article]] = {}
    for a in articles:
        members.setdefault(event_of[a.article_id], []).append(a)
    rows = []
    for event_id, group in members.items():
        canon = [a for a in group if dups.group_of[a.article_id] == a.article_id]
        if len(canon) > 2 and all(a.article_id in vectors for a in canon):
            mat = np.stack([vectors[a.article_id] for a in canon])
            rep = canon[int(np.argmax((mat @ mat.T).sum(axis=1)))]
        else:
            rep = min(canon, key=lambda a: (a.published_at is None, a.published_at, a.article_id))
        seen = [a.published_at or a.ingested_at for a in group]
        rows.append({
            "event_id": event_id,
            "headline": headline_of(rep),
            "size": len(group),
            "n_sources": len({a.source or a.url or a.source_id for a in group}),
            "first_seen": min(seen),
            "last_seen": max(seen),
            "representative_article_id": rep.article_id,
        })
    rows.sort(key=lambda r: (-r["size"], r["first_seen"], r["event_id"]))
    return rows


def article_rows(articles: list[Article], dups: DuplicateResult, event_of: dict[str, str]) -> list[dict]:
    rows = []
    for a in articles:
        group = dups.group_of[a.article_id]
        row = {k: getattr(a, k) for k in Article.__slots__}
        row.update(
            dup_group_id=group,
            is_canonical=group == a.article_id,
            canonical_reason=dups.canonical_reason if group == a.article_id else "",
            event_id=event_of[a.article_id],
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
    event_of: dict[str, str],
    vectors: dict[str, np.ndarray],
    rejects: list[Reject],
    counts: dict[str, int],
) -> dict[str, pa.Table]:
    """Every table of the output contract for this run, ready for `store.commit`."""
    events = event_rows(all_articles, event_of, dups, vectors)
    run_row = {
        "run_id": ctx.run_id,
        "started_at": ctx.started_at,
        "finished_at": utcnow(),
        "inputs": inputs,
        "parameters": json.dumps(parameters, default=str, sort_keys=True),
        "n_rejects": len(rejects),
        "n_exact_duplicates": sum(e.method == "exact" for e in dups.edges),
        "n_near_duplicates": sum(e.method != "exact" for e in dups.edges),
        "n_events": len(events),
        "n_articles_total": len(all_articles),
        **counts,
    }
    reject_rows = [{"run_id": ctx.run_id, "origin": r.origin, "reason": r.reason, "rejected_at": r.rejected_at} for r in rejects]
    index = {"minhash_index": dups.index} if dups.index is not None else {}
    return {
        **index,
        "articles": store.to_table("articles", article_rows(all_articles, dups, event_of)),
        "duplicates": store.to_table("duplicates", [
            {k: getattr(e, k) for k in e.__slots__} for e in dups.edges
        ]),
        "events": store.to_table("events", events),
        "runs": pa.concat_tables([state.runs, store.to_table("runs", [run_row])]),
        "rejects": pa.concat_tables([state.rejects, store.to_table("rejects", reject_rows)]),
    }


def summary_text(tables: dict[str, pa.Table], run_id: str) -> str:
    """A short report of one run for a terminal or a Prefect artifact."""
    run = tables["runs"].filter(pa.compute.equal(tables["runs"]["run_id"], run_id)).to_pylist()[0]
    events = tables["events"].to_pylist()
    lines = [
        f"run {run_id}",
        f"  stories read: {run['n_stories_read']}   new: {run['n_new_articles']}   "
        f"already stored: {run['n_already_stored']}   rejected: {run['n_rejects']}",
        f"  duplicates: {run['n_exact_duplicates']} exact, {run['n_near_duplicates']} near   "
        f"articles stored: {run['n_articles_total']}   events: {run['n_events']}",
    ]
    for r in events[:20]:
        lines.append(f"  [{r['event_id']}] {r['size']} stories, {r['n_sources']} sources: {r['headline'][:90]}")
    rejects = tables["rejects"].filter(pa.compute.equal(tables["rejects"]["run_id"], run_id)).to_pylist()
    for r in rejects:
        lines.append(f"  reject {r['origin']}: {r['reason']}")
    return "\n".join(lines)
