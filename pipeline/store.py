"""Store: the Parquet output contract, written atomically.

Each table is a folder (``data/articles/`` ...) holding one Parquet file, so a plain
Parquet read of the folder gives the current state. A commit first writes every new
file under a hidden temporary name, then records the planned renames in a journal,
then renames. If a run dies before the journal is written, the old state stands; if it
dies during the renames, the next ``open`` finishes them. Readers never see a half file.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

TS = pa.timestamp("us", tz="UTC")

ARTICLE_FIELDS = [
    ("article_id", pa.string()),
    ("source_id", pa.string()),  # the story's guid
    ("title", pa.string()),
    ("text", pa.string()),
    ("original_text", pa.string()),
    ("source", pa.string()),
    ("url", pa.string()),
    ("published_at", TS),
    ("ingested_at", TS),
    ("content_hash", pa.string()),
]
VERSION_FIELDS = [
    ("version", pa.int64()),
    ("byline", pa.string()),
    ("language", pa.string()),
    ("updated_at", TS),
    ("embargoed", TS),  # not to be published before this time; null: no embargo
]

SCHEMAS: dict[str, pa.Schema] = {
    "articles": pa.schema([
        *ARTICLE_FIELDS,
        ("dup_group_id", pa.string()),
        ("is_canonical", pa.bool_()),
        ("canonical_reason", pa.string()),
        ("event_id", pa.string()),
        ("storyline_id", pa.string()),
        *VERSION_FIELDS,
    ]),
    # every version of a story that is no longer current (replaced, or arrived outdated)
    "article_versions": pa.schema([
        *ARTICLE_FIELDS,
        *VERSION_FIELDS,
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
    # files and feed entries ingested, so that each is read once (see pipeline/inbox.py)
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
        ("n_exact_duplicates", pa.int64()),
        ("n_near_duplicates", pa.int64()),
        ("n_events", pa.int64()),
        ("n_articles_total", pa.int64()),
    ]),
    # hidden (a leading "_": plain Parquet readers skip it): the near-duplicate index, written
    # in the same commit as the tables so it never disagrees with them
    "minhash_index": pa.schema([
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

JOURNAL = "_commit.json"
FOLDERS = {"minhash_index": "_minhash_index"}  # tables stored under another folder name


def table_file(data_dir: Path, name: str) -> Path:
    return Path(data_dir) / FOLDERS.get(name, name) / f"{name}.parquet"


def recover(data_dir: Path) -> None:
    """Finish a commit that was interrupted during its renames."""
    journal = Path(data_dir) / JOURNAL
    if not journal.exists():
        return
    for tmp, final in json.loads(journal.read_text()):
        if Path(tmp).exists():
            os.replace(tmp, final)
    journal.unlink()


def read_table(data_dir: Path, name: str) -> pa.Table:
    """Current contents of a table (empty with its schema if never written)."""
    recover(data_dir)
    path = table_file(data_dir, name)
    if not path.exists():
        return SCHEMAS[name].empty_table()
    return pq.read_table(path, schema=SCHEMAS[name])


def to_table(name: str, rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=SCHEMAS[name])


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_hidden(final: Path, table: pa.Table) -> Path:
    """Write `table` durably beside `final` under a hidden temporary name; return that name."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.tmp"
    pq.write_table(table, tmp, compression="zstd")
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    return tmp


def write_parquet(final: Path, table: pa.Table) -> None:
    """Replace one file atomically (for files outside the table contract, such as caches)."""
    os.replace(write_hidden(Path(final), table), final)


def commit(data_dir: Path, tables: dict[str, pa.Table]) -> None:
    """Replace the given tables together, atomically per file and recoverably as a set."""
    data_dir = Path(data_dir)
    recover(data_dir)
    plan: list[tuple[str, str]] = []
    for name, table in tables.items():
        final = table_file(data_dir, name)
        plan.append((str(write_hidden(final, table.cast(SCHEMAS[name]))), str(final)))
    journal = data_dir / JOURNAL
    journal_tmp = data_dir / f".{JOURNAL}.tmp"
    journal_tmp.write_text(json.dumps(plan))
    os.replace(journal_tmp, journal)  # the commit point
    _fsync_dir(data_dir)
    recover(data_dir)
