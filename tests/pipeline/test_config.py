"""Settings: one section per stage, set from the environment, overridden per run."""
import pydantic
import pytest

from pipeline.config import EventConfig, Settings


def test_sections_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("STORYFLOW_EVENTS__DISTANCE", "0.4")
    monkeypatch.setenv("STORYFLOW_DATA_DIR", "/srv/news")
    settings = Settings()
    assert settings.events.distance == 0.4 and str(settings.data_dir) == "/srv/news"
    assert settings.dedup.jaccard == 0.5  # untouched sections keep their defaults


def test_overrides_replace_only_the_fields_given(monkeypatch):
    monkeypatch.setenv("STORYFLOW_EVENTS__DISTANCE", "0.4")
    base = Settings()
    merged = base.with_overrides({"dedup": {"jaccard": 0.7}, "embedding": {"model": "/models/other"}})
    assert (merged.dedup.jaccard, merged.embedding.model) == (0.7, "/models/other")
    assert merged.events.distance == 0.4  # from the environment, not overridden
    assert base.dedup.jaccard == 0.5 and base.with_overrides(None) is base


def test_overrides_are_typed_and_closed():
    assert Settings().with_overrides({"events": {"distance": "0.6"}}).events.distance == 0.6
    with pytest.raises(pydantic.ValidationError):
        Settings().with_overrides({"events": {"distance": "far"}})
    with pytest.raises(pydantic.ValidationError):
        Settings().with_overrides({"events": {"no_such_knob": 1}})
    with pytest.raises(ValueError):
        Settings().with_overrides({"nowhere": {"distance": 1}})


def test_every_setting_says_what_it_means():
    for section in Settings.model_fields.values():
        model = section.annotation
        if isinstance(model, type) and issubclass(model, pydantic.BaseModel):
            missing = [name for name, f in model.model_fields.items() if not f.description]
            assert not missing, f"{model.__name__}: {missing}"
    assert EventConfig.model_config["frozen"]


def test_the_run_form_offers_typed_boxes_that_map_onto_the_sections():
    from pipeline.config import OVERRIDABLE, RunOverrides

    form = RunOverrides.model_json_schema()["properties"]
    assert len(form) == sum(map(len, OVERRIDABLE.values()))
    assert form["events__distance"]["type"] == "number" and "default" not in form["events__distance"]  # no switch
    assert form["events__distance"]["description"].startswith("max mean blended distance")
    overrides = RunOverrides(events__distance="0.6", embedding__model="/models/other")
    assert overrides.by_section() == {"events": {"distance": 0.6}, "embedding": {"model": "/models/other"}}
    assert Settings().with_overrides(overrides).events.distance == 0.6
    with pytest.raises(pydantic.ValidationError):
        RunOverrides(ingest__max_input_bytes=1)  # limits and paths are not per-run settings


def test_the_event_clusterer_is_set_from_the_environment_and_checked(monkeypatch):
    assert Settings().events.clusterer == "average"
    monkeypatch.setenv("STORYFLOW_EVENTS__CLUSTERER", "hdbscan")
    assert Settings().events.clusterer == "hdbscan"
    monkeypatch.setenv("STORYFLOW_EVENTS__CLUSTERER", "kmeans")
    with pytest.raises(pydantic.ValidationError):
        Settings()
