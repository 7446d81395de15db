"""The parallel stages give the same results however their input is cut into batches."""
from datetime import datetime, timezone

import numpy as np

from pipeline.config import DedupConfig
from pipeline.dedup import update_duplicates
from pipeline.dedup.sketch import Sketcher
from pipeline.events.embed import length_batches, place
from pipeline.ingest.arrivals import arrive, arrive_normalized, origins
from pipeline.ingest.normalize import normalize
from pipeline.parallel import batches, joined_signatures, sketch
from pipeline.records import RawStory
from pipeline.run import Stages
from pipeline.store.state import StoredState

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)
WORDS = "storm flood river town mayor rescue boat bridge water night police school road power".split()


def stories(n: int) -> list[RawStory]:
    rng = np.random.default_rng(3)
    out = [RawStory(f"s{i}", " ".join(rng.choice(WORDS, 30 + i % 7)), title=f"Story {i}") for i in range(n)]
    out.append(RawStory("copy", out[0].body + " Updated ."))  # a near copy, so grouping has work to do
    out.append(RawStory("empty", "Advertisement"))  # a reject
    return out


def test_stages_map_keeps_the_order_and_times_the_stage():
    stages = Stages()
    assert stages.map("square", lambda x, k: x * x + k, [3, 1, 2], 1) == [10, 2, 5]
    assert stages.map("none", len, []) == [] and "square" in stages.timings


def test_batches_cover_the_items_in_order():
    assert batches(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]] and batches([], 3) == []


def test_normalizing_in_batches_arrives_as_normalizing_at_once():
    read = stories(20)
    whole = arrive(StoredState.empty(), read, [], T0)
    parts = [a for part in batches(read, 6) for a in normalize(part, T0)]
    split = arrive_normalized(StoredState.empty(), parts, origins(read), [])
    assert split.fresh == whole.fresh and split.n_known == whole.n_known
    assert [(r.origin, r.reason) for r in split.rejects] == [(r.origin, r.reason) for r in whole.rejects]
    assert len(whole.rejects) == 1


def test_copies_found_from_signatures_sketched_in_batches_are_the_same():
    config = DedupConfig()
    articles = normalize(stories(20)[:-1], T0)
    parts = [sketch(b, config) for b in batches([a.text for a in articles], 4)]
    signatures = joined_signatures(parts, config)
    assert np.array_equal(signatures, Sketcher.of(config).signatures([a.text for a in articles]))
    with_sigs = update_duplicates(articles, [], {}, [], None, config, signatures)
    plain = update_duplicates(articles, [], {}, [], None, config)
    assert with_sigs.group_of == plain.group_of and with_sigs.edges == plain.edges and len(plain.edges) == 1
    assert joined_signatures([], config).shape == (0, Sketcher.of(config).width)


def test_length_batches_put_vectors_back_in_text_order():
    texts = ["ccc", "a", "bb", "dddd", "e"]
    cut = length_batches(texts, 2)
    assert cut == [[1, 4], [2, 0], [3]]
    vectors = [np.array([[len(texts[i])] for i in batch], dtype=np.float32) for batch in cut]
    assert place(cut, vectors, len(texts))[:, 0].tolist() == [3, 1, 2, 4, 1]
