"""Lexical evidence: the names, places and numbers that tell one event from another of its kind.

Two earthquakes read alike to a sentence embedding; "Ferndale", "6.5" and "Eureka" do not.
Terms are proper-noun-like tokens (capitalized words other than common words that merely open a
sentence) and numbers, weighted by TF-IDF fitted on the window being clustered, so a
name shared by every story in the window counts for little and a rare shared name for a lot.
"""
from __future__ import annotations

import re

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

# A word that starts with a capital (not a capital inside a word, as in "eBay"), or a number.
CAPITALIZED_OR_NUMBER = re.compile(r"(?<![A-Za-z'\-])[A-Z][A-Za-z'\-]*[A-Za-z]|\d+(?:[.,:]\d+)*")
# Words that open sentences or name days/months: capitalized, but shared by unrelated events.
COMMON_CAPITALIZED = frozenset(ENGLISH_STOP_WORDS) | frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december mr mrs ms dr said says according".split()
)


def evidence_terms(text: str) -> list[str]:
    """Case-folded proper-noun-like words and numbers of `text`, in order."""
    terms = []
    for token in CAPITALIZED_OR_NUMBER.findall(text):
        if token[0].isdigit():
            terms.append(token.replace(",", ""))
        else:
            folded = token.casefold().removesuffix("'s")
            if folded not in COMMON_CAPITALIZED:
                terms.append(folded)
    return terms


def term_counts(documents: list[str]) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """Per-document counts of evidence terms and of content words (English stop words left out).

    Counting is the costly part of TF-IDF; weights for any subset of the documents come from
    these counts (`tfidf_rows`), so a window is read once however many ways it is weighed.
    """
    out = []
    for analyzer in (evidence_terms, CountVectorizer(stop_words="english").build_analyzer()):
        try:
            out.append(CountVectorizer(analyzer=analyzer, dtype=np.float32).fit_transform(documents).tocsr())
        except ValueError:  # no term at all
            out.append(sparse.csr_matrix((len(documents), 0), dtype=np.float32))
    return out[0], out[1]


def tfidf_rows(counts: sparse.csr_matrix, max_df: float = 0.5) -> sparse.csr_matrix:
    """Unit-length sublinear TF-IDF rows, idf taken over these rows alone.

    Terms in a single document cannot link two stories and terms in more than `max_df` of
    the rows are background; both weigh nothing. A row with no usable term is zero.
    """
    n = counts.shape[0]
    df = np.bincount(counts.indices, minlength=counts.shape[1])
    usable = (df >= (2 if n > 2 else 1)) & (df <= (max_df * n if n >= 10 else n))
    idf = np.where(usable, np.log((1.0 + n) / (1.0 + df)) + 1.0, 0.0).astype(np.float32)
    rows = counts.copy()
    np.log(rows.data, out=rows.data)
    rows.data += 1.0
    rows = (rows @ sparse.diags(idf)).tocsr()
    rows.eliminate_zeros()
    norms = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
    return (sparse.diags(1.0 / np.maximum(norms, 1e-12)).astype(np.float32) @ rows).tocsr()


def keywords(groups: list[list[str]], k: int = 6) -> list[list[str]]:
    """Top `k` evidence terms of each group of documents, against the other groups.

    A term scores by how many of the group's documents use it times how rare it is among
    groups, so each group is labelled by what sets it apart.
    """
    doc_terms = [[set(evidence_terms(doc)) for doc in docs] for docs in groups]
    group_df: dict[str, int] = {}
    counts = []
    for docs in doc_terms:
        count: dict[str, int] = {}
        for terms in docs:
            for t in terms:
                count[t] = count.get(t, 0) + 1
        counts.append(count)
        for t in count:
            group_df[t] = group_df.get(t, 0) + 1
    n = len(groups)
    out = []
    for count in counts:
        scored = sorted(count, key=lambda t: (-count[t] * np.log((1 + n) / group_df[t]), t))
        out.append(scored[:k])
    return out
