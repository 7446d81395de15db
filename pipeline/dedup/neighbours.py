"""Word-bag neighbours: the second candidate source, for copies the sketches miss.

A copy with most neighbouring words swapped or mistyped, or scanned badly, keeps few of its
original's character 9-grams across word boundaries, so MinHash seldom makes the pair a
candidate. It still keeps most of the original's words, and above all its rare ones (names,
numbers, places), in any order. So the canonical story of each group the run made (a lone story,
or copies that found each other but not their original) is compared, as a bag of folded words
(OCR look-alikes and doubled letters read alike) weighed by TF-IDF over the window's canonical
stories, with every canonical story within `dedup.window_days`; its `dedup.neighbours` nearest
become candidates, verified as any other pair (`verify`: the rules, then the learned verifier;
`groups.fold_by_word_bag`); so do its nearest group members, for a copy of a story that is itself
a copy in another group. Not sentence embeddings: they come only after this stage (and every
copy folded here is one story fewer to embed), and a keyboard-mangled copy's embedding places its
original among its nearest less often than its word bag does.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from pipeline.dedup.verifier import word_hashes

BLOCK = 1024  # stories compared per matrix product: bounded memory against a large window


NON_WORD = bytes(c for c in range(128) if not chr(c).isalnum())
# as `quality.fold_word` folds a word, on bytes: look-alikes to one letter; any ASCII byte but a
# letter or digit to a space (other bytes are letters of other scripts)
WORD_BYTES = bytes.maketrans(b"0a1i5cfb" + NON_WORD, b"oollseth" + b" " * len(NON_WORD))


def word_bags(texts: list[str]) -> list[np.ndarray]:
    """Each text's distinct folded words as sorted hashes: OCR look-alikes and doubled letters read
    alike, as `quality.fold_word` reads them (the letters of all texts folded in one numpy pass)."""
    folded = b"\n".join(t.casefold().encode("utf-8").translate(WORD_BYTES).replace(b"rn", b"m").replace(b"ri", b"n")
                         for t in texts)
    raw = np.frombuffer(folded, dtype=np.uint8)
    keep = np.ones(len(raw), bool)
    keep[1:] = raw[1:] != raw[:-1]  # a doubled letter reads as one
    keep |= raw == ord("\n")  # texts stay apart, empty ones too
    return [np.unique(word_hashes(list(set(text.split())))) for text in raw[keep].tobytes().split(b"\n")]


def tfidf_rows(bags: list[np.ndarray], weigh_among: int | None = None) -> sp.csr_matrix:
    """One L2-normalized row per bag, each word weighed by log((1 + n) / (1 + df)) over the first
    `weigh_among` bags (all of them for None)."""
    lengths = np.fromiter(map(len, bags), np.int64, len(bags))
    words, column = np.unique(np.concatenate(bags or [np.empty(0, np.uint64)]), return_inverse=True)
    n = len(bags) if weigh_among is None else weigh_among
    df = np.bincount(column[:int(lengths[:n].sum())], minlength=len(words))
    weight = np.log((1 + n) / (1 + df)).astype(np.float32)[column]
    row = np.repeat(np.arange(len(bags)), lengths)
    norms = np.sqrt(np.bincount(row, weights=weight ** 2, minlength=len(bags)))
    weight /= np.maximum(norms, 1e-9)[row].astype(np.float32)
    return sp.csr_matrix((weight, column, np.r_[0, np.cumsum(lengths)]), shape=(len(bags), len(words)))


def neighbour_pairs(stories: list[int], rows: sp.csr_matrix, times: np.ndarray, candidates: np.ndarray,
                    k: int, window_us: int, min_cosine: float = 0.0) -> list[tuple[float, int, int]]:
    """(cosine, story, neighbour) for each of the `stories` (positions in `rows`, `tfidf_rows`) and its
    `k` nearest of the `candidates` positions within `window_us` of it in time, by word-bag TF-IDF
    cosine, most similar first; a story is not its own neighbour, nor one below `min_cosine` or
    with no word in common."""
    if not stories or k <= 0 or not len(candidates):
        return []
    others = rows[candidates].T.tocsr()
    pairs = []
    for first in range(0, len(stories), BLOCK):
        part = np.asarray(stories[first:first + BLOCK])
        product = rows[part] @ others  # only pairs with a word in common
        product.data[product.data < min_cosine] = 0
        product.eliminate_zeros()
        product = product.tocoo()
        row, column, cosine = product.row, product.col, product.data
        story, neighbour = part[row], candidates[column]
        near = (story != neighbour) & (np.abs(times[story] - times[neighbour]) <= window_us)
        row, story, neighbour, cosine = row[near], story[near], neighbour[near], cosine[near]
        order = np.lexsort((neighbour, -cosine, row))  # each story's nearest first
        row, story, neighbour, cosine = row[order], story[order], neighbour[order], cosine[order]
        nearest = np.arange(len(row)) - np.searchsorted(row, row) < k
        pairs += zip(cosine[nearest].tolist(), story[nearest].tolist(), neighbour[nearest].tolist())
    return sorted(pairs, key=lambda p: (-p[0], p[1], p[2]))
