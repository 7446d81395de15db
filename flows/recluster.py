"""Re-cluster flow: rebuild the events of a time range from scratch, keeping event ids.

Incremental runs never move a story that already has an event (only merges do), so early
mistakes can stay; this flow re-clusters every canonical story whose time falls in
[start, end] (or the last `last_days` days, for a schedule) and maps the new clusters onto
the old ids (see pipeline.events.rebuild_events).
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact

from flows.ingest import cluster_events, embed_articles, load_state, write_tables
from flows.store_lock import store_write_slot
from pipeline import date_window, job
from pipeline.config import RunOverrides, Settings


@flow(name="storyflow-recluster", log_prints=False)
def recluster_flow(
    start: str | None = None,
    end: str | None = None,
    data_dir: str = "data",
    overrides: RunOverrides | None = None,
    last_days: float | None = None,
) -> str:
    """Rebuild the events of stories published (or, undated, ingested) from `start` to `end`; return a summary.

    Args:
        start: first time of the range, an ISO date or time (UTC unless stated); empty leaves it open
        end: last time of the range, an ISO date or time (UTC unless stated); empty leaves it open
        data_dir: output root holding the Parquet tables
        overrides: thresholds and model for this run only; empty fields keep the configured settings
        last_days: instead of start and end, the last this many days up to now (for a schedule)
    """
    first, last = date_window.rebuild_range(start, end, last_days, datetime.now(timezone.utc))
    settings = Settings(data_dir=Path(data_dir)).with_overrides(overrides)
    with store_write_slot(settings):
        return rebuild_run(first, last, data_dir, settings)


def rebuild_run(start: datetime | None, end: datetime | None, data_dir: str, settings: Settings) -> str:
    """Re-cluster the stored stories of the range and commit; the caller holds the write slot."""
    logger = get_run_logger()
    ctx = job.RunContext()
    state = load_state(data_dir)
    dups = job.stored_duplicates(state)
    canonical = [a for a in state.articles if dups.group_of[a.article_id] == a.article_id]
    vectors = embed_articles(canonical, data_dir, settings)
    events = cluster_events(state.articles, dups, vectors, state, settings, (start, end))
    changed = sum(events.event_of[a] != e for a, e in state.event_of.items())
    span = f"{start.isoformat() if start else '-'}..{end.isoformat() if end else '-'}"
    logger.info("re-clustered %s: %d stories changed event, %d events merged", span, changed, len(events.merged_into))
    tables = job.output_tables(
        ctx, f"recluster {span}", settings.model_dump(mode="json"), state, state.articles, dups,
        events, vectors, [], {"n_input_files": 0, "n_stories_read": 0, "n_new_articles": 0, "n_already_stored": 0},
    )
    write_tables(data_dir, tables)
    summary = job.summary_text(tables, ctx.run_id) + f"\n  stories that changed event: {changed}"
    create_markdown_artifact(markdown=f"```\n{summary}\n```", key="storyflow-recluster-summary", description="storyflow recluster")
    return summary
