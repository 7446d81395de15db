"""The output contract: one Arrow schema per table, written once.

The story columns of `articles` and `article_versions` come from `records.Article`, so a field
added there is stored without a second list to keep in step.
"""
from __future__ import annotations

import dataclasses
import typing
from datetime import datetime

import pyarrow as pa

from pipeline.records import Article

TS = pa.timestamp("us", tz="UTC")
_ARROW_OF = {str: pa.string(), datetime: TS, int: pa.int64(), bool: pa.bool_()}


def _arrow_type(hint) -> pa.DataType:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    return _ARROW_OF[args[0] if args else hint]


_HINTS = typing.get_type_hints(Article)
ARTICLE_FIELDS = [(f.name, _arrow_type(_HINTS[f.name])) for f in dataclasses.fields(Article)]

SCHEMAS: dict[str, pa.Schema] = {
    # one row per story: its current version
    "articles": pa.schema([
        *ARTICLE_FIELDS,
        ("dup_group_id", pa.string()),  # article_id of its group's canonical story
        ("is_canonical", pa.bool_()),
        ("canonical_reason", pa.string()),
        ("event_id", pa.string()),
        ("storyline_id", pa.string()),
    ]),
    # every version of a story that is no longer current (replaced, or arrived outdated)
    "article_versions": pa.schema([
        *ARTICLE_FIELDS,
        # article_id of the version current when this one was shelved; null: taken down by a
        # withdrawal notice (see `withdrawals`)
        ("superseded_by", pa.string()),
        ("superseded_at", TS),
    ]),
    # notices that took stories down (IPTC pubstatus withheld / canceled), as sent
    "withdrawals": pa.schema([
        ("run_id", pa.string()),
        ("source_id", pa.string()),  # the story's guid
        ("pubstatus", pa.string()),  # "withheld" or "canceled"
        ("version", pa.int64()),
        ("updated_at", TS),
        ("origin", pa.string()),  # file (and line) or feed it came from
        ("taken_down", pa.string()),  # article_id of the version it took down; null if none was held
        ("event_id", pa.string()),  # the event that version left (a newer version coming back rejoins it)
        ("logged_at", TS),
    ]),
    # files and feed entries ingested, so that each is read once (see pipeline/ingest/inbox.py)
    "inbox_log": pa.schema([
        ("run_id", pa.string()),
        ("kind", pa.string()),  # "file" or "entry"
        ("location", pa.string()),  # absolute path, or feed URL
        ("size", pa.int64()),
        ("sha256", pa.string()),
        ("guid", pa.string()),
        ("version", pa.string()),
        ("outcome", pa.string()),  # "read" or "rejected"
        ("logged_at", TS),
    ]),
    "duplicates": pa.schema([
        ("article_id", pa.string()),
        ("duplicate_of", pa.string()),
        ("similarity", pa.float64()),
        ("method", pa.string()),
        ("jaccard", pa.float64()),
        ("containment", pa.float64()),
        ("char_containment", pa.float64()),
        ("rule", pa.string()),
    ]),
    "events": pa.schema([
        ("event_id", pa.string()),
        ("headline", pa.string()),
        ("size", pa.int64()),
        ("n_sources", pa.int64()),
        ("first_seen", TS),
        ("last_seen", TS),
        ("representative_article_id", pa.string()),
        ("storyline_id", pa.string()),
        ("keywords", pa.list_(pa.string())),
        ("sources", pa.list_(pa.string())),
        # "active"; "merged" into `merged_into`; "withdrawn": every story of it was taken down
        ("status", pa.string()),
        ("merged_into", pa.string()),
        # the names its stories mention most, by kind (pipeline/events/names.py), for filtering by
        ("people", pa.list_(pa.string())),
        ("organisations", pa.list_(pa.string())),
        ("places", pa.list_(pa.string())),
    ]),
    "storylines": pa.schema([
        ("storyline_id", pa.string()),
        ("headline", pa.string()),
        ("n_events", pa.int64()),
        ("size", pa.int64()),
        ("first_seen", TS),
        ("last_seen", TS),
        ("keywords", pa.list_(pa.string())),
    ]),
    # one row per run; the n_ columns count what this run did, except the four marked "store"
    # (totals after it). Columns after n_articles_total were added later: null in older rows.
    "runs": pa.schema([
        ("run_id", pa.string()),
        ("started_at", TS),
        ("finished_at", TS),
        ("inputs", pa.string()),
        ("parameters", pa.string()),  # JSON of the settings used
        ("n_input_files", pa.int64()),
        ("n_stories_read", pa.int64()),
        ("n_new_articles", pa.int64()),
        ("n_already_stored", pa.int64()),
        ("n_superseded", pa.int64()),  # versions moved to article_versions by this run
        ("n_withdrawn", pa.int64()),  # stories taken down by withdrawal notices in this run
        ("n_rejects", pa.int64()),
        ("n_exact_duplicates", pa.int64()),  # store: copy links of the exact kind
        ("n_near_duplicates", pa.int64()),  # store: copy links of every other kind
        ("n_events", pa.int64()),  # store: active events
        ("n_articles_total", pa.int64()),  # store: current stories
        ("kind", pa.string()),  # "ingest", "backfill" (a published-date window), "recluster" or "rollback"
        ("flow_run_id", pa.string()),  # the orchestrator's run (Prefect flow run) that ran it; null if none
        ("flow_run_url", pa.string()),  # its page in the orchestrator's UI, where there is a lasting one
        ("n_inputs_seen", pa.int64()),  # inputs skipped because an earlier run ingested them
        ("n_outside_window", pa.int64()),  # stories read but outside a backfill's dates (or undated)
        ("n_new_copies", pa.int64()),  # new stories found to be copies of another
        ("n_events_created", pa.int64()),
        ("n_events_updated", pa.int64()),  # gained or lost stories
        ("n_events_split", pa.int64()),  # gave stories to other events (re-cluster)
        ("n_events_merged", pa.int64()),  # absorbed another event
        ("n_events_withdrawn", pa.int64()),  # every story taken down
        ("n_stories_moved", pa.int64()),  # stories that changed event
        ("rolled_back_to", pa.int64()),  # a rollback: the snapshot made current again
        ("published_from", pa.date32()),  # a backfill: the first publication day it took (UTC)
        ("published_to", pa.date32()),  # and the last
    ]),
    # hidden (a leading "_": plain Parquet readers of the folder skip it): the copy index,
    # committed with the tables so it never disagrees with them; derived, rebuilt if unreadable
    "_minhash_index": pa.schema([
        ("article_id", pa.string()),
        ("content_hash", pa.string()),
        ("dup_group_id", pa.string()),
        ("seen_at", TS),
        ("sketch", pa.string()),  # which MinHash parameters made the signature
        ("signature", pa.list_(pa.uint32())),
    ]),
    "rejects": pa.schema([
        ("run_id", pa.string()),
        ("origin", pa.string()),
        ("reason", pa.string()),
        ("rejected_at", TS),
    ]),
}

# Tables a reader of the output sees (the hidden copy index is the pipeline's own).
PUBLIC_TABLES = tuple(name for name in SCHEMAS if not name.startswith("_"))


def empty_table(name: str) -> pa.Table:
    return SCHEMAS[name].empty_table()


def to_table(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMAS[name])
