"""Lexical evidence: the names, places and numbers that tell one event from another of its kind.

Two earthquakes read alike to a sentence embedding; "Ferndale", "6.5" and "Eureka" do not.
Terms are proper-noun-like tokens (capitalized words other than common words that merely open a
sentence) and numbers, weighted by TF-IDF fitted on the window being clustered, so a
name shared by every story in the window counts for little and a rare shared name for a lot.
Two more term sets read all content words: single words, and pairs of neighbouring content
words ("eight-year offer", "red sox"), which name what happened more closely than either word.
"""
from __future__ import annotations

import re
from collections import Counter
from itertools import chain

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

# A word that starts with a capital (not a capital inside a word, as in "eBay"), or a number.
CAPITALIZED_OR_NUMBER = re.compile(r"(?<![A-Za-z'\-])[A-Z][A-Za-z'\-]*[A-Za-z]|\d+(?:[.,:]\d+)*")
# Words that open sentences or name days/months: capitalized, but shared by unrelated events.
COMMON_CAPITALIZED = frozenset(ENGLISH_STOP_WORDS) | frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december mr mrs ms dr said says according".split()
)


# scikit-learn's default token pattern, r"(?u)\b\w\w+\b": content words are what its CountVectorizer
# would count. The boundaries are dropped: a greedy run of word characters starts and ends at
# one anyway, and findall is a third faster without them.
CONTENT_WORD = re.compile(r"(?u)\w\w+")


def _evidence_term(token: str) -> str | None:
    """The evidence term a capitalized word or number stands for; None for a common word."""
    if token[0].isdigit():
        return token.replace(",", "")
    folded = token.casefold().removesuffix("'s")
    return None if folded in COMMON_CAPITALIZED else folded


def content_words(text: str) -> list[str]:
    """Lower-cased words of `text` in order, English stop words left out."""
    return [w for w in CONTENT_WORD.findall(text.lower()) if w not in ENGLISH_STOP_WORDS]


def content_word_pairs(text: str) -> list[str]:
    """Neighbouring content words of `text` as "first second" terms, stop words skipped over."""
    words = content_words(text)
    return [f"{first} {second}" for first, second in zip(words, words[1:])]


def evidence_terms(text: str) -> list[str]:
    """Case-folded proper-noun-like words and numbers of `text`, in order."""
    return [t for t in map(_evidence_term, CAPITALIZED_OR_NUMBER.findall(text)) if t is not None]


def _token_ids(tokenized: list[list[str]]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Every token of every document as an id into the window's distinct tokens (returned
    third), with the document each token is in. Only the distinct tokens see Python code."""
    distinct = list(set().union(*tokenized))
    index = dict(zip(distinct, range(len(distinct))))
    lengths = np.fromiter(map(len, tokenized), dtype=np.int64, count=len(tokenized))
    ids = np.fromiter(map(index.__getitem__, chain.from_iterable(tokenized)), dtype=np.int64, count=int(lengths.sum()))
    return ids, np.repeat(np.arange(len(tokenized)), lengths), distinct


def _count_matrix(documents: np.ndarray, keys: np.ndarray, n_documents: int) -> sparse.csr_matrix:
    """Documents x terms counts of (document, term key) occurrences; keys below 0 are not terms.
    Columns are numbered by the terms' first appearance in the window."""
    keep = keys >= 0
    unique, first, columns = np.unique(keys[keep], return_index=True, return_inverse=True)
    rank = np.empty(len(unique), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(unique))
    return sparse.csr_matrix((np.ones(len(columns), dtype=np.float32), (documents[keep], rank[columns.ravel()])),
                             shape=(n_documents, len(unique)))


def without_common_lines(documents: list[str], max_share: float, min_documents: int = 5) -> list[str]:
    """The documents without the lines that recur word for word in at least `max_share` of
    them (and in `min_documents` or more): an outlet's footer, a template's furniture.

    The documents are different stories (copies are folded before clustering), so a line
    many of them carry is not evidence of one event; its names and numbers would otherwise
    link every story that carries it. A quote shared by the few stories of one event stays.
    """
    keys = [[" ".join(line.split()).casefold() for line in doc.split("\n")] for doc in documents]
    held = Counter(key for doc_keys in keys for key in set(doc_keys) if key)
    limit = max(min_documents, max_share * len(documents))
    common = {key for key, n in held.items() if n >= limit}
    if not common:
        return documents
    return ["\n".join(line for line, key in zip(doc.split("\n"), doc_keys) if key not in common)
            for doc, doc_keys in zip(documents, keys)]


def term_counts(documents: list[str], word_pairs: bool = True) -> tuple[sparse.csr_matrix, ...]:
    """Per-document counts of evidence terms, of content words (English stop words left out) and,
    with `word_pairs`, of neighbouring content-word pairs.

    Counting is the costly part of TF-IDF; weights for any subset of the documents come from
    these counts (`tfidf_rows`), so a window is read once however many ways it is weighed.
    Column order is first appearance: nothing downstream depends on it.
    """
    n = len(documents)
    # Per-token Python work was most of the cost of a 10,000-story window: tokens become ids
    # (`_token_ids`) and everything after that is array work.
    tokens, token_documents, distinct = _token_ids([CAPITALIZED_OR_NUMBER.findall(doc) for doc in documents])
    term_ids: dict[str, int] = {}
    term_of_token = np.array([-1 if term is None else term_ids.setdefault(term, len(term_ids))
                              for term in map(_evidence_term, distinct)], dtype=np.int64)
    counts = (_count_matrix(token_documents, term_of_token[tokens], n),)

    words, word_documents, distinct = _token_ids([CONTENT_WORD.findall(doc.lower()) for doc in documents])
    content = np.fromiter((w not in ENGLISH_STOP_WORDS for w in distinct), dtype=bool, count=len(distinct))
    keep = content[words]
    words, word_documents = words[keep], word_documents[keep]
    counts += (_count_matrix(word_documents, words, n),)
    if not word_pairs:
        return counts
    same_document = word_documents[1:] == word_documents[:-1]
    pairs = words[:-1][same_document] * len(distinct) + words[1:][same_document]
    return counts + (_count_matrix(word_documents[:-1][same_document], pairs, n),)


# Terms are weighed as if the window held at least this many stories (`tfidf_rows`).
MIN_WINDOW_ROWS = 200


def tfidf_rows(counts: sparse.csr_matrix, max_df: float = 0.5) -> sparse.csr_matrix:
    """Unit-length sublinear TF-IDF rows, idf taken over these rows (at least `MIN_WINDOW_ROWS`).

    Terms in a single document cannot link two stories and terms in more than `max_df` of
    the rows are background; both weigh nothing. A row with no usable term is zero.

    A window of fewer than `MIN_WINDOW_ROWS` stories is weighed as if it held that many, the
    others sharing none of its terms. Why: a small window (a stream's first run, a quiet day)
    understates how rare every term is. One event can fill half of it, and its own names were
    read as background. And idf over a few dozen stories tilts weights towards rare words, so
    a name every story of one event shares weighed less than a word a handful of others use.
    """
    n = counts.shape[0]
    rows_counted = max(n, MIN_WINDOW_ROWS)
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    usable = (df >= (2 if n > 2 else 1)) & (df <= max_df * rows_counted)
    idf = np.where(usable, np.log((1.0 + rows_counted) / (1.0 + df)) + 1.0, 0.0).astype(np.float32)
    rows = counts.copy()
    np.log(rows.data, out=rows.data)
    rows.data += 1.0
    rows = (rows @ sparse.diags(idf)).tocsr()
    rows.eliminate_zeros()
    norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
    return (sparse.diags(1.0 / np.maximum(norms, 1e-12)).astype(np.float32) @ rows).tocsr()


def name_counts(documents: list[str]) -> sparse.csr_matrix:
    """Per-document counts of the evidence terms that are names (capitalized words), numbers left out."""
    tokens, token_documents, distinct = _token_ids([CAPITALIZED_OR_NUMBER.findall(doc) for doc in documents])
    term_ids: dict[str, int] = {}
    term_of_token = np.array([-1 if term is None or term[0].isdigit() else term_ids.setdefault(term, len(term_ids))
                              for term in map(_evidence_term, distinct)], dtype=np.int64)
    return _count_matrix(token_documents, term_of_token[tokens], len(documents))
