import numpy as np
import pytest

from pipeline import embed
from pipeline.config import Settings
from pipeline.normalize import normalize

pytestmark = pytest.mark.slow


def test_cache_embeds_each_story_once_across_runs(seed_stories, tmp_path):
    s = Settings()
    articles = normalize(seed_stories)
    args = (s.embedding_model, s.embedding_batch_size, s.embedding_max_words, s.embedding_max_seq_length)
    recipe = (s.embedding_model, s.embedding_max_words, s.embedding_max_seq_length)
    first_cache = embed.EmbeddingCache(tmp_path, *recipe)
    first = embed.embed_cached(articles[:3], first_cache, *args)
    assert first_cache.n_embedded == 3 and first_cache.path.exists()
    assert first_cache.path.parent.name == "embeddings" and first_cache.path.parts[-3] == "_cache"

    later = embed.EmbeddingCache(tmp_path, *recipe)  # a new run reads what the last one saved
    vectors = embed.embed_cached(articles, later, *args)
    assert later.n_embedded == 2
    assert np.allclose(vectors[:3], first, atol=1e-6)
    assert np.allclose(vectors, embed.embed(articles, *args), atol=1e-5)
    # another recipe does not reuse these vectors
    assert embed.EmbeddingCache(tmp_path, s.embedding_model, s.embedding_max_words, 64).vectors == {}
    assert not list(tmp_path.glob("_cache/embeddings/.*.tmp"))
