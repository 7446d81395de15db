"""Verification: whether a candidate pair really is one story, on the texts themselves.

Word 3-shingle Jaccard and containment (trimmed and re-wrapped copies are contained in their
original), containment of folded character 9-grams (survives OCR noise and garbling), and
containment of the paragraph-length lines (survives new headlines, boilerplate and links
around a copy). `decide` names the rule that proves a copy; a rule that holds is checked
again with every shingle and gram weighed by its rarity among the run's stories (`Rarity`).
A pair no rule proves goes to the learned verifier (`verifier`), on `verifier_values`.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from pipeline.config import DedupConfig
from pipeline.dedup.quality import fold_word
from pipeline.dedup.sketch import GRAM, _fmix64, all_gram_codes, fold_texts
from pipeline.dedup.verifier import (
    CopyVerifier,
    WordSet,
    found_in,
    load_verifier,
    misspelt_share,
    near_pairs,
    word_hashes,
)
from pipeline.records import Article

WORD = re.compile(r"\w+", re.UNICODE)
PARAGRAPH_WORDS = 12  # a line this long is part of the story, shorter ones may be page furniture

@dataclass(slots=True)
class Fingerprint:
    """What verification compares, as sorted unique uint64 arrays: word shingles (in-process
    hashes), folded char grams, and the folded char grams of its paragraphs alone."""

    shingles: np.ndarray
    grams: np.ndarray
    n_tokens: int
    paragraph_grams: np.ndarray
    words: WordSet  # its distinct words, OCR look-alikes folded (`quality.fold_word`)
    near_pairs: np.ndarray  # its nearby word pairs, for the learned verifier (`verifier.near_pairs`)


class Rarity:
    """How rare each shingle and char gram is among the stories verified in one run, and the
    scores of a pair with every shingle and gram weighed by it (`scores`).

    A value held by df of the N fingerprinted stories weighs log(1 + N / df), squared so that
    a short story's own few words outweigh a long footer. Why: text that many otherwise
    different stories carry (an outlet's footer, furniture no boilerplate pattern knows) made
    a short story look contained in every other story carrying it, and groups chained. A copy's
    text is held by its group only, so it still outweighs
    the rest. Char grams are weighed on a fixed sample of them (one in `GRAM_SAMPLE`): counting
    them all cost more than the rest of the stage.
    """

    GRAM_SAMPLE = 4

    def __init__(self, prints: list[Fingerprint]):
        self.n = max(1, len(prints))
        self._prints = list(prints)  # kept alive: their arrays are found by the fingerprint's id
        self._weighed: dict[int, tuple] | None = None  # counted on first use: most pairs fail the plain rules

    def _count_all(self) -> None:
        prints = self._prints
        grams = [self._sample(f.grams) for f in prints]
        paragraph_grams = [self._sample(f.paragraph_grams) for f in prints]
        shingle_w, self._shingle_df = self._count([f.shingles for f in prints], len(prints))
        # a paragraph's grams are its text's: weighed in the same count, not counted again
        gram_w, self._gram_df = self._count(grams + paragraph_grams, len(prints))
        self._weighed = {id(f): (f.shingles, shingle_w[i], grams[i], gram_w[i], paragraph_grams[i],
                                 gram_w[len(prints) + i]) for i, f in enumerate(prints)}

    @classmethod
    def _sample(cls, grams: np.ndarray) -> np.ndarray:
        return grams[grams % np.uint64(cls.GRAM_SAMPLE) == 0]

    def _weight(self, df: np.ndarray) -> np.ndarray:
        return (np.log1p(self.n / np.maximum(df, 1)) ** 2).astype(np.float32)

    def _count(self, arrays: list[np.ndarray], counted: int) -> tuple[list[np.ndarray], tuple]:
        """Each array's weights, df counted over the first `counted` arrays in one pass; and the
        (values, df) table for stories weighed later."""
        values = np.concatenate(arrays or [np.empty(0, np.uint64)])
        unique, inverse = np.unique(values, return_inverse=True)
        df = np.bincount(inverse[:sum(len(a) for a in arrays[:counted])], minlength=len(unique))
        weights = self._weight(df[inverse])
        return np.split(weights, np.cumsum([len(a) for a in arrays])[:-1]), (unique, df)

    def _looked_up(self, values: np.ndarray, table: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        unique, df = table
        found = np.zeros(len(values), dtype=np.int64)  # a value none of the N holds: one story's own
        if len(unique) and len(values):
            at = np.minimum(np.searchsorted(unique, values), len(unique) - 1)
            hit = unique[at] == values
            found[hit] = df[at[hit]]
        return self._weight(found)

    def _weighed_arrays(self, fp: Fingerprint) -> tuple:
        if self._weighed is None:
            self._count_all()
        key = id(fp)
        if key not in self._weighed:  # fingerprinted after the count (a group member met on the way)
            grams, paragraph_grams = self._sample(fp.grams), self._sample(fp.paragraph_grams)
            self._prints.append(fp)
            self._weighed[key] = (fp.shingles, self._looked_up(fp.shingles, self._shingle_df), grams,
                                  self._looked_up(grams, self._gram_df), paragraph_grams,
                                  self._looked_up(paragraph_grams, self._gram_df))
        return self._weighed[key]

    def scores(self, a: Fingerprint, b: Fingerprint) -> Scores:
        shingles_a, shingle_w_a, grams_a, gram_w_a, par_a, par_w_a = self._weighed_arrays(a)
        shingles_b, shingle_w_b, grams_b, gram_w_b, par_b, par_w_b = self._weighed_arrays(b)
        jaccard, containment = overlap(shingles_a, shingles_b, shingle_w_a, shingle_w_b)
        char_jaccard, char_containment = overlap(grams_a, grams_b, gram_w_a, gram_w_b)
        # the smaller paragraph part, found in the other text; a paragraph that many other
        # stories carry too (a footer) counts for as little as it is rare against the text
        paragraphs = 0.0
        if len(a.paragraph_grams) and len(b.paragraph_grams) and len(par_a) and len(par_b):
            (par, par_w, gram_w), other = (((par_a, par_w_a, gram_w_a), grams_b)
                                           if len(a.paragraph_grams) <= len(b.paragraph_grams)
                                           else ((par_b, par_w_b, gram_w_b), grams_a))
            rarity = min(1.0, float(par_w.mean()) / max(float(gram_w.mean()), 1e-9))
            paragraphs = share_found(par, other, par_w) * rarity
        return Scores(jaccard, containment, char_containment, paragraphs, char_jaccard)


def words_and_paragraphs(text: str, min_words: int) -> tuple[list[str], str]:
    """The text's words (casefolded runs of word characters), and its lines of at least `min_words` words, casefolded:
    what is left once page furniture is gone.

    Headlines, datelines, boilerplate and "related stories" links are short lines; the story
    itself is written in sentences and paragraphs.
    """
    lines = text.casefold().split("\n")
    per_line = [WORD.findall(line) for line in lines]  # no word spans a line break
    return ([w for line_words in per_line for w in line_words],
            "\n".join(line for line, line_words in zip(lines, per_line) if len(line_words) >= min_words))


def sorted_unique(values: np.ndarray) -> np.ndarray:
    values = np.sort(values)
    return values[np.r_[True, values[1:] != values[:-1]]] if len(values) else values


def shingle_hashes(tokens: list[str], n: int) -> np.ndarray:
    """Hashes of the text's word n-grams (one for a text shorter than n), sorted and unique."""
    if not tokens:
        return np.empty(0, np.uint64)
    h = word_hashes(tokens)
    m = max(1, len(h) - n + 1)
    shingle = h[:m].copy()
    for k in range(1, min(n, len(h))):
        shingle = _fmix64(shingle) ^ h[k:k + m]
    return sorted_unique(shingle)


def text_grams(texts: list[str]) -> list[np.ndarray]:
    """Each text's folded char gram codes, sorted and unique, folded in one numpy pass."""
    raw, offsets = fold_texts(texts)
    codes = all_gram_codes(raw)
    return [sorted_unique(codes[offsets[i]:max(offsets[i], offsets[i + 1] - GRAM + 1)]) for i in range(len(texts))]


def fingerprints(articles: list[Article], shingle_words: int, per_pass: int = 512) -> list[Fingerprint]:
    """Fingerprints of many articles; their char grams a few hundred texts per numpy pass."""
    out = []
    for first in range(0, len(articles), per_pass):  # bounded memory
        part = articles[first:first + per_pass]
        grams = text_grams([a.text for a in part])
        tokens, bodies = zip(*(words_and_paragraphs(a.text, PARAGRAPH_WORDS) for a in part)) if part else ((), ())
        # most stories are paragraphs alone: their grams are the whole text's
        cut = [i for i, (a, body) in enumerate(zip(part, bodies)) if body != a.text.casefold()]
        paragraph_grams = list(grams)
        for i, body_grams in zip(cut, text_grams([bodies[i] for i in cut])):
            paragraph_grams[i] = body_grams
        for text_words, whole, body in zip(tokens, grams, paragraph_grams):
            out.append(Fingerprint(shingle_hashes(text_words, shingle_words), whole, len(text_words), body,
                                   WordSet(map(fold_word, set(text_words))), near_pairs(text_words)))
    return out


def fingerprint(article: Article, shingle_words: int) -> Fingerprint:
    return fingerprints([article], shingle_words)[0]


@dataclass(slots=True)
class Scores:
    jaccard: float
    containment: float
    char_containment: float
    paragraph_containment: float = 0.0
    char_jaccard: float = 0.0


def overlap(a: np.ndarray, b: np.ndarray, weights_a: np.ndarray | None = None,
            weights_b: np.ndarray | None = None) -> tuple[float, float]:
    """(Jaccard, containment of the smaller in the larger) of two sorted unique arrays, each
    value counted with its weight where weights are given (the same value weighs the same in both)."""
    if not len(a) or not len(b):
        return 0.0, 0.0
    in_a = found_in(a, b)
    if weights_a is None or weights_b is None:
        inter = int(in_a.sum())
        return inter / (len(a) + len(b) - inter), inter / min(len(a), len(b))
    inter, mass_a, mass_b = float(weights_a[in_a].sum()), float(weights_a.sum()), float(weights_b.sum())
    if min(mass_a, mass_b) <= 0:
        return 0.0, 0.0
    return inter / (mass_a + mass_b - inter), inter / min(mass_a, mass_b)


def share_found(a: np.ndarray, b: np.ndarray, weights_a: np.ndarray | None = None) -> float:
    """Share of the sorted unique values `a` (by weight, where given) also in `b`."""
    if not len(a):
        return 0.0
    in_a = found_in(a, b)
    if weights_a is None:
        return int(in_a.sum()) / len(a)
    total = float(weights_a.sum())
    return float(weights_a[in_a].sum()) / total if total > 0 else 0.0


def paragraph_containment(a: Fingerprint, b: Fingerprint) -> float:
    """Share of the smaller paragraph part's grams found anywhere in the other text.

    A copy wrapped in a new headline, boilerplate and links to other stories keeps its
    paragraphs, while the wrapping dilutes its containment as a whole. Zero when either
    text has no paragraph: a text of short lines alone proves nothing.
    """
    if not len(a.paragraph_grams) or not len(b.paragraph_grams):
        return 0.0
    if len(a.paragraph_grams) <= len(b.paragraph_grams):
        return share_found(a.paragraph_grams, b.grams)
    return share_found(b.paragraph_grams, a.grams)



def decide(config: DedupConfig, s: Scores, small_tokens: int, rare: Scores | None = None) -> str | None:
    """Name of the first rule that proves a copy, or None. With `rare` (the same scores, each
    shingle and gram weighed by its rarity: `Rarity`), a rule holds only if the rare-weighted
    score also reaches `rare_share` of its threshold: a match made of text that many other
    stories carry too proves nothing.

    Different articles of one event, even sharing quotes, stay below the thresholds: on the
    dev set their word containment and char-gram containment stay well under them.
    """
    if small_tokens < config.min_tokens:
        return None

    def holds(field: str, threshold: float) -> bool:
        return getattr(s, field) >= threshold and (rare is None or getattr(rare, field) >= config.rare_share * threshold)

    if holds("jaccard", config.jaccard):
        return f"word jaccard >= {config.jaccard}"
    if holds("containment", config.containment):
        return f"word containment >= {config.containment}"
    if holds("char_containment", config.char_containment):  # OCR noise, garbling: words broken, letters kept
        return f"char containment >= {config.char_containment}"
    if holds("char_jaccard", config.char_jaccard):  # heavy OCR noise on a whole copy: few grams kept, none added
        return f"char jaccard {s.char_jaccard:.2f} >= {config.char_jaccard}"
    if holds("paragraph_containment", config.paragraph_containment):  # re-wrapped: new furniture around kept paragraphs
        # the duplicates table has no column for this score: the rule carries it
        return f"paragraph containment {s.paragraph_containment:.2f} >= {config.paragraph_containment}"
    return None


def verifier_values(a: Fingerprint, b: Fingerprint, scores: Scores, rare: Scores) -> dict[str, float]:
    """The learned verifier's inputs for one pair (`verifier.FEATURES`): the rules' scores, plain and
    weighed by rarity, and the order-robust ones."""
    cheap = cheap_values(a, b, scores)
    return {**cheap, **costly_values(a, b, rare, cheap)}


def cheap_values(a: Fingerprint, b: Fingerprint, scores: Scores) -> dict[str, float]:
    """The verifier's inputs that cost a few array intersections."""
    pair_jaccard, pair_containment = overlap(a.near_pairs, b.near_pairs)
    bag_jaccard, bag_containment = overlap(a.words.ids, b.words.ids)
    small, large = sorted((a.n_tokens, b.n_tokens))
    return {
        "word_jaccard": scores.jaccard, "word_containment": scores.containment, "char_jaccard": scores.char_jaccard,
        "char_containment": scores.char_containment, "paragraph_containment": scores.paragraph_containment,
        "pair_jaccard": pair_jaccard, "pair_containment": pair_containment,
        "bag_jaccard": bag_jaccard, "bag_containment": bag_containment,
        "length_ratio": small / max(large, 1), "log_words": math.log1p(small),
    }


def costly_values(a: Fingerprint, b: Fingerprint, rare: Scores, cheap: dict[str, float]) -> dict[str, float]:
    """The verifier's inputs that weigh by rarity or look words up one by one (`cheap`: the pair's
    `cheap_values`)."""
    misspelt = misspelt_share(a.words, b.words)
    return {"rare_word_containment": rare.containment, "rare_char_containment": rare.char_containment,
            "misspelt_share": misspelt, "misspelt_pair_containment": misspelt * cheap["pair_containment"]}


def costly_ceilings(cheap: dict[str, float]) -> dict[str, float]:
    """The highest each of `costly_values` can be, given the pair's `cheap_values` (others reach 1)."""
    return {"misspelt_pair_containment": cheap["pair_containment"]}


def plain_scores(a: Fingerprint, b: Fingerprint) -> Scores:
    jac, cont = overlap(a.shingles, b.shingles)
    char_jac, char_cont = overlap(a.grams, b.grams)
    return Scores(jac, cont, char_cont, paragraph_containment(a, b), char_jac)


def verify(a: Fingerprint, b: Fingerprint, config: DedupConfig,
           rarity: Rarity | None = None) -> tuple[Scores, str | None]:
    """The pair's scores and the rule that proves it a copy, if any; with `rarity`, a rule
    that holds is checked again on the scores weighed by rarity (`decide`). A pair no rule
    proves goes to the learned verifier (`dedup.verifier`), if there is one."""
    scores = plain_scores(a, b)
    small_tokens = min(a.n_tokens, b.n_tokens)
    rule = decide(config, scores, small_tokens)
    if rule and rarity is not None:  # weighed only for the few pairs a rule holds for
        rule = decide(config, scores, small_tokens, rarity.scores(a, b))
    verifier = load_verifier(config.verifier)
    if not rule and verifier is not None and small_tokens >= config.min_tokens:
        values = cheap_values(a, b, scores)
        if verifier.could_reach(values, costly_ceilings(values)):  # most pairs of different stories end here
            rare = rarity.scores(a, b) if rarity is not None else scores
            # as for the rules: text many other stories carry too (a footer) proves nothing
            if rare.char_containment >= config.rare_share * scores.char_containment:
                rule = learned_rule(verifier, {**values, **costly_values(a, b, rare, values)})
    return scores, rule


def learned_rule(verifier: CopyVerifier, values: dict[str, float]) -> str | None:
    p = verifier.probability(values)
    return f"learned verifier p={p:.3f} >= {verifier.threshold:.3f}" if p >= verifier.threshold else None
