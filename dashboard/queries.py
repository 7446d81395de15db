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

from dashboard.outlets import outlet_names
from pipeline import search
from pipeline.search import search as search_events
from pipeline.store import Snapshot
from pipeline.store import Store as Snapshots
from pipeline.store.snapshots import StoreError

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
        "merged_into": "VARCHAR", "people": "VARCHAR[]", "organisations": "VARCHAR[]", "places": "VARCHAR[]",
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
        # written by newer runs only: the run's kind and its Prefect flow run
        "kind": "VARCHAR", "prefect_url": "VARCHAR", "flow_run_url": "VARCHAR", "flow_run_id": "VARCHAR",
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
    "best match": "h.score DESC NULLS LAST, e.last_seen DESC NULLS LAST, e.event_id",  # with a search only
}
# Entity facets: URL key -> events column.
ENTITY_KINDS = {"person": "people", "org": "organisations", "place": "places"}
SEARCH_LIMIT = 2000  # best matches kept for a search


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
    capped: bool = False  # a search matched more events than SEARCH_LIMIT: only the best are listed


class UnreadableStore(RuntimeError):
    """The data folder cannot be shown; the message says which file or folder and why."""


# In-memory search indexes of snapshots that have no index file (stores written before
# indexes were): built once per snapshot by this process, the newest few kept.
_MEMORY_INDEXES: dict[str, object] = {}


class Store:
    """The output under `data_dir`, as DuckDB views `articles`, `events`, ... (read-only)."""

    def __init__(self, data_dir: Path | str):
        self.data_dir = Path(data_dir)
        if self.data_dir.exists() and not self.data_dir.is_dir():
            raise UnreadableStore(f"{self.data_dir} is a file, not a data folder")
        # resolved once: every query of this Store reads the same committed run
        try:
            self.snapshot = Snapshots(self.data_dir).current()
        except StoreError as exc:
            raise UnreadableStore(str(exc)) from exc
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.present: dict[str, set[str]] = {}  # table -> columns the files really have
        for table, columns in COLUMNS.items():
            try:
                self._define_view(table, columns)
            except duckdb.Error as exc:
                self.con.close()
                files = ", ".join(parquet_files(self.snapshot, table))
                raise UnreadableStore(f"{files}: table {table!r} cannot be read ({str(exc).splitlines()[0]})") from exc
        self._define_outlets()
        self._index = None

    @property
    def exists(self) -> bool:
        return self.data_dir.is_dir()

    def _define_outlets(self) -> None:
        """Table `outlets` (source as written -> outlet name shown), see `dashboard.outlets`."""
        counts = dict(self.con.execute(
            "SELECT source, count(*) FROM articles WHERE coalesce(source, '') <> '' GROUP BY 1").fetchall())
        names = outlet_names(counts)
        frame = pd.DataFrame({"source": list(names), "outlet": list(names.values())}, dtype=object)
        self.con.register("outlet_frame", frame)
        self.con.execute("CREATE OR REPLACE TEMP TABLE outlets AS SELECT CAST(source AS VARCHAR) AS source, "
                         "CAST(outlet AS VARCHAR) AS outlet FROM outlet_frame")
        self.con.unregister("outlet_frame")

    def search_index(self):
        """The snapshot's search index (its file, read-only), or one built in memory from its tables."""
        if self._index is None:
            path = self.snapshot.derived(search.FILE) if self.snapshot.id is not None else None
            if path is not None:
                self._index = search.open_index(path)
            else:
                key = str(self.snapshot.path)
                if key not in _MEMORY_INDEXES:
                    while len(_MEMORY_INDEXES) >= 2:
                        _MEMORY_INDEXES.pop(next(iter(_MEMORY_INDEXES)))
                    _MEMORY_INDEXES[key] = search.build(
                        self.con.sql("SELECT article_id, event_id, title, text FROM articles").to_arrow_table(),
                        self.con.sql("SELECT * FROM events").to_arrow_table())
                self._index = _MEMORY_INDEXES[key]
        return self._index

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
        if self._index is not None and self._index not in _MEMORY_INDEXES.values():
            self._index.close()

    def has(self, table: str, column: str | None = None) -> bool:
        have = self.present.get(table, set())
        return bool(have) if column is None else column in have

    def df(self, sql: str, params: list | None = None) -> pd.DataFrame:
        # rows through plain Python values: lists stay lists, NULL stays None
        cursor = self.con.execute(sql, params or [])
        return pd.DataFrame.from_records(cursor.fetchall(), columns=[d[0] for d in cursor.description])

    # --- event list -------------------------------------------------------------------------

    def sources(self) -> list[str]:
        """Outlet names (normalised), alphabetically."""
        return [r[0] for r in self.con.execute("SELECT DISTINCT outlet FROM outlets ORDER BY lower(outlet)").fetchall()]

    def source_counts(self) -> dict[str, int]:
        """Live events per outlet, most first."""
        rows = self.con.execute(
            """
            SELECT o.outlet, count(DISTINCT a.event_id) AS n
            FROM articles a JOIN outlets o USING (source) JOIN events e USING (event_id)
            WHERE coalesce(e.status, 'active') = 'active'
            GROUP BY 1 ORDER BY n DESC, lower(o.outlet)
            """).fetchall()
        return dict(rows)

    def entity_counts(self, kind: str, limit: int = 300) -> dict[str, int]:
        """Live events naming each person, organisation or place (`kind`: a key of ENTITY_KINDS), most first."""
        column = ENTITY_KINDS[kind]
        rows = self.con.execute(
            f"""
            SELECT name, count(*) AS n FROM (
                SELECT unnest(coalesce({column}, [])) AS name FROM events WHERE coalesce(status, 'active') = 'active')
            GROUP BY 1 ORDER BY n DESC, name LIMIT ?
            """, [limit]).fetchall()
        return dict(rows)

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
        entities: dict[str, list[str]] | None = None,
    ) -> EventPage:
        """Live events (merged and withdrawn ones left out) matching the filters, one page of them.

        `sources` are outlet names (`sources()`); `search` is full-text (`pipeline.search`: every
        word, any order), its matches ranked by relevance under the sort "best match";
        `entities` maps ENTITY_KINDS keys to names the event must all carry.
        """
        where, params = ["coalesce(e.status, 'active') = 'active'"], []
        span = TIME_RANGES[time_range]
        if span is not None:
            where.append("e.last_seen >= ?")
            params.append((now or datetime.now(timezone.utc)) - span)
        if sources:
            where.append("e.event_id IN (SELECT a.event_id FROM articles a JOIN outlets o USING (source) "
                         "WHERE o.outlet IN (SELECT unnest(?)))")
            params.append(list(sources))
        for kind, names in (entities or {}).items():
            for name in names:
                where.append(f"list_contains(coalesce(e.{ENTITY_KINDS[kind]}, []), ?)")
                params.append(name)
        if storyline_id is not None:
            where.append("e.storyline_id = ?")
            params.append(storyline_id)
        capped = False
        hits = pd.DataFrame({"event_id": pd.Series([], dtype=object), "score": pd.Series([], dtype=float)})
        if search.strip():
            found = search_events(self.search_index(), search, SEARCH_LIMIT)
            capped = len(found) >= SEARCH_LIMIT
            hits = pd.DataFrame(found, columns=["event_id", "score"]).astype({"event_id": object, "score": float})
            where.append("h.event_id IS NOT NULL")
        elif sort == "best match":
            sort = "newest"
        self.con.register("hits_frame", hits)
        try:
            condition = " AND ".join(where)
            joined = "events e LEFT JOIN hits_frame h USING (event_id)"
            total = self.con.execute(f"SELECT count(*) FROM {joined} WHERE {condition}", params).fetchone()[0]
            rows = self.df(
                f"""
                SELECT e.event_id, e.headline, e.size,
                       coalesce(len(e.sources), e.n_sources) AS n_sources,
                       e.first_seen, e.last_seen, e.keywords, e.storyline_id,
                       s.headline AS storyline,
                       (SELECT max(a.embargoed) FROM articles a
                        WHERE a.event_id = e.event_id AND a.embargoed > ?) AS embargoed_until
                FROM {joined} LEFT JOIN storylines s USING (storyline_id)
                WHERE {condition}
                ORDER BY {SORTS[sort]}
                LIMIT ? OFFSET ?
                """,
                [now or datetime.now(timezone.utc)] + params + [limit, offset],
            )
        finally:
            self.con.unregister("hits_frame")
        return EventPage(self._with_coverage(rows), int(total), capped)

    def _with_coverage(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Add each event's unique stories, copies, outlets and first outlet to report it."""
        columns = ["n_stories", "n_copies", "n_outlets", "first_outlet"]
        if rows.empty:
            return rows.assign(**{c: pd.Series(dtype=object) for c in columns})
        coverage = self.df(
            """
            SELECT a.event_id,
                   count(*) FILTER (WHERE d.article_id IS NULL) AS n_stories,
                   count(d.article_id) AS n_copies,
                   count(DISTINCT o.outlet) AS n_outlets,
                   arg_min(o.outlet, coalesce(a.published_at, a.ingested_at)) FILTER (WHERE o.outlet IS NOT NULL) AS first_outlet
            FROM articles a LEFT JOIN duplicates d USING (article_id) LEFT JOIN outlets o USING (source)
            WHERE a.event_id IN (SELECT unnest(?))
            GROUP BY 1
            """,
            [list(rows["event_id"])],
        )
        return rows.merge(coverage, on="event_id", how="left")

    def current_event_ids(self) -> set[str]:
        return {r[0] for r in self.con.execute(
            "SELECT event_id FROM events WHERE coalesce(status, 'active') = 'active'").fetchall()}

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
            SELECT a.article_id, a.source_id, a.title, left(a.text, 1200) AS excerpt, a.source, a.url,
                   coalesce(o.outlet, a.source) AS outlet, a.published_at, a.ingested_at,
                   coalesce(a.published_at, a.ingested_at) AS seen_at,
                   CASE WHEN a.embargoed > ? THEN a.embargoed END AS embargoed,
                   d.duplicate_of IS NULL AS is_canonical,
                   coalesce(d.duplicate_of, a.article_id) AS canonical_id,
                   d.similarity, d.method, d.jaccard, d.containment, d.char_containment, d.rule
            FROM articles a LEFT JOIN duplicates d USING (article_id) LEFT JOIN outlets o USING (source)
            WHERE a.event_id = ?
            ORDER BY seen_at, a.article_id
            """,
            [now or datetime.now(timezone.utc), event_id],
        )

    def event_sources(self, event: dict) -> list[str]:
        """The event's outlets (normalised), alphabetically."""
        rows = self.con.execute(
            "SELECT DISTINCT o.outlet FROM articles a JOIN outlets o USING (source) WHERE a.event_id = ? ORDER BY lower(o.outlet)",
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

    def runs(self, limit: int = 200) -> pd.DataFrame:
        return self.df(
            """
            SELECT run_id, started_at, finished_at,
                   epoch(finished_at - started_at) AS seconds, inputs, kind,
                   coalesce(prefect_url, flow_run_url) AS prefect_url, flow_run_id,
                   n_input_files, n_stories_read, n_new_articles, n_already_stored, n_withdrawn, n_rejects,
                   n_exact_duplicates, n_near_duplicates, n_events, n_articles_total
            FROM runs ORDER BY started_at DESC NULLS LAST LIMIT ?
            """,
            [limit],
        )

    def snapshots(self) -> list[dict]:
        """Kept snapshots, newest first: id, when, kind, run, and the snapshot rolled back to."""
        try:
            kept = Snapshots(self.data_dir).history()
        except StoreError:
            return []
        return [{"snapshot": s.id, "created_at": s.manifest.get("created_at"), "kind": s.manifest.get("kind"),
                 "run_id": s.manifest.get("run_id"), "rolled_back_to": s.manifest.get("rolled_back_to"),
                 "current": s.id == self.snapshot.id} for s in reversed(kept)]

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
