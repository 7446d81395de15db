"""Per-run overrides of thresholds and model, merged over the configured settings."""
import pydantic
import pytest

from pipeline.config import OVERRIDABLE, RunOverrides, Settings


def test_overrides_replace_only_the_fields_given(monkeypatch):
    monkeypatch.setenv("STORYFLOW_EVENT_DISTANCE", "0.4")
    base = Settings()
    merged = base.with_overrides(RunOverrides(dup_jaccard=0.7, embedding_model="/models/other"))
    assert (merged.dup_jaccard, merged.embedding_model) == (0.7, "/models/other")
    assert merged.event_distance == 0.4  # from the environment, not overridden
    assert base.dup_jaccard == 0.5 and base.with_overrides(None) is base


def test_overrides_are_typed_and_closed():
    assert RunOverrides.model_validate({"event_distance": "0.6"}).event_distance == 0.6
    with pytest.raises(pydantic.ValidationError):
        RunOverrides(event_distance="far")
    with pytest.raises(pydantic.ValidationError):
        RunOverrides(max_input_bytes=1)  # limits and paths are not per-run settings


def test_every_overridable_field_is_a_setting_with_a_description():
    schema = RunOverrides.model_json_schema()["properties"]
    assert set(schema) == set(OVERRIDABLE) <= set(Settings.model_fields)
    assert all(schema[name]["description"] for name in OVERRIDABLE)


def test_each_store_has_its_own_write_lock_whatever_the_path_spelling(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    here = Settings(data_dir="data").store_lock()
    assert here == Settings(data_dir=tmp_path / "sub" / ".." / "data").store_lock()
    assert here != Settings(data_dir="other").store_lock()
    assert here.startswith("storyflow-store-writer-")
