"""The learned copy verifier: whether a candidate pair that no rule proves is still one story.

Heavy damage (a scanner misreading a third of the words, keyboard slips with neighbouring
words swapped) breaks the long shingles and grams the rules in `verify` read, while another
outlet's rewrite of the same event can share as many words as such a copy keeps. What still
tells them apart is that a copy keeps the original's words near where they were, however
misspelt, so besides the rules' scores the verifier reads order-robust ones: unordered pairs of
nearby words, each known by its last letters (a misread word keeps them more often than not),
the bag of words, how many of the words one text lacks are misspellings of the other's, and
that share times the pairs' overlap (a heavily mistyped copy has both, a rewrite seldom more
than one; the model adds its scores, so what takes both needs their product). A
logistic model weighs them; it is fitted on labelled pairs by `bench/copy_verifier.py` and
committed as JSON next to this module, so runs load it and never fit it.
"""
from __future__ import annotations

import functools
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from pipeline.dedup.sketch import _fmix64

SIGNED = {"length_ratio", "log_words"}  # may weigh either way; every other score only for a copy
MODEL_FILE = Path(__file__).with_name("copy_verifier.json")
PAIR_WINDOW = 3  # words after a word that it is paired with: survives swaps of neighbours
WORD_END = 3  # letters that name a word in a pair

FEATURES = (
    "word_jaccard", "word_containment", "char_jaccard", "char_containment", "paragraph_containment",
    "rare_word_containment", "rare_char_containment", "pair_jaccard", "pair_containment",
    "bag_jaccard", "bag_containment", "misspelt_share", "misspelt_pair_containment", "length_ratio", "log_words",
)


def word_hashes(words: list[str]) -> np.ndarray:
    return np.fromiter(map(hash, words), np.int64, len(words)).view(np.uint64)


def near_pairs(words: list[str]) -> np.ndarray:
    """Sorted unique keys of the unordered pairs of words at most `PAIR_WINDOW` apart, each word
    known by its last `WORD_END` letters."""
    h = word_hashes([w[-WORD_END:] for w in words])
    if len(h) < 2:
        return np.empty(0, np.uint64)
    keys = [_fmix64(np.minimum(h[:-gap], h[gap:])) ^ np.maximum(h[:-gap], h[gap:])
            for gap in range(1, min(PAIR_WINDOW, len(h) - 1) + 1)]
    return np.unique(np.concatenate(keys))


MIN_MISSPELT = 4  # letters a word needs before a word one edit away may be its misspelling


def one_edit_keys(word: str) -> set[str]:
    """The word and every form of it with one letter deleted: two words one substitution,
    insertion or deletion apart share one of them."""
    return {word, *(word[:i] + word[i + 1:] for i in range(len(word)))}


class WordSet:
    """A text's distinct words as sorted unique hashes (`ids`, with `words` in the same order), and
    the hashes of every word's `one_edit_keys` with the position of the word each came from, made
    when first asked for: only the few pairs that could be copies need them."""

    __slots__ = ("words", "ids", "long", "_keys")

    def __init__(self, words: Iterable[str]):
        distinct = list(set(words))
        ids = word_hashes(distinct)
        order = np.argsort(ids, kind="stable")
        self.words = [distinct[i] for i in order]
        self.ids = ids[order]
        self.long = np.fromiter((len(w) >= MIN_MISSPELT for w in self.words), bool, len(self.words))
        self._keys: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def edit_keys(self) -> tuple[np.ndarray, np.ndarray]:
        if self._keys is None:
            per_word = [edit_key_hashes(word) for word in self.words]
            self._keys = (np.fromiter((k for keys in per_word for k in keys), np.int64).view(np.uint64),
                          np.repeat(np.arange(len(per_word)), [len(keys) for keys in per_word]))
        return self._keys


@functools.lru_cache(maxsize=1 << 17)  # a run's words recur from story to story
def edit_key_hashes(word: str) -> tuple[int, ...]:
    return tuple(hash(key) for key in one_edit_keys(word))


def misspelt_share(a: WordSet, b: WordSet) -> float:
    """Share of the words the larger of two word sets has and the smaller lacks (of at least
    `MIN_MISSPELT` letters) that are one edit from a word the smaller has and the larger lacks:
    what a damaged copy's differences are made of, where another outlet's rewrite differs by
    words of its own."""
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    lacking = large.long & ~found_in(large.ids, small.ids)
    n_lacking = int(lacking.sum())
    if not n_lacking:
        return 0.0
    small_keys, small_word = small.edit_keys()
    pool = np.sort(small_keys[~found_in(small.ids, large.ids)[small_word]])
    large_keys, large_word = large.edit_keys()
    asked = lacking[large_word]
    explained = np.zeros(len(large), bool)
    explained[large_word[asked][found_in(large_keys[asked], pool)]] = True
    return int(explained.sum()) / n_lacking


def found_in(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Which values of `a` the sorted array `b` holds (a binary search each: cheaper than sorting
    both together, as `np.isin` and `np.intersect1d` do)."""
    if not len(b):
        return np.zeros(len(a), dtype=bool)
    at = np.minimum(np.searchsorted(b, a), len(b) - 1)
    return b[at] == a


@dataclass(frozen=True)
class CopyVerifier:
    """A logistic model on `FEATURES` (standardized by `mean` and `scale`), the probability from
    which it calls a pair a copy, and the lowest word-bag cosine (`neighbours`) of any copy it or
    a rule called among the pairs it was fitted on: a word-bag neighbour farther than that is not
    worth verifying."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    threshold: float
    min_word_cosine: float = 0.0

    def probability(self, values: dict[str, float]) -> float:
        z = self.intercept + sum(c * (values[f] - m) / s
                                 for f, m, s, c in zip(self.features, self.mean, self.scale, self.coef))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def could_reach(self, known: dict[str, float], ceilings: dict[str, float] | None = None) -> bool:
        """Whether the pair could reach the threshold with the features not in `known` (each in
        0..1, or 0..its value in `ceilings`) at whichever end favours a copy: a pair that cannot
        is not worth the rest."""
        ceilings = ceilings or {}
        z = self.intercept
        for f, m, s, c in zip(self.features, self.mean, self.scale, self.coef):
            top = ceilings.get(f, 1.0)
            z += c * (known[f] - m) / s if f in known else max(c * (top - m) / s, -c * m / s)
        return z >= math.log(self.threshold / (1 - self.threshold))

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """Row-wise probabilities of an (n, len(features)) array in `features` order."""
        z = self.intercept + ((x - np.array(self.mean)) / np.array(self.scale)) @ np.array(self.coef)
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50)))

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, threshold: float, c: float = 1.0) -> "CopyVerifier":
        """Fitted on labelled pairs: `x` in `FEATURES` order, `y` true for copies.

        Every score but the two lengths can only raise the odds of a copy: a score the fit would
        weigh against one (it stands in for others it moves with) is left out and the rest fitted
        again, so that stories unlike any it was fitted on (a narrow vocabulary, short texts) are
        not called copies for scores they lack.
        """
        from sklearn.linear_model import LogisticRegression

        mean, scale = x.mean(axis=0), x.std(axis=0)
        scale[scale == 0] = 1.0
        z = (x - mean) / scale
        used = list(range(len(FEATURES)))
        while True:
            model = LogisticRegression(C=c, max_iter=5000).fit(z[:, used], y)
            weights = dict(zip(used, model.coef_[0]))
            against = [i for i in used if FEATURES[i] not in SIGNED and weights[i] < 0]
            if not against:
                break
            used.remove(min(against, key=weights.__getitem__))
        return cls(FEATURES, tuple(map(float, mean)), tuple(map(float, scale)),
                   tuple(float(weights.get(i, 0.0)) for i in range(len(FEATURES))), float(model.intercept_[0]),
                   float(threshold))

    def save(self, path: Path) -> None:
        fields = asdict(self)
        rounded = {k: [round(v, 6) for v in fields[k]] if k in ("mean", "scale", "coef") else fields[k] for k in fields}
        rounded["intercept"] = round(self.intercept, 6)
        rounded["min_word_cosine"] = math.floor(self.min_word_cosine * 1e4) / 1e4  # rounded down: keeps every copy
        path.write_text(json.dumps(rounded, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> "CopyVerifier":
        fields = json.loads(Path(path).read_text())
        missing = set(FEATURES) - set(fields["features"])
        if missing:
            raise ValueError(f"copy verifier {path} lacks the features {sorted(missing)}: train it again "
                             "(bench/copy_verifier.py)")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


@functools.lru_cache(maxsize=4)
def load_verifier(path: str) -> CopyVerifier | None:
    """The verifier at `path` (the committed one for ""), or None for "none"."""
    if path == "none":
        return None
    return CopyVerifier.load(Path(path) if path else MODEL_FILE)
