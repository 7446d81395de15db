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
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

WORD = re.compile(r"[A-Za-z][A-Za-z'\-]*[A-Za-z]|[A-Za-z]|\d+(?:[.,:]\d+)*")
# Words that open sentences or name days/months: capitalized, but shared by unrelated events.
COMMON_CAPITALIZED = frozenset(ENGLISH_STOP_WORDS) | frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june july "
    "august september october november december mr mrs ms dr said says according".split()
)


def evidence_terms(text: str) -> list[str]:
    """Case-folded proper-noun-like words and numbers of `text`, in order."""
    terms = []
    for m in WORD.finditer(text):
        token = m.group()
        if token[0].isdigit():
            terms.append(token.replace(",", ""))
        elif token[0].isupper():
            folded = token.casefold().removesuffix("'s")
            if folded in COMMON_CAPITALIZED or len(folded) < 2:
                continue
            terms.append(folded)
    return terms


def evidence_vectors(documents: list[str], max_df: float = 0.5) -> sparse.csr_matrix:
    """Unit-length TF-IDF rows over evidence terms, fitted on `documents` themselves.

    Terms in a single document cannot link two stories and terms in more than `max_df` of the
    window are background; both are dropped. A document with no usable term gets a zero row.
    """
    n = len(documents)
    if n == 0:
        return sparse.csr_matrix((0, 0), dtype=np.float32)
    vectorizer = TfidfVectorizer(
        analyzer=evidence_terms,
        min_df=2 if n > 2 else 1,
        max_df=max_df if n >= 10 else 1.0,
        sublinear_tf=True,
        dtype=np.float32,
    )
    try:
        return vectorizer.fit_transform(documents).tocsr()
    except ValueError:  # no term survives the document-frequency limits
        return sparse.csr_matrix((n, 0), dtype=np.float32)


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
