"""The main flow: ingest stories, fold duplicates, cluster events, write Parquet."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from pipeline import cluster, embed, ingest, job, near_duplicates, store
from pipeline.config import Settings


@task(retries=2, retry_delay_seconds=[1, 5])
def read_inputs(inputs: str, max_bytes: int):
    return ingest.ingest(Path(inputs), max_bytes=max_bytes)


@task
def load_state(data_dir: str) -> job.StoredState:
    return job.load_state(Path(data_dir))


@task
def find_duplicates(fresh, state: job.StoredState, settings: Settings) -> near_duplicates.DuplicateResult:
    return near_duplicates.update_duplicates(
        fresh, state.articles, state.group_of, state.duplicate_edges, state.minhash_index,
        near_duplicates.DuplicateParams.from_settings(settings),
    )


@task
def embed_articles(articles, settings: Settings) -> np.ndarray:
    return embed.embed(articles, settings.embedding_model, settings.embedding_batch_size, settings.embedding_max_words)


@task
def cluster_events(canonical, vectors: np.ndarray, previous: dict[str, str], settings: Settings) -> dict[str, str]:
    distance = cluster.blended_distance(
        vectors, [a.published_at for a in canonical], settings.event_time_scale_days, settings.event_time_weight
    )
    labels = cluster.cluster_labels(distance, settings.event_min_cluster_size, settings.event_distance)
    return cluster.assign_event_ids([a.article_id for a in canonical], labels, previous)


@task(retries=2, retry_delay_seconds=[1, 5])
def write_tables(data_dir: str, tables) -> None:
    store.commit(Path(data_dir), tables)


@flow(name="storyflow-ingest", log_prints=False)
def ingest_flow(inputs: str = "seeds", data_dir: str = "data") -> str:
    """Run the whole pipeline over `inputs` (a directory or file) into `data_dir`; return a summary."""
    logger = get_run_logger()
    settings = Settings(data_dir=Path(data_dir))
    ctx = job.RunContext()
    read = read_inputs(inputs, settings.max_input_bytes)
    state = load_state(data_dir)
    fresh, n_known, empty = job.new_articles(read.stories, state, ctx.started_at)
    rejects = read.rejects + empty
    logger.info("read %d stories (%d new, %d already stored), %d rejects", len(read.stories), len(fresh), n_known, len(rejects))

    all_articles = state.articles + fresh
    dups = find_duplicates(fresh, state, settings)
    canonical = [a for a in all_articles if dups.group_of[a.article_id] == a.article_id]
    vectors = embed_articles(canonical, settings)
    canonical_event = cluster_events(canonical, vectors, state.event_of, settings)
    event_of = {a.article_id: canonical_event[dups.group_of[a.article_id]] for a in all_articles}

    tables = job.output_tables(
        ctx, inputs, settings.model_dump(mode="json"), state, all_articles, dups, event_of,
        dict(zip((a.article_id for a in canonical), vectors)), rejects,
        {"n_input_files": read.n_inputs, "n_stories_read": len(read.stories),
         "n_new_articles": len(fresh), "n_already_stored": n_known},
    )
    write_tables(data_dir, tables)
    summary = job.summary_text(tables, ctx.run_id)
    create_markdown_artifact(markdown=f"```\n{summary}\n```", key="storyflow-run-summary", description="storyflow run")
    logger.info("run %s written to %s", ctx.run_id, data_dir)
    return summary
