import random

import numpy as np
import pytest
from datasketch import MinHash

from pipeline.config import DedupConfig
from pipeline.dedup.sketch import MinHasher, Sketcher, candidate_pairs, gram_codes

CONFIG = DedupConfig()


def test_batch_minhash_is_datasketch_minhash_and_estimates_jaccard():
    hasher = MinHasher(num_perm=256, seed=3)
    rng = random.Random(5)
    words = [f"{rng.choice('bdgkmpt')}{rng.choice('aeiou')}{rng.choice('lnrsv')}" * 2 for _ in range(600)]
    a, b = " ".join(words[:400]), " ".join(words[200:])  # about a third shared
    sig = hasher.signatures([a, b])

    codes, owner = gram_codes([a])
    mine = codes[hasher.sampled(codes)]
    reference = MinHash(num_perm=256, seed=3, scheme="affine32", hashfunc=int)
    reference.update_batch([int(x) for x in hasher.input_hashes(mine)])
    np.testing.assert_array_equal(reference.hashvalues, sig[0])

    ga, gb = (set(gram_codes([t])[0][hasher.sampled(gram_codes([t])[0])].tolist()) for t in (a, b))
    exact = len(ga & gb) / len(ga | gb)
    assert hasher.minhash(sig[0]).jaccard(hasher.minhash(sig[1])) == pytest.approx(exact, abs=0.08)


def test_candidates_of_a_few_queries_are_those_of_the_whole_batch_that_involve_them():
    # the screened path (few queries against a large index) must find what a full sort finds
    rng = np.random.default_rng(11)
    sketcher = Sketcher.of(CONFIG)
    signatures = rng.integers(0, 50, size=(3000, sketcher.width), dtype=np.uint32)  # few values: many shared bands
    signatures[2990:] = signatures[:10]  # ten exact copies among the queries
    keys = sketcher.band_keys(signatures)
    queries = np.arange(2950, 3000)
    few = candidate_pairs(keys, queries, max_bucket=10_000)
    every = candidate_pairs(keys, np.arange(3000), max_bucket=10_000)
    involved = every[np.isin(every, queries).any(axis=1)]
    np.testing.assert_array_equal(few, involved)
    assert {(i, 2990 + i) for i in range(10)} <= set(map(tuple, few.tolist()))


def test_the_stage_sketch_is_the_minhash_of_sampled_grams():
    sketcher = Sketcher.of(CONFIG)
    texts = ["Officials said the bridge would reopen on Monday after repairs. " * 12, "short text", ""]
    sig = sketcher.signatures(texts, texts_per_pass=2)  # a pass boundary inside the batch
    np.testing.assert_array_equal(sig[:, : sketcher.num_perm], MinHasher(sketcher.num_perm, sketcher.seed).signatures(texts))
    assert (sig[2] == np.iinfo(np.uint32).max).all()  # no grams, no minima
