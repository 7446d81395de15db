"""Embedding in batches reports progress and gives the same vectors as one pass."""
import numpy as np
import pytest

from pipeline.config import Settings
from pipeline.embed import embed
from pipeline.normalize import normalize
from pipeline.records import utcnow

pytestmark = pytest.mark.slow


def test_progress_after_each_batch_and_same_vectors(seed_stories):
    articles = normalize(seed_stories, utcnow())
    model = Settings().embedding_model
    calls = []
    batched = embed(articles, model, batch_size=2, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]
    whole = embed(articles, model, batch_size=32)
    assert batched.shape == whole.shape == (5, 384)
    assert np.allclose(batched, whole, atol=1e-5)
