"""The main flow: ingest stories, fold duplicates, cluster events, write Parquet."""
from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from pipeline import embed, ingest, job, near_duplicates, store
from pipeline.config import Settings


@task(retries=2, retry_delay_seconds=[1, 5])
def read_inputs(inputs: str, max_bytes: int):
    return ingest.ingest(Path(inputs), max_bytes=max_bytes)


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
def embed_articles(articles, data_dir: str, settings: Settings) -> dict:
    """Vectors by article id; only stories not in the embedding cache reach the model."""
    cache = embed.EmbeddingCache(Path(data_dir), settings.embedding_model, settings.embedding_max_words,
                                 settings.embedding_max_seq_length)
    vectors = embed.embed_cached(articles, cache, settings.embedding_model, settings.embedding_batch_size,
                                 settings.embedding_max_words, settings.embedding_max_seq_length)
    get_run_logger().info("embedded %d stories, %d from the cache", cache.n_embedded, len(articles) - cache.n_embedded)
    return dict(zip((a.article_id for a in articles), vectors))


@task
def cluster_events(articles, dups, vectors: dict, state: job.StoredState, settings: Settings, rebuild=None) -> job.EventResult:
    return job.assign_events(articles, dups, vectors, state, settings, rebuild)


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
    dups = find_duplicates(all_articles, settings)
    canonical = [a for a in all_articles if dups.group_of[a.article_id] == a.article_id]
    vectors = embed_articles(canonical, data_dir, settings)
    events = cluster_events(all_articles, dups, vectors, state, settings)

    tables = job.output_tables(
        ctx, inputs, settings.model_dump(mode="json"), state, all_articles, dups, events, vectors, rejects,
        {"n_input_files": read.n_inputs, "n_stories_read": len(read.stories),
         "n_new_articles": len(fresh), "n_already_stored": n_known},
    )
    write_tables(data_dir, tables)
    summary = job.summary_text(tables, ctx.run_id)
    create_markdown_artifact(markdown=f"```\n{summary}\n```", key="storyflow-run-summary", description="storyflow run")
    logger.info("run %s written to %s", ctx.run_id, data_dir)
    return summary
