"""The main flow: ingest stories, fold duplicates, cluster events, write Parquet."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from pipeline import cluster, embed, ingest, job, near_duplicates, store
from pipeline.config import Settings


@task(retries=2, retry_delay_seconds=[1, 5])
def read_inputs(sources: list[str], max_bytes: int, timeout_s: float, inbox):
    return ingest.ingest(sources, max_bytes=max_bytes, inbox=inbox, timeout_s=timeout_s)


@task
def load_state(data_dir: str) -> job.StoredState:
    return job.load_state(Path(data_dir))


@task
def find_duplicates(articles, settings: Settings) -> near_duplicates.DuplicateResult:
    rules = near_duplicates.DuplicateRules(settings.dup_jaccard, settings.dup_containment, settings.dup_char_containment)
    return near_duplicates.find_duplicates(
        articles, settings.shingle_words, settings.minhash_perm, settings.minhash_seed, settings.lsh_threshold, rules
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
def ingest_flow(inputs: str = "seeds", data_dir: str = "data", feeds: list[str] | None = None) -> str:
    """Run the whole pipeline over `inputs` (an inbox directory, a file or a URL) and the `feeds`
    URLs into `data_dir`; files and feed entries ingested by earlier runs are skipped. Return a summary."""
    logger = get_run_logger()
    settings = Settings(data_dir=Path(data_dir))
    ctx = job.RunContext()
    state = load_state(data_dir)
    read = read_inputs([inputs, *(feeds or [])], settings.max_input_bytes, settings.fetch_timeout_s, state.inbox())
    fresh, n_known, empty = job.new_articles(read.stories, state, ctx.started_at)
    all_articles, superseded = job.apply_versions(state, fresh)
    rejects = read.rejects + empty
    logger.info("read %d stories (%d new, %d already stored, %d earlier versions replaced), %d inputs already "
                "ingested, %d rejects", len(read.stories), len(fresh), n_known, len(superseded), read.n_seen, len(rejects))

    dups = find_duplicates(all_articles, settings)
    canonical = [a for a in all_articles if dups.group_of[a.article_id] == a.article_id]
    vectors = embed_articles(canonical, settings)
    canonical_event = cluster_events(canonical, vectors, state.event_of, settings)
    event_of = {a.article_id: canonical_event[dups.group_of[a.article_id]] for a in all_articles}

    tables = job.output_tables(
        ctx, " ".join([inputs, *(feeds or [])]), settings.model_dump(mode="json"), state, all_articles, dups, event_of,
        dict(zip((a.article_id for a in canonical), vectors)), rejects,
        {"n_input_files": read.n_inputs, "n_stories_read": len(read.stories),
         "n_new_articles": len(fresh), "n_already_stored": n_known, "n_superseded": len(superseded)},
    )
    tables.update(job.ingest_tables(ctx, state, superseded, read.inbox_rows))
    write_tables(data_dir, tables)
    summary = job.summary_text(tables, ctx.run_id)
    create_markdown_artifact(markdown=f"```\n{summary}\n```", key="storyflow-run-summary", description="storyflow run")
    logger.info("run %s written to %s", ctx.run_id, data_dir)
    return summary
