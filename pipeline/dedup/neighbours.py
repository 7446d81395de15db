"""Word-bag neighbours: the second candidate source, for copies the sketches miss.

A copy with most neighbouring words swapped or mistyped, or scanned badly, keeps few of its
original's character 9-grams across word boundaries, so MinHash seldom makes the pair a
candidate. It still keeps most of the original's words, and above all its rare ones (names,
numbers, places), in any order. So each new story that the sketches left alone is compared, as
a bag of folded words (`quality.fold_word`: OCR look-alikes agree) weighed by TF-IDF over the
window's stories, with every canonical story within `dedup.window_days`; its
`dedup.neighbours` nearest become candidates, verified as any other pair (`verify`: the rules,
then the learned verifier). Not sentence embeddings: they come only after this stage (and every
copy folded here is one story fewer to embed), and a keyboard-mangled copy's embedding places its
original among its nearest less often than its word bag does.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from pipeline.dedup.quality import fold_text
from pipeline.dedup.verifier import word_hashes
from pipeline.dedup.verify import WORD

BLOCK = 1024  # stories compared per matrix product: bounded memory against a large window


def word_bag(text: str) -> np.ndarray:
    """The text's distinct folded words as sorted hashes (the `ids` of its fingerprint's `WordSet`)."""
    return np.unique(word_hashes(list(set(WORD.findall(fold_text(text.casefold()))))))


def tfidf_rows(bags: list[np.ndarray]) -> sp.csr_matrix:
    """One L2-normalized row per bag, each word weighed by log((1 + n) / (1 + df)) over the `bags`."""
    lengths = np.fromiter(map(len, bags), np.int64, len(bags))
    words, column = np.unique(np.concatenate(bags or [np.empty(0, np.uint64)]), return_inverse=True)
    df = np.bincount(column, minlength=len(words))
    weight = np.log((1 + len(bags)) / (1 + df)).astype(np.float32)[column]
    row = np.repeat(np.arange(len(bags)), lengths)
    norms = np.sqrt(np.bincount(row, weights=weight ** 2, minlength=len(bags)))
    weight /= np.maximum(norms, 1e-9)[row].astype(np.float32)
    return sp.csr_matrix((weight, column, np.r_[0, np.cumsum(lengths)]), shape=(len(bags), len(words)))


def neighbour_pairs(stories: list[int], bags: list[np.ndarray], times: np.ndarray, candidates: np.ndarray,
                    k: int, window_us: int, min_cosine: float = 0.0) -> list[tuple[float, int, int]]:
    """(cosine, story, neighbour) for each of the `stories` (positions in `bags`) and its `k` nearest
    of the `candidates` positions within `window_us` of it in time, by word-bag TF-IDF cosine, most
    similar first; a story is not its own neighbour, nor one below `min_cosine` or with no word in
    common."""
    if not stories or k <= 0 or not len(candidates):
        return []
    rows = tfidf_rows(bags)
    others = rows[candidates].T.tocsr()
    pairs = []
    for first in range(0, len(stories), BLOCK):
        part = np.asarray(stories[first:first + BLOCK])
        cosine = (rows[part] @ others).toarray()
        cosine[part[:, None] == candidates[None, :]] = -np.inf
        cosine[np.abs(times[part][:, None] - times[candidates][None, :]) > window_us] = -np.inf
        cosine[(cosine <= 0) | (cosine < min_cosine)] = -np.inf
        n = min(k, len(candidates))
        nearest = np.argpartition(-cosine, n - 1, axis=1)[:, :n]
        for r, story in enumerate(part.tolist()):
            pairs += [(float(cosine[r, j]), story, int(candidates[j])) for j in nearest[r] if np.isfinite(cosine[r, j])]
    return sorted(pairs, key=lambda p: (-p[0], p[1], p[2]))
