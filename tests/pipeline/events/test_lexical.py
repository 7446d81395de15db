from datetime import datetime, timezone

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

from pipeline.config import EventConfig
from pipeline.events import assign, lexical, similarity
from pipeline.ingest.normalize import normalize_story
from pipeline.records import RawStory

DOCS = [
    "A magnitude 6.5 earthquake struck near Ferndale in Humboldt County on Monday, Eureka said.",
    "Ferndale's residents cleaned up after the 6.5 quake; EUREKA lost power, and eBay's site too.",
    "The Senate passed a 1,200-page bill on Tuesday. Sen. McCain's vote decided it, 51-49.",
    "",
    "the and of",  # stop words only
    "Pro-Russian rebels shelled Donetsk's airport; the U.N. counted 3,000 dead, 1.5 million displaced.",
    "Zürich's café_au_lait: naïve x y2 a_b — «Ça» 3rd 7-Eleven 4x4",  # word characters beyond ASCII
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
        similarity._add_cosines(out, rows, block_size=block_size)
        assert np.allclose(out, 0.5 + (rows @ rows.T).toarray(), atol=1e-6)



def test_a_line_many_stories_carry_is_not_evidence():
    footer = "The Lakeside Herald, 12 Harbour Road, Lakeside. Call 555-0100 with news tips."
    briefs = [f"Story {n}: the {word} opened in Springfield." for n, word in
              enumerate("library museum bridge school clinic market stadium park theatre zoo".split())]
    quote = "\"We will rebuild,\" Mayor Ada Quimby said."
    docs = [f"{b}\n{footer}" for b in briefs[:6]] + [f"{b}\n{quote}" for b in briefs[6:8]] + briefs[8:]
    kept = lexical.without_common_lines(docs, max_share=0.05)
    assert kept[:6] == briefs[:6]  # the footer six stories of ten carry is gone
    assert kept[6:] == docs[6:]  # a line two stories share stays, as does every other line
    assert lexical.without_common_lines(docs, max_share=0.7) == docs  # rarer than the share: kept


def test_a_footer_does_not_link_unrelated_stories_into_one_event():
    # sixteen unrelated briefs: six of them carry an outlet's footer full of names and numbers
    footer = ("The Lakeside Herald is published by Harbour Media Group, 12 Harbour Road, Lakeside LK1 4AB. "
              "Call 555-0100 or email tips@lakesideherald.example with news tips. Founded 1921.")
    briefs = ["The council approved a new bus route linking the hospital to the northern suburbs.",
              "A fire destroyed a warehouse on Dock Street overnight; nobody was hurt.",
              "The Lakers beat the Kings 102-99 after a late three-pointer by their rookie guard.",
              "Police closed the Elm Avenue bridge after a lorry struck its railings.",
              "The library will stay open until nine on weekdays from next month.",
              "Heavy snow delayed flights at the regional airport for a second day.",
              "A bakery won the national sourdough prize for the third year in a row.",
              "The school board voted to hire forty more teaching assistants.",
              "Farmers reported the best apple harvest in a decade across the valley.",
              "The zoo welcomed twin red panda cubs, its first births in six years.",
              "A new cycle lane opened along the canal towpath after two years of works.",
              "The county hospital opened a children's ward named after a retired nurse.",
              "Storm damage closed the pier to visitors until repairs are finished.",
              "A chess club for pensioners drew sixty players to its first tournament.",
              "The ferry company added a late sailing on Fridays through the summer.",
              "Volunteers planted a thousand oak saplings on the old quarry site."]
    when = datetime(2024, 3, 1, tzinfo=timezone.utc)
    stories = [normalize_story(RawStory(source_id=f"b{i}", body=f"{text}\n{footer}" if i < 6 else text), when)
               for i, text in enumerate(briefs)]
    vectors = np.eye(len(stories), 16, dtype=np.float32)  # unrelated: orthogonal embeddings
    labels = assign.window_labels(stories, vectors, EventConfig())
    assert len(set(labels)) == len(stories)
    kept_footer = EventConfig(common_line_share=1.0)  # a share no line reaches: the footer counts
    assert len(set(assign.window_labels(stories, vectors, kept_footer))) < len(stories)


def test_an_event_filling_most_of_a_small_window_keeps_its_names_as_evidence():
    # a stream's first run: seven short reports of one event and four unrelated briefs; the
    # event's names are in most of the window's stories, yet they are what links its reports
    verbs = ["was admitted to", "checked into", "entered", "arrived at", "is staying at", "went to", "was taken to"]
    endings = ["on Tuesday.", "her publicist said.", "according to a spokesman.", "for treatment.", "last night.",
               "after a party.", "her agent confirmed."]
    event = [f"Actress Tara Reid {verb} the Promises clinic in Malibu {end}" for verb, end in zip(verbs, endings)]
    briefs = ["An earthquake of magnitude 6.1 struck northern Chile near Arica.",
              "Dutch voters elected a new parliament; turnout was 78 percent.",
              "The Bank of Japan held its key rate steady in Tokyo.",
              "Storm Ciaran cut power to 1.2 million homes in Brittany."]
    articles = [normalize_story(RawStory(source_id=f"s{i}", body=body)) for i, body in enumerate(event + briefs)]
    labels = assign.window_labels(articles, np.eye(len(articles), dtype=np.float32), EventConfig())
    assert len(set(labels[:7])) == 1
    assert len(set(labels)) == 5


def test_a_small_window_is_weighed_as_if_it_held_min_window_rows_stories():
    # a first run's few stories are weighed as a larger window whose other stories share none
    # of their terms would weigh them: idf over a few dozen stories understates every term's rarity
    docs = [f"{d} {DOCS[(i + 1) % len(DOCS)]}" for i, d in enumerate(DOCS)] * 3
    for counts in lexical.term_counts(docs):
        padded = sparse.vstack([counts, sparse.csr_matrix((lexical.MIN_WINDOW_ROWS - counts.shape[0], counts.shape[1]),
                                                          dtype=counts.dtype)]).tocsr()
        small = lexical.tfidf_rows(counts)
        assert small.nnz and np.allclose(small.toarray(), lexical.tfidf_rows(padded)[:counts.shape[0]].toarray())
    # from that size on a window is weighed on its own stories
    large = lexical.term_counts(docs * 12)[1]
    padded = sparse.vstack([large, sparse.csr_matrix((100, large.shape[1]), dtype=large.dtype)]).tocsr()
    assert not np.allclose(lexical.tfidf_rows(large).toarray(), lexical.tfidf_rows(padded)[:large.shape[0]].toarray())
