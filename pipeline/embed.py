"""Embed: sentence embeddings of stories, with the model loaded once per process, offline."""
from __future__ import annotations

import os
from functools import lru_cache
from typing import Callable

import numpy as np

from pipeline.config import resolve_model_path
from pipeline.records import Article


@lru_cache(maxsize=2)
def load_model(name: str):
    """Load a sentence-transformers model by name or path, never reaching the model hub."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer  # slow import: only when embedding

    return SentenceTransformer(resolve_model_path(name), device="cpu")


def embedding_text(article: Article, max_words: int) -> str:
    """Headline plus the lead: what the story is about, within the model's window."""
    body = " ".join(article.text.split()[:max_words])
    return f"{article.title}. {body}" if article.title else body


def embed(
    articles: list[Article],
    model_name: str,
    batch_size: int = 32,
    max_words: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Unit-length embeddings, one row per article, float32.

    Encodes batch by batch so that `progress(done, total)` can report after each one.
    """
    if not articles:
        return np.zeros((0, 0), dtype=np.float32)
    model = load_model(model_name)
    texts = [embedding_text(a, max_words) for a in articles]
    parts = []
    for start in range(0, len(texts), batch_size):
        batch = texts[start : start + batch_size]
        parts.append(model.encode(batch, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False))
        if progress is not None:
            progress(start + len(batch), len(texts))
    return np.asarray(np.concatenate(parts), dtype=np.float32)
