"""The main flow: ingest stories, fold duplicates, cluster events, write Parquet."""
from __future__ import annotations

from datetime import date
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact, update_progress_artifact

from flows.store_lock import store_write_slot
from pipeline import date_window, embed, ingest, job, near_duplicates, report, store
from pipeline.config import RunOverrides, Settings


# I/O that can fail for passing reasons (network mounts, a file still being copied) is retried with backoff.
IO_RETRIES = dict(retries=3, retry_delay_seconds=[2, 10, 30], retry_jitter_factor=0.5)


@task(**IO_RETRIES)
def read_inputs(sources: list[str], max_bytes: int, timeout_s: float, inbox):
    return ingest.ingest(sources, max_bytes=max_bytes, inbox=inbox, timeout_s=timeout_s)


@task(**IO_RETRIES)
def load_state(data_dir: str) -> job.StoredState:
    return job.load_state(Path(data_dir))


@task
def find_duplicates(fresh, state: job.StoredState, settings: Settings) -> near_duplicates.DuplicateResult:
    return near_duplicates.update_duplicates(
        fresh, state.articles, state.group_of, state.duplicate_edges, state.minhash_index,
        near_duplicates.DuplicateParams.from_settings(settings),
    )


@task
def embed_articles(articles, data_dir: str, settings: Settings) -> dict:
    """Vectors by article id; only stories not in the embedding cache reach the model."""
    artifact_id = create_progress_artifact(
        0.0, key="storyflow-embedding", description=f"embedding {len(articles)} canonical stories"
    )

    def forward(done: int, total: int) -> None:
        update_progress_artifact(artifact_id, 100.0 * done / total, description=f"embedded {done} of {total} new stories")

    cache = embed.EmbeddingCache(Path(data_dir), settings.embedding_model, settings.embedding_max_words,
                                 settings.embedding_max_seq_length)
    vectors = embed.embed_cached(articles, cache, settings.embedding_model, settings.embedding_batch_size,
                                 settings.embedding_max_words, settings.embedding_max_seq_length, progress=forward)
    if cache.n_embedded == 0:
        update_progress_artifact(artifact_id, 100.0, description="all stories were in the embedding cache")
    get_run_logger().info("embedded %d stories, %d from the cache", cache.n_embedded, len(articles) - cache.n_embedded)
    return dict(zip((a.article_id for a in articles), vectors))


@task
def cluster_events(articles, dups, vectors: dict, state: job.StoredState, settings: Settings, rebuild=None) -> job.EventResult:
    return job.assign_events(articles, dups, vectors, state, settings, rebuild)


@task(**IO_RETRIES)
def write_tables(data_dir: str, tables) -> None:
    store.commit(Path(data_dir), tables)


@flow(name="storyflow-ingest", log_prints=False)
def ingest_flow(
    inputs: str = "seeds",
    data_dir: str = "data",
    feeds: list[str] | None = None,
    overrides: RunOverrides | None = None,
    published_from: date | None = None,
    published_to: date | None = None,
) -> str:
    """Run the whole pipeline over `inputs` and `feeds` into `data_dir`; return a summary.

    Files and feed entries ingested by earlier runs are skipped (the inbox log).

    Args:
        inputs: inbox directory, one file, or a feed URL (relative paths are from the deployment's directory)
        data_dir: output root holding the Parquet tables
        feeds: RSS/Atom feed URLs to read as well
        overrides: thresholds and model for this run only; empty fields keep the configured settings
        published_from: if set, only stories published on or after this day (UTC)
        published_to: if set, only stories published on or before this day (UTC)
    """
    settings = Settings(data_dir=Path(data_dir)).with_overrides(overrides)
    # the inbox log is part of the stored state, so reading happens inside the write slot too
    with store_write_slot(settings):
        return write_run([inputs, *(feeds or [])], data_dir, settings, published_from, published_to)


def write_run(sources: list[str], data_dir: str, settings: Settings, published_from, published_to) -> str:
    """Read the stored state and the sources, add what is new, commit; the caller holds the write slot."""
    logger = get_run_logger()
    ctx = job.RunContext()
    state = load_state(data_dir)
    event_before = dict(state.event_of)  # the run changes state.event_of as versions and withdrawals hand over
    windowed = bool(published_from or published_to)
    read = read_inputs(sources, settings.max_input_bytes, settings.fetch_timeout_s, job.run_inbox(state, windowed))
    # withdrawal notices apply whatever the window: a story taken down stays down in a backfill too
    stories, notices = job.split_notices(read.stories)
    window = date_window.published_within(stories, published_from, published_to)
    if windowed:
        logger.info(
            "published %s..%s: %d stories kept, %d outside, %d undated left out",
            published_from or "", published_to or "", len(window.stories), window.n_outside, window.n_undated,
        )
    fresh, n_known, empty = job.new_articles(window.stories, state, ctx.started_at)
    all_articles, superseded = job.apply_versions(state, fresh)
    all_articles, withdrawn, notices = job.apply_withdrawals(state, all_articles, notices)
    rejects = read.rejects + empty
    logger.info("read %d stories (%d new, %d already stored, %d earlier versions replaced, %d taken down by %d new "
                "withdrawal notices), %d inputs already ingested, %d rejects", len(read.stories), len(fresh), n_known,
                len(superseded), len(withdrawn), len(notices), read.n_seen, len(rejects))

    stored_ids = {a.article_id for a in state.articles}
    dups = find_duplicates([a for a in all_articles if a.article_id not in stored_ids], state, settings)
    canonical = [a for a in all_articles if dups.group_of[a.article_id] == a.article_id]
    vectors = embed_articles(canonical, data_dir, settings)
    events = cluster_events(all_articles, dups, vectors, state, settings)

    tables = job.output_tables(
        ctx, " ".join(sources), settings.model_dump(mode="json"), state, all_articles, dups, events, vectors, rejects,
        {"n_input_files": read.n_inputs, "n_stories_read": len(read.stories),
         "n_new_articles": len(fresh), "n_already_stored": n_known, "n_superseded": len(superseded),
         "n_withdrawn": len(withdrawn)},
    )
    tables.update(job.ingest_tables(ctx, state, superseded + withdrawn, [] if windowed else read.inbox_rows, notices))
    write_tables(data_dir, tables)
    run_report = report.run_report(tables, ctx.run_id, event_before)
    create_markdown_artifact(markdown=run_report.markdown, key="storyflow-run-summary", description=f"storyflow run {ctx.run_id}")
    create_table_artifact(table=run_report.events_touched, key="storyflow-events-touched", description="events this run created, updated or merged")
    logger.info("run %s written to %s: %s", ctx.run_id, data_dir, run_report.counts)
    return job.summary_text(tables, ctx.run_id)
