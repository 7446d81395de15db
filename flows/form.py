"""The per-run settings as the Prefect run form and `storyflow ... --set` present them.

`RunSettings` is `pipeline.config.RunOverrides` (same fields, types and checks, so
`Settings.with_overrides` takes it) with titles and descriptions written for the people who
start runs: what a field changes and which way is stricter, not how it is computed.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic.json_schema import SkipJsonSchema

from pipeline.config import RunOverrides, Settings

# field -> (title, what it does, in plain words)
PLAIN = {
    "ingest__backfill_window_days": (
        "Backfill: days per window",
        "A backfill stores its archive this many publication days at a time, oldest first, each window a run of "
        "its own; an interrupted backfill goes on at the first window not stored. Larger windows hold more in "
        "memory at once."),
    "dedup__jaccard": (
        "Copies: shared wording",
        "How much of their wording two stories must share, counted over both, to count as copies of one story. "
        "From 0 to 1; higher is stricter (fewer stories folded together as copies)."),
    "dedup__containment": (
        "Copies: shorter story found in longer",
        "How much of the shorter story must appear in the longer one for it to count as a copy (catches trimmed "
        "or extended copies). From 0 to 1; higher is stricter."),
    "dedup__char_containment": (
        "Copies: damaged text",
        "The same test letter by letter instead of word by word, for copies with typos, broken characters or "
        "changed punctuation. From 0 to 1; higher is stricter."),
    "dedup__paragraph_containment": (
        "Copies: re-wrapped text",
        "How much of the shorter story's paragraphs must appear in the longer one, for copies republished with "
        "other headlines, links or line breaks. From 0 to 1; higher is stricter."),
    "embedding__model": (
        "Language model",
        "The sentence-transformers model that reads stories to compare their meaning: a model name or a folder "
        "on the machine running the flow. A new model reads every story again (slow)."),
    "embedding__device": (
        "Language model: device",
        "Where the language model runs: cpu, or cuda (cuda:1, ...) on a machine or Dask worker with an NVIDIA GPU. "
        "Every worker must have that device."),
    "events__distance": (
        "Events: how close",
        "How alike stories must be to be grouped as one event. Lower is stricter: more, smaller events; "
        "higher groups more stories together."),
    "events__clusterer": (
        "Events: grouping method",
        "How stories are grouped into events once compared: \"average\" (a story joins an event it is close to on "
        "average) or \"hdbscan\" (density-based grouping of the same comparisons)."),
    "events__embedding_weight": (
        "Events: meaning against shared words",
        "How much the language model's sense of meaning counts when comparing stories, against shared names "
        "and words. From 0 (shared words only) to 1 (meaning only)."),
    "events__time_weight": (
        "Events: date gap penalty",
        "How strongly stories published far apart are kept in separate events. 0 ignores dates."),
    "events__time_scale_days": (
        "Events: days for the full date penalty",
        "How many days apart two stories must be for the date gap penalty to count in full."),
    "storylines__distance": (
        "Storylines: how close",
        "How alike events must be to be grouped into one storyline (a longer-running story). Lower is stricter."),
}


def _setting(key: str) -> FieldInfo:
    """The field of `Settings` that a per-run setting replaces."""
    section, name = key.split("__", 1)
    return Settings.model_fields[section].annotation.model_fields[name]


def _default(key: str):
    return _setting(key).default


def _plain_field(key: str):
    setting = _setting(key)
    title, text = PLAIN[key]
    # the setting's own bounds (ge, le ...) come along: the form's number boxes and --set check them
    kind = Annotated[(setting.annotation, *setting.metadata)] if setting.metadata else setting.annotation
    return (kind | SkipJsonSchema[None], Field(None, title=title, description=f"{text} Default: {_default(key)}.",
                                               json_schema_extra=lambda schema: schema.pop("default", None)))


RunSettings = create_model(
    "RunSettings",
    __base__=RunOverrides,
    __config__=None,
    __doc__="Settings for this run only. Leave a box empty to keep the usual value.",
    **{key: _plain_field(key) for key in RunOverrides.model_fields},
)
RunSettings.model_config = ConfigDict(**RunOverrides.model_config, title="Settings for this run")
RunSettings.model_rebuild(force=True)

# A parameter that may be left out: neither null in its type (the Prefect UI would show a type switch and leave
# the Type column blank) nor required.
Unset = SkipJsonSchema[None]


def form_schema(properties: dict[str, dict], required: list[str]) -> dict[str, dict]:
    """A flow's parameter schema as the Prefect UI should draw it. Prefect writes the default of a parameter that
    may be left out (None) into the schema, and the UI then sends null, which the schema refuses; the default is
    dropped so an empty box is left out. A model parameter (a `$ref`) gets its type, "object", for the Type column."""
    fixed = {}
    for name, prop in properties.items():
        prop = dict(prop)
        if name not in required and "default" in prop and prop["default"] is None:
            del prop["default"]
        if "$ref" in prop and "type" not in prop:
            prop["type"] = "object"
        fixed[name] = prop
    return fixed


def parse_sets(pairs: list[str]) -> RunSettings | None:
    """`--set SECTION__FIELD=VALUE` pairs as validated settings; a ValueError says which pair is wrong."""
    given: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace(".", "__").lower()
        if not sep or not key:
            raise ValueError(f"--set {pair!r}: expected SECTION__FIELD=VALUE, e.g. events__distance=0.7")
        if key not in RunSettings.model_fields:
            raise ValueError(f"--set {pair!r}: no such setting; one of {', '.join(RunSettings.model_fields)}")
        given[key] = value.strip()
    if not given:
        return None
    try:
        return RunSettings.model_validate(given)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = str(first["loc"][0]) if first["loc"] else "?"
        raise ValueError(f"--set {key}={given.get(key, '')}: {first['msg']}") from None


def settings_help() -> str:
    """The settings `--set` takes, one a line, for --help."""
    return "\n".join(f"  {key:30s} {PLAIN[key][0]} (default {_default(key)})" for key in RunSettings.model_fields)
