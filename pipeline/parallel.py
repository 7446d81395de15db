"""The parallel stages of a run: per-story work cut into batches that any process can do.

Normalization, MinHash sketching and embedding look at one story at a time, so a run hands
them out in batches (`Stages.map`) and puts the results back in order; what they return
does not depend on how the batches are cut or where they run. Grouping copies, clustering
and the commit read everything at once and stay in the run's own process.
"""
from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import numpy as np

from pipeline.config import DedupConfig, EmbeddingConfig
from pipeline.dedup.sketch import Sketcher
from pipeline.events.embed import EmbeddingCache, cache_misses, length_batches

T = TypeVar("T")


def batches(items: list[T], size: int) -> list[list[T]]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def sketch(texts: list[str], config: DedupConfig) -> np.ndarray:
    """MinHash signatures of `texts` (one row each): `update_duplicates`' `new_signatures`."""
    return Sketcher.of(config).signatures(texts)


def joined_signatures(parts: list[np.ndarray], config: DedupConfig) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros((0, Sketcher.of(config).width), dtype=np.uint32)


class EmbeddingPlan:
    """What an embedding stage has to compute: the texts missing from the store's cache, cut
    into model batches along their length order, and those batches grouped into tasks."""

    def __init__(self, articles: list, data_dir: Path, config: EmbeddingConfig, stories_per_task: int):
        self.cache = EmbeddingCache(data_dir, config)
        self.keys, self.missing = cache_misses(articles, self.cache, config)
        texts = [t for _, t in self.missing]
        self.model_batches = length_batches(texts, config.stories_per_batch)
        per_task = max(1, stories_per_task // config.stories_per_batch)
        self.tasks = batches([[texts[i] for i in batch] for batch in self.model_batches], per_task)


def plan_embedding(articles: list, data_dir: Path, config: EmbeddingConfig, stories_per_task: int) -> EmbeddingPlan:
    return EmbeddingPlan(articles, data_dir, config, stories_per_task)
