"""Embed: sentence embeddings of stories, with the model loaded once per process, offline.

Only the headline and lead are embedded, cut to `max_seq_length` word pieces: the lead says
what happened, and self-attention cost grows with length. Lexical evidence (pipeline.lexical)
reads the whole text, so nothing the model skips is lost to clustering. Vectors are cached on
disk keyed by model, text recipe and the exact text embedded, so no story is embedded twice.
"""
from __future__ import annotations

import hashlib
import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.config import EmbeddingConfig, resolve_model_path
from pipeline.records import Article
from pipeline.store.snapshots import write_parquet_atomically

CACHE_DIR = Path("_cache") / "embeddings"  # under the data root; "_" hides it from Parquet readers
log = logging.getLogger(__name__)


@lru_cache(maxsize=2)
def load_model(name: str, device: str = "cpu"):
    """Load a sentence-transformers model by name or path, never reaching the model hub; once per process."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer  # slow import: only when embedding

    return SentenceTransformer(resolve_model_path(name), device=device)


def embedding_text(article: Article, max_words: int) -> str:
    """Headline plus the lead: what the story is about, within the model's window."""
    body = " ".join(article.text.split()[:max_words])
    return f"{article.title}. {body}" if article.title else body


Progress = Callable[[int, int], None]


def length_batches(texts: list[str], batch_size: int) -> list[list[int]]:
    """Model batches as positions in `texts`: sorted by length (stable) so each batch pads little.

    The batches fix what is encoded together, so vectors come out the same however the
    batches are spread over processes.
    """
    order = np.argsort([len(t) for t in texts], kind="stable")
    return [order[start:start + batch_size].tolist() for start in range(0, len(texts), batch_size)]


def encode_batches(batches: list[list[str]], config: EmbeddingConfig) -> list[np.ndarray]:
    """Unit-length float32 embeddings of each batch of texts, one model call per batch."""
    model = load_model(config.model, config.device)
    model.max_seq_length = config.max_seq_length
    return [model.encode(batch, batch_size=config.stories_per_batch, normalize_embeddings=True, show_progress_bar=False)
            for batch in batches]


def place(batches: list[list[int]], vectors: list[np.ndarray], n: int) -> np.ndarray:
    """The vectors of `batches` (positions) back in the order of the texts they were cut from."""
    out = np.empty((n, vectors[0].shape[1]), dtype=np.float32)
    out[np.concatenate(batches)] = np.concatenate(vectors)
    return out


def embed_texts(texts: list[str], config: EmbeddingConfig, progress: Progress | None = None) -> np.ndarray:
    """Unit-length embeddings, one row per text, float32, encoded batch by batch so that
    `progress(done, total)` can report between them."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    batches, parts, done = length_batches(texts, config.stories_per_batch), [], 0
    for batch in batches:
        parts += encode_batches([[texts[i] for i in batch]], config)
        done += len(batch)
        if progress is not None:
            progress(done, len(texts))
    return place(batches, parts, len(texts))


def embed(articles: list[Article], config: EmbeddingConfig, progress: Progress | None = None) -> np.ndarray:
    return embed_texts([embedding_text(a, config.max_words) for a in articles], config, progress)


class EmbeddingCache:
    """Vectors already computed, in one hidden Parquet file per model and text recipe."""

    def __init__(self, data_dir: Path, config: EmbeddingConfig):
        recipe = f"{config.model}\x00{config.max_words}\x00{config.max_seq_length}"
        self.recipe = recipe
        self.path = Path(data_dir) / CACHE_DIR / (hashlib.blake2b(recipe.encode(), digest_size=8).hexdigest() + ".parquet")
        self.vectors: dict[str, np.ndarray] = {}
        if self.path.exists():
            try:
                table = pq.read_table(self.path)
                keys = table.column("key").to_pylist()
                flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
                matrix = flat.reshape(len(keys), -1).astype(np.float32) if keys else flat
                self.vectors = dict(zip(keys, matrix))
            except (OSError, ValueError, KeyError, pa.ArrowException) as exc:  # derived data: rebuilt, never a blocker
                log.warning("%s: unreadable embedding cache (%s); it is rebuilt", self.path, exc)
                self.vectors = {}
        self.n_added = 0  # vectors not yet saved
        self.n_embedded = 0  # vectors computed by the model through this cache

    def key(self, text: str) -> str:
        return hashlib.blake2b(f"{self.recipe}\x00{text}".encode(), digest_size=16).hexdigest()

    def save(self) -> None:
        if not self.n_added:
            return
        keys = list(self.vectors)
        matrix = np.stack([self.vectors[k] for k in keys]).astype(np.float32)
        vector = pa.FixedSizeListArray.from_arrays(pa.array(matrix.ravel()), matrix.shape[1])
        write_parquet_atomically(self.path, pa.table({"key": keys, "vector": vector}))
        self.n_added = 0


def cache_misses(articles: list[Article], cache: EmbeddingCache, config: EmbeddingConfig
                 ) -> tuple[list[str], list[tuple[str, str]]]:
    """The cache key of each article's text, and the (key, text) pairs not in `cache`, each once, by key."""
    texts = [embedding_text(a, config.max_words) for a in articles]
    keys = [cache.key(t) for t in texts]
    return keys, sorted({k: t for k, t in zip(keys, texts) if k not in cache.vectors}.items())


def cache_fill(cache: EmbeddingCache, missing: list[tuple[str, str]], vectors: np.ndarray) -> None:
    """Add the vectors of the `missing` texts to `cache` and save it."""
    if not missing:
        return
    cache.vectors.update(zip((k for k, _ in missing), vectors))
    cache.n_added += len(missing)
    cache.n_embedded += len(missing)
    cache.save()


def cached_vectors(cache: EmbeddingCache, keys: list[str]) -> np.ndarray:
    return np.stack([cache.vectors[k] for k in keys]) if keys else np.zeros((0, 0), dtype=np.float32)


def embed_cached(articles: list[Article], cache: EmbeddingCache, config: EmbeddingConfig,
                 progress: Progress | None = None) -> np.ndarray:
    """Embeddings of `articles`, computing only those not in `cache` (which is then saved)."""
    keys, missing = cache_misses(articles, cache, config)
    if missing:
        cache_fill(cache, missing, embed_texts([t for _, t in missing], config, progress))
    return cached_vectors(cache, keys)
