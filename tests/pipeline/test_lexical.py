import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from pipeline import cluster, lexical

DOCS = [
    "A magnitude 6.5 earthquake struck near Ferndale in Humboldt County on Monday, Eureka said.",
    "Ferndale's residents cleaned up after the 6.5 quake; EUREKA lost power, and eBay's site too.",
    "The Senate passed a 1,200-page bill on Tuesday. Sen. McCain's vote decided it, 51-49.",
    "",
    "the and of",  # stop words only
    "Pro-Russian rebels shelled Donetsk's airport; the U.N. counted 3,000 dead, 1.5 million displaced.",
]


def _by_term(counts: sparse.csr_matrix, vocabulary: list[str]) -> list[dict[str, float]]:
    return [{vocabulary[j]: float(counts[i, j]) for j in counts[i].indices} for i in range(counts.shape[0])]


def test_term_counts_equal_scikit_learn_counting():
    # the hand-rolled counter must count exactly what CountVectorizer with the same analyzers counts
    evidence, words, pairs = lexical.term_counts(DOCS)
    for ours, analyzer in ((evidence, lexical.evidence_terms), (words, CountVectorizer(stop_words="english").build_analyzer()),
                           (pairs, lexical.content_word_pairs)):
        reference = CountVectorizer(analyzer=analyzer).fit(DOCS)
        expected = _by_term(reference.transform(DOCS).tocsr(), list(reference.get_feature_names_out()))
        seen = {}
        for row in (analyzer(d) for d in DOCS):
            for term in row:
                seen.setdefault(term, len(seen))
        names = sorted(seen, key=seen.get)
        assert _by_term(ours, names) == expected
    assert "ferndale" in lexical.evidence_terms(DOCS[1]) and "bay" not in lexical.evidence_terms(DOCS[1])
    assert "3000" in lexical.evidence_terms(DOCS[5])


def test_content_word_pairs_skip_stop_words_and_keep_order():
    assert lexical.content_word_pairs("The Red Sox made an offer to Mark Teixeira.") == [
        "red sox", "sox offer", "offer mark", "mark teixeira"]
    assert lexical.content_word_pairs("the and of quake") == []


def test_term_counts_of_no_terms_is_empty():
    counts = lexical.term_counts(["the and of", ""])
    assert [c.shape for c in counts] == [(2, 0)] * 3
    assert len(lexical.term_counts(["the and of", ""], word_pairs=False)) == 2


def test_upper_triangle_product_equals_full_product():
    rows = sparse.random(37, 50, density=0.2, format="csr", dtype=np.float32, random_state=3)
    for block_size in (1, 5, 16, 37, 64):
        out = np.full((37, 37), 0.5, dtype=np.float32)
        cluster._add_cosines(out, rows, block_size=block_size)
        assert np.allclose(out, 0.5 + (rows @ rows.T).toarray(), atol=1e-6)


def test_keywords_name_what_sets_a_group_apart_in_words_years_and_decimals():
    quake = ["A 6.5 quake struck Ferndale in 1992; call 0845 404 2222 for help.",
             "Ferndale and Eureka lost power after the 6.5 quake, 125 homes damaged."]
    senate = ["The Senate passed the bill 51-49; McCain voted yes.", "McCain and the Senate, 125 pages later."]
    quake_words, senate_words = lexical.keywords([quake, senate])
    assert quake_words[:2] == ["6.5", "ferndale"] and "1992" in quake_words and "eureka" in quake_words
    assert senate_words[:2] == ["mccain", "senate"]
    # numbers that say nothing on their own are left out, though they still count as evidence
    assert not {"0845", "404", "2222", "125", "51-49", "51", "49"} & set(quake_words + senate_words)
    assert "0845" in lexical.evidence_terms(quake[0])
