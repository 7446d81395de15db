"""Embed: sentence embeddings of stories, with the model loaded once per process, offline."""
from __future__ import annotations

import os
from functools import lru_cache

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


def embed(articles: list[Article], model_name: str, batch_size: int = 32, max_words: int = 256) -> np.ndarray:
    """Unit-length embeddings, one row per article, float32."""
    if not articles:
        return np.zeros((0, 0), dtype=np.float32)
    model = load_model(model_name)
    texts = [embedding_text(a, max_words) for a in articles]
    vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)
