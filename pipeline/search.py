"""Full-text search over events: headlines, names and story text, any word order, ranked.

The index is an SQLite FTS5 database (SQLite ships with Python), one per snapshot
(``snapshots/N/search.sqlite``), derived from the snapshot's `articles` and `events` tables:

    stories   title and text of every current story (rowid -> story_rows: article id, event id)
    events    headline and names (keywords, people, organisations, places) of every live event

A run builds its snapshot's index from the previous snapshot's (`build_file`): stories are
immutable under their id, so only new stories are tokenized, stories gone are unlinked and
stories that moved to another event are re-pointed; the small events part is rebuilt whole.
The story index holds no text (FTS5 contentless, column detail): the tables hold it.
A reader without an index file (an older store) builds one in memory (`build`).

A query matches events whose headline and names, or one of whose stories, hold every word of
it, each word also as the start of a longer one ("iran" finds "Iranian"), in any order.
"""
from __future__ import annotations

import math
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

FILE = "search.sqlite"
VERSION = "1"
TOKENIZER = "unicode61 remove_diacritics 2"
# bm25 weights: a word in a headline says more than one in a title, which says more than one in the text
EVENT_WEIGHTS = (0.0, 4.0, 3.0)  # event_id (unindexed), headline, names
STORY_WEIGHTS = (2.0, 1.0)  # title, text
MAX_UNLINKED_SHARE = 0.2
QUERY_WORD = re.compile(r"\w+", re.UNICODE)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE VIRTUAL TABLE IF NOT EXISTS stories USING fts5(title, text, tokenize = '{TOKENIZER}', content = '', detail = column);
CREATE TABLE IF NOT EXISTS story_rows (id INTEGER PRIMARY KEY, article_id TEXT UNIQUE NOT NULL, event_id TEXT);
CREATE INDEX IF NOT EXISTS story_rows_event ON story_rows (event_id);
CREATE VIRTUAL TABLE IF NOT EXISTS events USING fts5(event_id UNINDEXED, headline, names, tokenize = '{TOKENIZER}');
"""


@dataclass(frozen=True, slots=True)
class Update:
    added: int  # stories tokenized
    removed: int
    moved: int  # stories re-pointed to another event
    events: int


def _names(row: dict) -> str:
    parts = []
    for column in ("keywords", "people", "organisations", "places"):
        parts.extend(row.get(column) or [])
    return " · ".join(dict.fromkeys(parts))


def _worth_updating(con: sqlite3.Connection) -> bool:
    """An index of this version, readable, with few unlinked stories (else a new one is smaller)."""
    try:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        linked = con.execute("SELECT count(*) FROM story_rows").fetchone()[0]
    except sqlite3.DatabaseError:
        return False
    return meta.get("version") == VERSION and int(meta.get("unlinked", 0)) <= MAX_UNLINKED_SHARE * max(linked, 1)


def update(con: sqlite3.Connection, articles: pa.Table, events: pa.Table) -> Update:
    """Bring the index in `con` (empty, or built for an earlier snapshot) in line with `articles` and `events`."""
    con.executescript(SCHEMA)
    con.execute("INSERT OR REPLACE INTO meta VALUES ('version', ?)", (VERSION,))
    con.execute("INSERT OR IGNORE INTO meta VALUES ('unlinked', '0')")
    indexed = dict(con.execute("SELECT article_id, event_id FROM story_rows").fetchall())
    wanted = dict(zip(articles.column("article_id").to_pylist(), articles.column("event_id").to_pylist()))
    gone = [a for a in indexed if a not in wanted]
    moved = [(e, a) for a, e in wanted.items() if a in indexed and indexed[a] != e]
    new = {a for a in wanted if a not in indexed}
    with con:
        # the index keeps no text (contentless), so a story gone is only unlinked: its words stay
        # in the index, matching no story; `build_file` starts afresh once they are many
        for chunk in range(0, len(gone), 500):
            ids = gone[chunk:chunk + 500]
            con.execute(f"DELETE FROM story_rows WHERE article_id IN ({','.join('?' * len(ids))})", ids)
        if gone:
            con.execute("UPDATE meta SET value = CAST(value AS INTEGER) + ? WHERE key = 'unlinked'", (len(gone),))
        con.executemany("UPDATE story_rows SET event_id = ? WHERE article_id = ?", moved)
        if new:
            keep = pa.array([a in new for a in articles.column("article_id").to_pylist()])
            rows = articles.filter(keep).select(["article_id", "event_id", "title", "text"]).to_pylist()
            start = (con.execute("SELECT max(id) FROM story_rows").fetchone()[0] or 0) + 1
            con.executemany("INSERT INTO story_rows (id, article_id, event_id) VALUES (?, ?, ?)",
                            ((start + i, r["article_id"], r["event_id"]) for i, r in enumerate(rows)))
            con.executemany("INSERT INTO stories (rowid, title, text) VALUES (?, ?, ?)",
                            ((start + i, r["title"] or "", r["text"] or "") for i, r in enumerate(rows)))
        con.execute("DELETE FROM events")
        live = [r for r in events.to_pylist() if (r.get("status") or "active") == "active"]
        con.executemany("INSERT INTO events (event_id, headline, names) VALUES (?, ?, ?)",
                        ((r["event_id"], r.get("headline") or "", _names(r)) for r in live))
    return Update(len(new), len(gone), len(moved), len(live))


def build(articles: pa.Table, events: pa.Table, path: Path | str = ":memory:") -> sqlite3.Connection:
    """A new index of `articles` and `events` at `path` (default: in memory), open."""
    con = sqlite3.connect(str(path), check_same_thread=False)
    update(con, articles, events)
    return con


def build_file(path: Path, earlier: Path | None, articles: pa.Table, events: pa.Table) -> Update:
    """Write the index of `articles` and `events` to `path`, starting from the index at `earlier`
    (the previous snapshot's) where there is a readable one of this version."""
    path = Path(path)
    if earlier is not None and Path(earlier).is_file():
        shutil.copyfile(earlier, path)
        con = sqlite3.connect(str(path))
        if not _worth_updating(con):  # unreadable, of another version, or mostly stale: start afresh
            con.close()
            path.unlink()
            con = sqlite3.connect(str(path))
    else:
        con = sqlite3.connect(str(path))
    try:
        done = update(con, articles, events)
        con.execute("PRAGMA optimize")
    finally:
        con.close()
    return done


def build_for_run(path: Path, earlier: Path | None, tables: dict[str, pa.Table]) -> Update:
    """`build_file` over a run's tables (for `Writer.derive`)."""
    return build_file(path, earlier, tables["articles"], tables["events"])


def fts_query(text: str) -> str:
    """The FTS5 query for what an editor typed: every word, each also as a prefix, any order.
    Words are quoted, so FTS5's own syntax (AND, NEAR, *, column:) in a search means itself."""
    words = [w for w in QUERY_WORD.findall(text.lower()) if w]
    return " AND ".join(f'"{w}"*' for w in words)


def open_index(path: Path | str) -> sqlite3.Connection:
    """The index file, read-only (a reader never changes a snapshot)."""
    return sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, check_same_thread=False)


def search(con: sqlite3.Connection, text: str, limit: int = 2000) -> list[tuple[str, float]]:
    """Events matching `text`, best first, as (event id, score): a match in the event's headline
    or names counts most, then its best-matching story, then how many of its stories match."""
    query = fts_query(text)
    if not query:
        return []
    score: dict[str, float] = {}
    for event_id, rank in con.execute(
        f"SELECT event_id, bm25(events, {', '.join(map(str, EVENT_WEIGHTS))}) FROM events WHERE events MATCH ? "
        "ORDER BY rank LIMIT ?", (query, limit),
    ):
        score[event_id] = -2.0 * rank
    for event_id, best, n in con.execute(
        f"WITH hits AS MATERIALIZED (SELECT rowid AS id, bm25(stories, {', '.join(map(str, STORY_WEIGHTS))}) AS rank "
        "FROM stories WHERE stories MATCH ?) "
        "SELECT r.event_id, min(h.rank), count(*) FROM hits h JOIN story_rows r USING (id) GROUP BY r.event_id "
        "ORDER BY 2 LIMIT ?", (query, limit),
    ):
        if event_id is not None:
            score[event_id] = score.get(event_id, 0.0) - best + math.log1p(n)
    return sorted(score.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
