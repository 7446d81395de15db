"""The run sequence: what one ingest or re-cluster run does, stage by stage, without an orchestrator.

    load -> read -> normalize* -> versions and withdrawals -> sketch* -> copies -> embed* -> events -> storylines
    -> tables -> search -> commit

The stages marked * look at one story at a time: they go through `Stages.map` in batches
(`pipeline.parallel`), which the Prefect flows can spread over a Dask cluster; the others
read everything at once and run in the run's own process.

A backfill is that sequence once per window of publication days, over an archive surveyed
first (`run_backfill`):

    parts -> survey* -> for each window not yet committed: load -> read* -> (the run above)

`ingest_run` and `recluster_run` take the stored state (and the stories read) and return the
tables to commit; `run_ingest`, `run_backfill` and `run_recluster` add the store around them (its
writer lock, the state read from its current snapshot, the commit). Every stage goes through a `Stages` object, which
times it: the Prefect flows pass one that makes each stage a task with retries and logs, the
benchmarks and tests use the plain one. Stages never change their inputs in place, so a
retried stage starts from what the failed attempt was given.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

import numpy as np
import pyarrow as pa

from pipeline import report, search
from pipeline.config import Settings
from pipeline.dedup import DuplicateResult, update_duplicates
from pipeline.events.assign import EventResult, assign_events
from pipeline.events.embed import cache_fill, cached_vectors, encode_batches, place
from pipeline.events.storylines import storylines_of
from pipeline.ingest import ingest
from pipeline.ingest.archive import archive_parts, read_part, survey_part
from pipeline.ingest.arrivals import Arrivals, arrive_normalized, origins, split_notices
from pipeline.ingest.date_window import day_windows, published_within
from pipeline.ingest.normalize import normalize
from pipeline.parallel import batches, joined_signatures, plan_embedding, sketch
from pipeline.records import Article, IngestResult, RawStory, Reject
from pipeline.store import Snapshot, Store
from pipeline.store.state import StoredState, load_state
from pipeline.store.tables import FlowRunRef, RunContext, ingest_tables, output_tables

log = logging.getLogger(__name__)


class Stages:
    """Runs the stages of a run in this process, timing each (`timings`, seconds by stage)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    def run(self, name: str, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - began
            log.info("stage %s: %.2f s", name, time.perf_counter() - began)

    def map(self, name: str, fn: Callable, items: list, *args: Any, sizes: list[int] | None = None) -> list:
        """`fn(item, *args)` for each item, results in the order of `items`: the parallel stages
        (here one after another). `progress` is called after each item, counting `sizes` (what
        each item holds, say stories; default one each)."""
        began = time.perf_counter()
        sizes = sizes or [1] * len(items)
        try:
            out = []
            for item in items:
                out.append(fn(item, *args))
                self.progress(name, sum(sizes[:len(out)]), sum(sizes))
            return out
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - began
            log.info("stage %s: %d tasks, %.2f s", name, len(items), time.perf_counter() - began)

    def progress(self, stage: str, done: int, total: int) -> None:
        """Called by long stages between batches."""
        log.debug("%s: %d of %d", stage, done, total)


@dataclass(slots=True)
class RunResult:
    run_id: str
    tables: dict[str, pa.Table]  # every table to commit
    report: report.RunReport  # what the run changed, for operators
    summary: str  # the same, short, for a terminal (`report.summary_text` lists more or fewer events)
    timings: dict[str, float] = field(default_factory=dict)
    snapshot: Snapshot | None = None  # the snapshot the run committed, once committed


def embed_stories(stages: Stages, articles: list[Article], settings: Settings) -> dict[str, np.ndarray]:
    """Vectors by article id; only stories not in the store's embedding cache reach the model,
    in tasks of whole model batches (`stages.map`)."""
    plan = stages.run("embed_cache", plan_embedding, articles, settings.data_dir, settings.embedding,
                      settings.dask.batch_stories)
    if plan.missing:
        sizes = [sum(map(len, task)) for task in plan.tasks]
        vectors = [v for part in stages.map("embed", encode_batches, plan.tasks, settings.embedding, sizes=sizes)
                   for v in part]
        stages.run("embed_cache", cache_fill, plan.cache, plan.missing,
                   place(plan.model_batches, vectors, len(plan.missing)))
    log.info("embedded %d stories, %d from the cache", len(plan.missing), len(articles) - len(plan.missing))
    return dict(zip((a.article_id for a in articles), cached_vectors(plan.cache, plan.keys)))


def normalize_stories(stages: Stages, stories: list[RawStory], settings: Settings, ingested_at: datetime) -> list[Article]:
    parts = stages.map("normalize", normalize, batches(stories, settings.dask.batch_stories), ingested_at)
    return [a for part in parts for a in part]


def sketch_stories(stages: Stages, articles: list[Article], settings: Settings) -> np.ndarray:
    texts = batches([a.text for a in articles], settings.dask.batch_stories)
    return joined_signatures(stages.map("sketch", sketch, texts, settings.dedup), settings.dedup)


def find_copies(arrivals: Arrivals, settings: Settings, new_signatures: np.ndarray | None = None) -> DuplicateResult:
    """Fold the run's new stories into the stored copy groups."""
    state = arrivals.state
    return update_duplicates(arrivals.new, state.articles, state.group_of, state.duplicate_edges,
                             state.minhash_index, settings.dedup, new_signatures)


def cluster_events(articles: list[Article], dups: DuplicateResult, vectors: dict[str, np.ndarray],
                   state: StoredState, settings: Settings, rebuild=None) -> EventResult:
    """Events (and their storylines stay to be found) for every current story."""
    known = set(state.events.column("event_id").to_pylist())
    assignment = assign_events(articles, dups.group_of, vectors, state.event_of, known, settings.events, rebuild)
    return EventResult(assignment.event_of, assignment.merged_into, {})


def group_storylines(articles: list[Article], dups: DuplicateResult, events: EventResult,
                     vectors: dict[str, np.ndarray], state: StoredState, settings: Settings) -> EventResult:
    storyline_of = storylines_of(articles, dups.group_of, events.event_of, vectors, state.events, settings.storylines)
    return EventResult(events.event_of, events.merged_into, storyline_of)


def ingest_run(
    state: StoredState,
    read: IngestResult,
    settings: Settings,
    published_from: date | None = None,
    published_to: date | None = None,
    stages: Stages | None = None,
    now: datetime | None = None,
    flow_run: FlowRunRef | None = None,
) -> RunResult:
    """Add the stories `read` found to `state`; return every table of the store after it.

    A date-windowed run (a backfill) keeps only stories published in [published_from,
    published_to]; withdrawal notices apply whatever the window: a story taken down stays down.
    `now` is when the run ingests (default: the clock); `flow_run` the orchestrator's run that
    runs this one, if any (recorded in the runs table).
    """
    stages = stages or Stages()
    ctx = RunContext(kind="backfill" if published_from or published_to else "ingest", flow_run=flow_run,
                     published_from=published_from, published_to=published_to)
    if now:
        ctx.started_at = now
    stories, notices = split_notices(read.stories)
    window = published_within(stories, published_from, published_to)
    if published_from or published_to:
        log.info("published %s..%s: %d stories kept, %d outside, %d undated left out", published_from or "",
                 published_to or "", len(window.stories), window.n_outside, window.n_undated)
    normalized = normalize_stories(stages, window.stories, settings, ctx.started_at)
    arrivals = stages.run("versions", arrive_normalized, state, normalized, origins(window.stories), notices)
    log.info("read %d stories (%d new, %d already stored, %d earlier versions replaced, %d taken down by %d new "
             "withdrawal notices), %d inputs already ingested, %d rejects", len(read.stories), len(arrivals.fresh),
             arrivals.n_known, arrivals.n_superseded, arrivals.n_withdrawn, len(arrivals.notices), read.n_seen,
             len(read.rejects) + len(arrivals.rejects))

    signatures = sketch_stories(stages, arrivals.new, settings)
    dups = stages.run("copies", find_copies, arrivals, settings, signatures)
    current = arrivals.current
    canonical = [a for a in current if dups.group_of[a.article_id] == a.article_id]
    vectors = embed_stories(stages, canonical, settings)
    events = stages.run("events", cluster_events, current, dups, vectors, arrivals.state, settings)
    events = stages.run("storylines", group_storylines, current, dups, events, vectors, arrivals.state, settings)

    def tables() -> dict[str, pa.Table]:
        out = output_tables(
            ctx, read.inputs, settings.model_dump(mode="json"), arrivals.state, current, dups, events, vectors,
            read.rejects + arrivals.rejects,
            {"n_input_files": read.n_inputs, "n_stories_read": len(read.stories) + read.n_left_out, "n_new_articles": len(arrivals.fresh),
             "n_already_stored": arrivals.n_known, "n_superseded": arrivals.n_superseded,
             "n_withdrawn": arrivals.n_withdrawn, "n_inputs_seen": read.n_seen,
             "n_outside_window": window.n_outside + window.n_undated + read.n_left_out},
        )
        out.update(ingest_tables(ctx, arrivals.state, arrivals.shelved, read.inbox_rows, arrivals.notices))
        return out

    written = stages.run("tables", tables)
    return reported(written, ctx.run_id, state, stages)


def reported(written: dict[str, pa.Table], run_id: str, state: StoredState, stages: Stages) -> RunResult:
    """The run's result with its report; the report's per-run figures are written into its runs row too."""
    run_report = report.run_report(written, run_id, state.event_of)
    written["runs"] = report.with_run_figures(written["runs"], run_id, run_report.counts)
    return RunResult(run_id, written, run_report, report.summary_text(run_report, run_id), stages.timings)


def read_sources(sources: list[str], state: StoredState, settings: Settings) -> IngestResult:
    """Read every source; what earlier runs ingested is skipped (the inbox log)."""
    read = ingest(sources, settings.ingest, state.inbox)
    read.inputs = " ".join(sources)
    return read


def recluster_run(state: StoredState, start: datetime | None, end: datetime | None, settings: Settings,
                  stages: Stages | None = None, flow_run: FlowRunRef | None = None) -> RunResult:
    """Re-cluster the stored stories of [start, end] from scratch, mapping new clusters onto old ids."""
    stages = stages or Stages()
    ctx = RunContext(kind="recluster", flow_run=flow_run)
    dups = state.duplicates()
    canonical = [a for a in state.articles if dups.group_of[a.article_id] == a.article_id]
    vectors = embed_stories(stages, canonical, settings)
    events = stages.run("events", cluster_events, state.articles, dups, vectors, state, settings, (start, end))
    events = stages.run("storylines", group_storylines, state.articles, dups, events, vectors, state, settings)
    span = f"{start.isoformat() if start else '-'}..{end.isoformat() if end else '-'}"
    written = stages.run("tables", output_tables, ctx, f"recluster {span}", settings.model_dump(mode="json"), state,
                         state.articles, dups, events, vectors, [],
                         {"n_input_files": 0, "n_stories_read": 0, "n_new_articles": 0, "n_already_stored": 0,
                          "n_superseded": 0, "n_withdrawn": 0, "n_inputs_seen": 0, "n_outside_window": 0})
    changed = sum(events.event_of[a] != e for a, e in state.event_of.items() if a in events.event_of)
    log.info("re-clustered %s: %d stories changed event, %d events merged", span, changed, len(events.merged_into))
    return reported(written, ctx.run_id, state, stages)


def open_store(settings: Settings) -> Store:
    return Store(settings.data_dir, settings.store.keep_snapshots)


def run_ingest(sources: list[str], settings: Settings, stages: Stages | None = None,
               flow_run: FlowRunRef | None = None) -> RunResult:
    """Read `sources` into the store at `settings.data_dir`: hold it, read its state, run, commit."""
    stages = stages or Stages()
    with open_store(settings).writer(settings.store.lock_timeout_s) as writer:
        state = stages.run("load", load_state, writer.base)
        read = stages.run("read", read_sources, sources, state, settings)
        result = ingest_run(state, read, settings, stages=stages, flow_run=flow_run)
        stages.run("search", writer.derive, search.FILE, search.build_for_run, result.tables)
        result.snapshot = stages.run("commit", writer.commit, result.tables, run_id=result.run_id, kind=result.report.kind)
    return result


@dataclass(slots=True)
class BackfillResult:
    source: str
    start: date
    end: date
    windows: list[tuple[date, date]]  # the publication-day windows that hold stories, oldest first
    runs: list[RunResult]  # one per window this backfill committed
    skipped: list[tuple[date, date]]  # committed by an earlier backfill of the same archive (resumed)
    n_outside: int  # stories published before or after the dates
    n_undated: int  # stories with no publication time (a backfill cannot place them)

    def summary(self) -> str:
        """What the backfill did, for a terminal or a run's page."""
        stored = sum(r.report.counts["new_articles"] for r in self.runs)
        lines = [f"Backfill of {self.source}, {self.start}..{self.end}: {len(self.runs)} of {len(self.windows)} "
                 f"windows committed now, {report.counted(stored, 'new story', 'new stories')}"]
        if self.skipped:
            lines.append(f"{report.counted(len(self.skipped), 'window')} committed by an earlier backfill of this archive "
                         f"({self.skipped[0][0]}..{self.skipped[-1][1]}) and not read again")
        if self.n_outside or self.n_undated:
            lines.append(f"Left out: {report.counted(self.n_outside, 'story', 'stories')} published outside the dates, "
                         f"{self.n_undated:,} undated")
        return "\n".join(lines)


def committed_windows(runs: pa.Table, source: str) -> set[tuple[date, date]]:
    """The windows of `source` that backfills committed, from a runs table."""
    rows = runs.select(["kind", "inputs", "published_from", "published_to"]).to_pylist()
    return {(r["published_from"], r["published_to"]) for r in rows
            if r["kind"] == "backfill" and r["inputs"] == source and r["published_from"] and r["published_to"]}


def merged_reads(reads: list[IngestResult], source: str, known: list[Reject]) -> IngestResult:
    """The parts read for one window as one read; rejects the survey recorded already are left out."""
    seen = {(r.origin, r.reason) for r in known}
    return IngestResult([s for r in reads for s in r.stories],
                        [x for r in reads for x in r.rejects if (x.origin, x.reason) not in seen],
                        sum(r.n_inputs for r in reads), inputs=source)


def in_days(story: RawStory, first: date, last: date) -> bool:
    return story.published_at is not None and first <= story.published_at.date() <= last


def run_backfill(source: str, settings: Settings, start: date, end: date, stages: Stages | None = None,
                 flow_run: FlowRunRef | None = None,
                 on_window: Callable[[RunResult], None] | None = None) -> BackfillResult:
    """Read the archive `source` into the store, the stories published in [start, end] only, as one
    committed run per window of `settings.ingest.backfill_window_days` days, oldest first, so what
    a run holds stays bounded and the copy index and event window move on with the days.

    The archive's parts (files) are surveyed once, in parallel, for the days they hold; each window
    reads only the parts holding its days. Windows an earlier backfill of the same source
    committed are skipped, so a backfill that was stopped resumes where it stopped. The survey's
    rejects are recorded with the first window; undated stories and those outside the dates
    are counted, not stored. `on_window(result)` is called after each commit.
    """
    stages = stages or Stages()
    parts, unlisted = stages.run("parts", archive_parts, source)
    surveys = stages.map("survey", survey_part, parts, settings.ingest)
    rejects = unlisted + [r for s in surveys for r in s.rejects]
    days = {day for s in surveys for day in s.days}
    windows = day_windows(days, start, end, settings.ingest.backfill_window_days) or [(start, end)]
    n_outside = sum(n for s in surveys for day, n in s.days.items() if not start <= day <= end)
    result = BackfillResult(source, start, end, windows, [], [], n_outside, sum(s.n_undated for s in surveys))
    log.info("backfill %s %s..%s: %d parts, %d windows of up to %d days", source, start, end, len(parts), len(windows),
             settings.ingest.backfill_window_days)
    store = open_store(settings)
    done = committed_windows(store.current().read("runs"), source)
    for n, (first, last) in enumerate(windows):
        stages.progress("windows", n, len(windows))
        if (first, last) in done:
            result.skipped.append((first, last))
            continue
        with store.writer(settings.store.lock_timeout_s) as writer:
            state = stages.run("load", load_state, writer.base)
            chosen = [p for p, s in zip(parts, surveys) if s.touches(first, last) or (n == 0 and s.has_notices)]
            reads = stages.map("read", read_part, chosen, settings.ingest)
            read = merged_reads(reads, source, rejects)
            read.stories = [s for s in read.stories if s.is_withdrawal or in_days(s, first, last)]
            if n == 0:  # what the survey found that no window takes
                read.rejects = rejects + read.rejects
                read.n_left_out = result.n_outside + result.n_undated
            run = ingest_run(state, read, settings, first, last, stages, flow_run=flow_run)
            stages.run("search", writer.derive, search.FILE, search.build_for_run, run.tables)
            run.snapshot = stages.run("commit", writer.commit, run.tables, run_id=run.run_id, kind=run.report.kind)
        result.runs.append(run)
        if on_window is not None:
            on_window(run)
    stages.progress("windows", len(windows), len(windows))
    return result


def run_recluster(start: datetime | None, end: datetime | None, settings: Settings,
                  stages: Stages | None = None, flow_run: FlowRunRef | None = None) -> RunResult:
    """`recluster_run` on the store at `settings.data_dir`: hold it, read its state, commit."""
    stages = stages or Stages()
    with open_store(settings).writer(settings.store.lock_timeout_s) as writer:
        state = stages.run("load", load_state, writer.base)
        result = recluster_run(state, start, end, settings, stages, flow_run)
        stages.run("search", writer.derive, search.FILE, search.build_for_run, result.tables)
        result.snapshot = stages.run("commit", writer.commit, result.tables, run_id=result.run_id, kind="recluster")
    return result


def run_rollback(settings: Settings, to: int | None = None, flow_run: FlowRunRef | None = None) -> tuple[int | None, Snapshot]:
    """Make snapshot `to` (default: the one before the current) current again, as a new snapshot whose
    runs table is the restored one plus a row of kind "rollback"; returns the snapshot id it replaced and the new one."""
    ctx = RunContext(kind="rollback", flow_run=flow_run)

    def record(target: Snapshot) -> dict[str, pa.Table]:
        status = target.read("events").column("status").to_pylist()
        return {"runs": report.with_rollback_row(target.read("runs"), ctx, target.id, status.count("active"),
                                                 target.tables.get("articles", {}).get("rows", 0))}

    with open_store(settings).writer(settings.store.lock_timeout_s) as writer:
        before = writer.base.id
        after = writer.rollback(to, record)
    log.info("rolled back to snapshot %s as snapshot %s (was %s)", after.manifest["rolled_back_to"], after.id, before)
    return before, after
