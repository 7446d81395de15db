import numpy as np
import pytest

from pipeline.config import EmbeddingConfig
from pipeline.events import embed
from pipeline.ingest.normalize import normalize
from pipeline.records import utcnow

pytestmark = pytest.mark.slow


def test_cache_embeds_each_story_once_across_runs(seed_stories, tmp_path):
    config = EmbeddingConfig()
    articles = normalize(seed_stories)
    first_cache = embed.EmbeddingCache(tmp_path, config)
    first = embed.embed_cached(articles[:3], first_cache, config)
    assert first_cache.n_embedded == 3 and first_cache.path.exists()
    assert first_cache.path.parent.name == "embeddings" and first_cache.path.parts[-3] == "_cache"

    later = embed.EmbeddingCache(tmp_path, config)  # a new run reads what the last one saved
    vectors = embed.embed_cached(articles, later, config)
    assert later.n_embedded == 2
    assert np.allclose(vectors[:3], first, atol=1e-6)
    assert np.allclose(vectors, embed.embed(articles, config), atol=1e-5)
    # another recipe does not reuse these vectors
    assert embed.EmbeddingCache(tmp_path, config.model_copy(update={"max_seq_length": 64})).vectors == {}
    assert not list(tmp_path.glob("_cache/embeddings/.*.tmp"))


def test_an_unreadable_cache_is_rebuilt_not_a_blocker(seed_stories, tmp_path):
    config = EmbeddingConfig()
    articles = normalize(seed_stories[:2])
    cache = embed.EmbeddingCache(tmp_path, config)
    expected = embed.embed_cached(articles, cache, config)
    cache.path.write_bytes(b"PAR1 this is not parquet")
    again = embed.EmbeddingCache(tmp_path, config)
    assert again.vectors == {}
    assert np.allclose(embed.embed_cached(articles, again, config), expected, atol=1e-5)
    assert embed.EmbeddingCache(tmp_path, config).vectors.keys() == again.vectors.keys()  # saved whole again


def test_progress_after_each_batch_and_same_vectors(seed_stories):
    articles = normalize(seed_stories, utcnow())
    calls = []
    batched = embed.embed(articles, EmbeddingConfig(batch_size=2), progress=lambda done, total: calls.append((done, total)))
    assert calls == [(2, 5), (4, 5), (5, 5)]
    whole = embed.embed(articles, EmbeddingConfig())
    assert batched.shape == whole.shape == (5, 384)
    assert np.allclose(batched, whole, atol=1e-5)
