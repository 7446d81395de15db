"""Read-only queries over the Parquet output, for the dashboard and anyone else.

Only the files of the store's current snapshot are read (``<data>/current/<table>.parquet``),
through an in-memory DuckDB connection; nothing here writes. Each table is exposed as a view with a
fixed set of columns: a column the output lacks (older runs, or a table not written yet)
reads as NULL, so the dashboard works on any version of the output.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pandas as pd

from pipeline.store import Snapshot
from pipeline.store import Store as Snapshots

# The columns the dashboard reads, by table, with the DuckDB type a missing one gets.
COLUMNS: dict[str, dict[str, str]] = {
    "articles": {
        "article_id": "VARCHAR", "source_id": "VARCHAR", "title": "VARCHAR", "text": "VARCHAR",
        "source": "VARCHAR", "url": "VARCHAR", "published_at": "TIMESTAMPTZ", "ingested_at": "TIMESTAMPTZ",
        "dup_group_id": "VARCHAR", "is_canonical": "BOOLEAN", "event_id": "VARCHAR", "storyline_id": "VARCHAR",
        "embargoed": "TIMESTAMPTZ",
    },
    "duplicates": {
        "article_id": "VARCHAR", "duplicate_of": "VARCHAR", "similarity": "DOUBLE", "method": "VARCHAR",
        "jaccard": "DOUBLE", "containment": "DOUBLE", "char_containment": "DOUBLE", "rule": "VARCHAR",
    },
    "events": {
        "event_id": "VARCHAR", "headline": "VARCHAR", "size": "BIGINT", "n_sources": "BIGINT",
        "first_seen": "TIMESTAMPTZ", "last_seen": "TIMESTAMPTZ", "representative_article_id": "VARCHAR",
        "storyline_id": "VARCHAR", "keywords": "VARCHAR[]", "sources": "VARCHAR[]", "status": "VARCHAR",
        "merged_into": "VARCHAR",
    },
    "storylines": {
        "storyline_id": "VARCHAR", "headline": "VARCHAR", "n_events": "BIGINT", "size": "BIGINT",
        "first_seen": "TIMESTAMPTZ", "last_seen": "TIMESTAMPTZ", "keywords": "VARCHAR[]",
    },
    "runs": {
        "run_id": "VARCHAR", "started_at": "TIMESTAMPTZ", "finished_at": "TIMESTAMPTZ", "inputs": "VARCHAR",
        "n_input_files": "BIGINT", "n_stories_read": "BIGINT", "n_new_articles": "BIGINT",
        "n_already_stored": "BIGINT", "n_withdrawn": "BIGINT", "n_rejects": "BIGINT", "n_exact_duplicates": "BIGINT",
        "n_near_duplicates": "BIGINT", "n_events": "BIGINT", "n_articles_total": "BIGINT",
    },
    "rejects": {"run_id": "VARCHAR", "origin": "VARCHAR", "reason": "VARCHAR", "rejected_at": "TIMESTAMPTZ"},
}

# Time-range choices of the event list, relative to now (None: no limit).
TIME_RANGES: dict[str, timedelta | None] = {
    "last 6 h": timedelta(hours=6),
    "last 24 h": timedelta(hours=24),
    "last 7 days": timedelta(days=7),
    "all": None,
}
SORTS = {
    "newest": "e.last_seen DESC NULLS LAST, e.size DESC, e.event_id",
    "biggest": "e.size DESC, e.last_seen DESC NULLS LAST, e.event_id",
}


def default_data_dir() -> Path:
    return Path(os.environ.get("STORYFLOW_DATA_DIR", "data"))


def parquet_files(snapshot: Snapshot, table: str) -> list[str]:
    """The table's file in the snapshot (none: the snapshot has no such table)."""
    return [str(snapshot.file(table))] if table in snapshot.tables else []


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass
class EventPage:
    rows: pd.DataFrame  # one page of the event list
    total: int  # events matching the filters


class Store:
    """The output under `data_dir`, as DuckDB views `articles`, `events`, ... (read-only)."""

    def __init__(self, data_dir: Path | str):
        self.data_dir = Path(data_dir)
        # resolved once: every query of this Store reads the same committed run
        self.snapshot = Snapshots(self.data_dir).current()
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.present: dict[str, set[str]] = {}  # table -> columns the files really have
        for table, columns in COLUMNS.items():
            self._define_view(table, columns)

    def _define_view(self, table: str, columns: dict[str, str]) -> None:
        files = parquet_files(self.snapshot, table)
        have: set[str] = set()
        if files:
            source = f"read_parquet([{', '.join(map(_sql_string, files))}], union_by_name = true)"
            have = {row[0] for row in self.con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        self.present[table] = have
        select = ", ".join(
            f'CAST("{name}" AS {kind}) AS "{name}"' if name in have else f'CAST(NULL AS {kind}) AS "{name}"'
            for name, kind in columns.items()
        )
        body = f"SELECT {select} FROM {source}" if files else f"SELECT {select} WHERE false"
        self.con.execute(f"CREATE OR REPLACE VIEW {table} AS {body}")

    def close(self) -> None:
        self.con.close()

    def has(self, table: str, column: str | None = None) -> bool:
        have = self.present.get(table, set())
        return bool(have) if column is None else column in have

    def df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        # rows through plain Python values: lists stay lists, NULL stays None
        cursor = self.con.execute(sql, params or [])
        return pd.DataFrame.from_records(cursor.fetchall(), columns=[d[0] for d in cursor.description])

    # --- event list -------------------------------------------------------------------------

    def sources(self) -> list[str]:
        rows = self.con.execute(
            "SELECT DISTINCT source FROM articles WHERE coalesce(source, '') <> '' ORDER BY source"
        ).fetchall()
        return [r[0] for r in rows]

    def event_list(
        self,
        time_range: str = "all",
        sources: list[str] | None = None,
        search: str = "",
        sort: str = "newest",
        limit: int = 100,
        offset: int = 0,
        now: datetime | None = None,
        storyline_id: str | None = None,
    ) -> EventPage:
        """Live events (merged and withdrawn ones left out) matching the filters, one page of them."""
        where, params = ["coalesce(e.status, 'active') = 'active'"], []
        span = TIME_RANGES[time_range]
        if span is not None:
            where.append("e.last_seen >= ?")
            params.append((now or datetime.now(timezone.utc)) - span)
        if sources:
            where.append("e.event_id IN (SELECT event_id FROM articles WHERE source IN (SELECT unnest(?)))")
            params.append(list(sources))
        if search.strip():
            # `contains` matches the text literally, so % and _ in a search mean themselves
            where.append("(contains(lower(e.headline), ?) OR contains(lower(array_to_string(coalesce(e.keywords, []), ' | ')), ?))")
            params += [search.strip().lower()] * 2
        if storyline_id is not None:
            where.append("e.storyline_id = ?")
            params.append(storyline_id)
        condition = " AND ".join(where)
        total = self.con.execute(f"SELECT count(*) FROM events e WHERE {condition}", params).fetchone()[0]
        rows = self.df(
            f"""
            SELECT e.event_id, e.headline, e.size,
                   coalesce(len(e.sources), e.n_sources) AS n_sources,
                   e.first_seen, e.last_seen, e.keywords, e.storyline_id,
                   s.headline AS storyline,
                   (SELECT max(a.embargoed) FROM articles a
                    WHERE a.event_id = e.event_id AND a.embargoed > ?) AS embargoed_until
            FROM events e LEFT JOIN storylines s USING (storyline_id)
            WHERE {condition}
            ORDER BY {SORTS[sort]}
            LIMIT ? OFFSET ?
            """,
            [now or datetime.now(timezone.utc)] + params + [limit, offset],
        )
        return EventPage(rows, int(total))

    # --- one event -------------------------------------------------------------------------

    def event(self, event_id: str) -> dict | None:
        rows = self.df("SELECT * FROM events WHERE event_id = ?", [event_id]).to_dict("records")
        return rows[0] if rows else None

    def event_articles(self, event_id: str, now: datetime | None = None) -> pd.DataFrame:
        """The event's stories, each copy carrying its scores against its canonical story.

        `canonical_id` is the story a row folds under (itself for a canonical story);
        `embargoed` is set only while the story's embargo still holds at `now`.
        """
        return self.df(
            """
            SELECT a.article_id, a.source_id, a.title, left(a.text, 400) AS excerpt, a.source, a.url,
                   coalesce(a.published_at, a.ingested_at) AS seen_at,
                   CASE WHEN a.embargoed > ? THEN a.embargoed END AS embargoed,
                   d.duplicate_of IS NULL AS is_canonical,
                   coalesce(d.duplicate_of, a.article_id) AS canonical_id,
                   d.similarity, d.method, d.jaccard, d.containment, d.char_containment, d.rule
            FROM articles a LEFT JOIN duplicates d USING (article_id)
            WHERE a.event_id = ?
            ORDER BY seen_at, a.article_id
            """,
            [now or datetime.now(timezone.utc), event_id],
        )

    def event_sources(self, event: dict) -> list[str]:
        listed = event.get("sources")
        if listed is not None and len(listed):
            return sorted(listed)
        rows = self.con.execute(
            "SELECT DISTINCT source FROM articles WHERE event_id = ? AND coalesce(source, '') <> '' ORDER BY 1",
            [event["event_id"]],
        ).fetchall()
        return [r[0] for r in rows]

    # --- storylines ----------------------------------------------------------------------------

    def storylines(self, limit: int | None = None) -> pd.DataFrame:
        """Storylines, newest first, from their own table, or gathered from the events when only those carry ids."""
        return self.df(f"SELECT * FROM ({self._storylines_sql()}) LIMIT ?", [limit])

    def n_storylines(self) -> int:
        return self.con.execute(f"SELECT count(*) FROM ({self._storylines_sql()})").fetchone()[0]

    def _storylines_sql(self) -> str:
        if self.has("storylines"):
            return (
                "SELECT storyline_id, headline, n_events, size, first_seen, last_seen, keywords "
                "FROM storylines ORDER BY last_seen DESC NULLS LAST, size DESC, storyline_id"
            )
        return (
            """
            SELECT storyline_id, arg_max(headline, size) AS headline, count(*) AS n_events, sum(size) AS size,
                   min(first_seen) AS first_seen, max(last_seen) AS last_seen, CAST(NULL AS VARCHAR[]) AS keywords
            FROM events
            WHERE storyline_id IS NOT NULL AND coalesce(status, 'active') = 'active'
            GROUP BY storyline_id
            ORDER BY last_seen DESC NULLS LAST, size DESC, storyline_id
            """
        )

    def storyline(self, storyline_id: str) -> dict | None:
        rows = self.df(f"SELECT * FROM ({self._storylines_sql()}) WHERE storyline_id = ?", [storyline_id])
        return rows.to_dict("records")[0] if len(rows) else None

    # --- run health --------------------------------------------------------------------------

    def runs(self, limit: int = 20) -> pd.DataFrame:
        return self.df(
            """
            SELECT run_id, started_at, finished_at,
                   epoch(finished_at - started_at) AS seconds, inputs,
                   n_stories_read, n_new_articles, n_already_stored, n_withdrawn, n_rejects,
                   n_exact_duplicates, n_near_duplicates, n_events, n_articles_total
            FROM runs ORDER BY started_at DESC NULLS LAST LIMIT ?
            """,
            [limit],
        )

    def rejects(self, limit: int = 200) -> pd.DataFrame:
        return self.df(
            "SELECT rejected_at, run_id, origin, reason FROM rejects ORDER BY rejected_at DESC NULLS LAST LIMIT ?",
            [limit],
        )

    def reject_reasons(self) -> pd.DataFrame:
        """Reject counts by kind of reason (the part before any colon, which names particulars)."""
        return self.df(
            "SELECT split_part(reason, ':', 1) AS reason, count(*) AS n FROM rejects GROUP BY 1 ORDER BY n DESC, 1"
        )

    def totals(self) -> dict[str, int]:
        return {
            table: self.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("articles", "duplicates", "events", "storylines", "runs", "rejects")
        }
