import numpy as np
import pytest

from pipeline import cluster, embed
from pipeline.config import Settings
from pipeline.normalize import normalize


@pytest.fixture(scope="module")
def seed_vectors(seed_stories):
    articles = normalize(seed_stories)
    return articles, embed.embed(articles, Settings().embedding_model)


@pytest.mark.slow
def test_real_model_gives_unit_vectors(seed_vectors):
    _, vectors = seed_vectors
    assert vectors.shape == (5, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


@pytest.mark.slow
def test_seed_events(seed_vectors):
    articles, vectors = seed_vectors
    s = Settings()
    distance = cluster.blended_distance(vectors, [a.published_at for a in articles], s.event_time_scale_days, s.event_time_weight)
    labels = cluster.cluster_labels(distance, s.event_min_cluster_size, s.event_distance)
    groups = {}
    for a, label in zip(articles, labels):
        groups.setdefault(label, set()).add(a.source_id[:3])
    assert sorted(map(sorted, groups.values())) == [["000", "001", "002"], ["003"], ["004"]]


def test_event_ids_carry_over_by_member_overlap():
    ids = ["a", "b", "c", "d"]
    first = cluster.assign_event_ids(ids, np.array([0, 0, 1, 2]), previous={})
    assert first["a"] == first["b"] != first["c"]
    # a new story joins a's event; c and d merge: the bigger share keeps its id
    ids2 = ids + ["e"]
    second = cluster.assign_event_ids(ids2, np.array([0, 0, 1, 1, 0]), previous=first)
    assert second["a"] == second["e"] == first["a"]
    assert second["c"] == second["d"] in (first["c"], first["d"])
    # the same input twice gives the same ids
    assert cluster.assign_event_ids(ids, np.array([0, 0, 1, 2]), previous={}) == first


def test_time_apart_adds_distance():
    v = np.array([[1.0, 0.0], [1.0, 0.0]], dtype=np.float32)
    from datetime import datetime, timezone
    near = [datetime(2020, 1, 1, tzinfo=timezone.utc), datetime(2020, 1, 1, 6, tzinfo=timezone.utc)]
    far = [datetime(2020, 1, 1, tzinfo=timezone.utc), datetime(2020, 6, 1, tzinfo=timezone.utc)]
    assert cluster.blended_distance(v, near)[0, 1] < cluster.blended_distance(v, far)[0, 1]
    assert cluster.blended_distance(v, [None, far[1]])[0, 1] == pytest.approx(0.0, abs=1e-6)
