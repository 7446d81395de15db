import json

import numpy as np
import pytest

from pipeline.config import EventConfig
from pipeline.events import cluster, model
from pipeline.ingest.normalize import normalize_story
from pipeline.records import RawStory

TEXTS = ["A magnitude 6.5 earthquake struck near Ferndale in Humboldt County, shaking homes in Eureka.",
         "Ferndale residents in Humboldt County cleaned up after the 6.5 quake; Eureka lost power.",
         "Riverside County was rattled by a 4.4 earthquake centred by Lake Elsinore; homes in Perris shook.",
         "The 4.4 temblor near Lake Elsinore cracked walls in Perris, Riverside County officials said.",
         "The central bank raised its main interest rate by a quarter point on Thursday, citing inflation.",
         "Shares in the chipmaker fell eight percent after it cut its sales forecast for the year.",
         "The museum reopened its west wing after a three-year renovation that restored the painted ceiling."]


def window():
    stories = [normalize_story(RawStory(source_id=f"s{i}", body=t)) for i, t in enumerate(TEXTS)]
    vectors = np.random.default_rng(0).normal(size=(len(stories), 64)).astype(np.float32)
    return stories, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_the_committed_model_reads_this_code_s_features_and_has_a_cut_per_clusterer():
    m = model.default_model()
    raw = json.loads(model.MODEL_FILE.read_text())
    assert raw["features"] == list(model.FEATURES) and len(m.coef) == len(m.features) == len(m.mean)
    assert set(m.cuts) == set(cluster.CLUSTERERS) and all(0 < c < 1 for c in m.cuts.values())
    assert 0 <= m.scaling <= 1


def test_a_model_file_with_other_features_is_refused(tmp_path):
    raw = json.loads(model.MODEL_FILE.read_text())
    raw["features"] = raw["features"][1:]
    (tmp_path / "m.json").write_text(json.dumps(raw))
    with pytest.raises(ValueError, match="train it again"):
        model.SameEventModel.load(tmp_path / "m.json")


def test_probability_in_blocks_is_the_regression_on_every_pair(monkeypatch):
    stories, vectors = window()
    m = model.default_model()
    terms = model.window_terms(stories, vectors, EventConfig().common_line_share)
    x = (model.pair_features(terms).astype(np.float64) - m.mean) / m.scale
    expected = 1 / (1 + np.exp(-(x @ np.asarray(m.coef) + m.intercept)))
    np.fill_diagonal(expected, 1.0)
    monkeypatch.setattr(model, "BLOCK", 3)  # blocks computed from their diagonal on, mirrored below it
    p = m.probability(terms)
    assert np.allclose(p, expected, atol=1e-5) and np.allclose(p, p.T)


def test_the_cut_is_the_model_s_unless_a_run_sets_one():
    stories, vectors = window()
    for clusterer in cluster.CLUSTERERS:
        _, cut = model.window_distance(stories, vectors, EventConfig(clusterer=clusterer))
        assert cut == model.default_model().cuts[clusterer]
    assert model.window_distance(stories, vectors, EventConfig(distance=0.3))[1] == 0.3


def test_names_and_numbers_make_reports_of_one_event_likely_the_same():
    stories, vectors = window()
    p = model.default_model().probability(model.window_terms(stories, vectors, EventConfig().common_line_share))
    assert p[0, 1] > 0.5 and p[2, 3] > 0.5
    assert max(p[0, 2], p[1, 3], p[0, 4], p[4, 5]) < 0.5


def test_stories_published_apart_lose_log_odds_unless_a_time_is_unknown():
    stories, vectors = window()
    m = model.default_model()
    terms = model.window_terms(stories, vectors, EventConfig().common_line_share)
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    undated = m.probability(terms)
    days = np.zeros(len(stories))
    days[1] = 3.5  # half the scale apart from the others
    days[3] = np.nan
    dated = m.probability(terms, days, scale_days=7.0, gap_log_odds=4.0)
    assert logit(dated[1, 4]) == pytest.approx(logit(undated[1, 4]) - 2.0, abs=1e-3)
    assert dated[0, 2] == pytest.approx(undated[0, 2]) and dated[2, 3] == pytest.approx(undated[2, 3])
    assert np.allclose(dated, dated.T)
