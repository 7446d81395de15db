"""Re-cluster flow: rebuild the events of a time range from scratch, keeping event ids.

Incremental runs never move a story that already has an event (only merges do), so early
mistakes can stay; this flow re-clusters every canonical story whose time falls in
[start, end] and maps the new clusters onto the old ids (see pipeline.events.rebuild_events).
"""
from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from flows.ingest import cluster_events, embed_articles, load_state, write_tables
from pipeline import job
from pipeline.config import Settings


@task
def stored_duplicates(data_dir: str):
    return job.stored_duplicates(Path(data_dir))


@flow(name="storyflow-recluster", log_prints=False)
def recluster_flow(
    start: str | None = None,
    end: str | None = None,
    data_dir: str = "data",
    event_distance: float | None = None,
    event_embedding_weight: float | None = None,
    embedding_model: str | None = None,
) -> str:
    """Rebuild events for stories published (or, undated, ingested) between `start` and `end`
    (ISO dates or times, UTC unless stated; either may be left open); return a summary.
    Threshold and model parameters left as None come from Settings (STORYFLOW_* environment)."""
    logger = get_run_logger()
    overrides = {"event_distance": event_distance, "event_embedding_weight": event_embedding_weight,
                 "embedding_model": embedding_model}
    settings = Settings(data_dir=Path(data_dir), **{k: v for k, v in overrides.items() if v is not None})
    ctx = job.RunContext()
    state = load_state(data_dir)
    dups = stored_duplicates(data_dir)
    canonical = [a for a in state.articles if dups.group_of[a.article_id] == a.article_id]
    vectors = embed_articles(canonical, data_dir, settings)
    events = cluster_events(state.articles, dups, vectors, state, settings, (job.parse_time(start), job.parse_time(end)))
    changed = sum(events.event_of[a] != e for a, e in state.event_of.items())
    logger.info("re-clustered %s..%s: %d stories changed event, %d events merged", start, end, changed,
                len(events.merged_into))
    tables = job.output_tables(
        ctx, f"recluster {start or '-'}..{end or '-'}", settings.model_dump(mode="json"), state, state.articles, dups,
        events, vectors, [], {"n_input_files": 0, "n_stories_read": 0, "n_new_articles": 0, "n_already_stored": 0},
    )
    write_tables(data_dir, tables)
    summary = job.summary_text(tables, ctx.run_id) + f"\n  stories that changed event: {changed}"
    create_markdown_artifact(markdown=f"```\n{summary}\n```", key="storyflow-recluster-summary", description="storyflow recluster")
    return summary
