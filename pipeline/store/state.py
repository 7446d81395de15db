"""The stored state a run starts from, read from one snapshot."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pyarrow as pa

from pipeline.dedup import CANONICAL_REASON, DuplicateResult
from pipeline.ingest.inbox import Inbox
from pipeline.records import Article, DuplicateEdge
from pipeline.store.schema import empty_table
from pipeline.store.snapshots import Snapshot, StoreError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StoredState:
    """What the previous runs left: the current stories with their groups and events, and the
    tables runs only append to. Stages never change it in place: they return a new one."""

    articles: list[Article]
    event_of: dict[str, str]  # article_id -> event_id
    group_of: dict[str, str]  # article_id -> dup_group_id
    duplicate_edges: list[DuplicateEdge]
    minhash_index: pa.Table | None  # None: to be rebuilt from the stories' texts
    events: pa.Table  # events table, merged and withdrawn rows included
    runs: pa.Table
    rejects: pa.Table
    article_versions: pa.Table  # earlier versions of stories
    withdrawals: pa.Table  # notices in force
    inbox_log: pa.Table  # files and feed entries already ingested
    snapshot_id: int | None = None  # the snapshot it was read from
    inbox: Inbox = field(default_factory=Inbox)

    @classmethod
    def empty(cls) -> "StoredState":
        """The state of a store nothing was written to yet."""
        return cls([], {}, {}, [], None, *(empty_table(name) for name in (
            "events", "runs", "rejects", "article_versions", "withdrawals", "inbox_log")))

    def duplicates(self) -> DuplicateResult:
        """The duplicate groups as stored (a re-cluster re-clusters events, it does not re-fold copies)."""
        group_of = {a.article_id: self.group_of.get(a.article_id, a.article_id) for a in self.articles}
        return DuplicateResult(self.duplicate_edges, group_of, CANONICAL_REASON)


def load_state(snapshot: Snapshot) -> StoredState:
    """The state recorded in `snapshot`; a missing or unreadable table stops the run (by name),
    except the copy index, which is derived and rebuilt."""
    return _state_of(snapshot.read, snapshot.tables, snapshot.id)


def state_after(before: StoredState, tables: dict[str, pa.Table]) -> StoredState:
    """The state the next run would load once `tables` are committed over `before`, without a
    store (benchmarks chain runs in memory)."""
    kept = {"events": before.events, "runs": before.runs, "rejects": before.rejects,
            "article_versions": before.article_versions, "withdrawals": before.withdrawals,
            "inbox_log": before.inbox_log, "_minhash_index": before.minhash_index}
    merged = {name: table for name, table in {**kept, **tables}.items() if table is not None}
    return _state_of(lambda name: merged[name] if name in merged else empty_table(name), merged, before.snapshot_id)


def _state_of(read, present, snapshot_id: int | None) -> StoredState:
    table = read("articles")
    articles, event_of, group_of = [], {}, {}
    for row in table.to_pylist():
        articles.append(Article(**{k: row[k] for k in Article.__slots__}))
        if row["event_id"]:
            event_of[row["article_id"]] = row["event_id"]
        if row["dup_group_id"]:
            group_of[row["article_id"]] = row["dup_group_id"]
    edges = [DuplicateEdge(**row) for row in read("duplicates").to_pylist()]
    try:
        index = read("_minhash_index") if "_minhash_index" in present else None
    except StoreError as exc:
        log.warning("%s; the copy index is rebuilt from the stored stories", exc)
        index = None
    inbox_log = read("inbox_log")
    return StoredState(
        articles, event_of, group_of, edges, index,
        *(read(name) for name in ("events", "runs", "rejects", "article_versions", "withdrawals")),
        inbox_log, snapshot_id, Inbox.from_table(inbox_log),
    )
