"""Near-duplicates: fold copies of one story under a canonical story, across runs.

Stages, each cheap enough for the next:
1. Sketch: every story's letters are folded (case, OCR look-alikes, doubled letters) and cut
   into character 9-grams; one gram in eight (chosen by hash, so the same in every copy) is
   MinHashed in one numpy batch (datasketch's "affine32" scheme), sampled before any
   per-gram work and permuted one permutation at a time over all sampled grams.
2. Candidates: LSH banding of the signatures, tuned for recall, against the persistent index
   (every story of the last `window_days`) and the batch itself, screened by how many minima
   agree; plus equal content hashes. Only index keys a new story shares are sorted.
3. Verification on the real texts: word 3-shingle Jaccard and containment (trimmed and
   re-wrapped copies are contained in their original), and containment of folded character
   9-grams, which survives OCR noise and garbling. `DuplicateRules.decide` names the rule.
4. Groups: stories are taken in canonical order (earliest published, cleanest, longest) and
   each joins the group whose canonical story it verifies against directly, or starts its own.
   Verifying against the canonical itself (not any member) stops chains A~B~C from merging
   different stories; stored groups keep their canonical and id.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
from datasketch import LeanMinHash, MinHash, MinHashLSH
from datasketch.minhash import _fmix

from pipeline import store
from pipeline.records import Article, DuplicateEdge

WORD = re.compile(r"\w+", re.UNICODE)
FAR_FUTURE = datetime.max.replace(tzinfo=timezone.utc)
SCHEME = "affine32"

# OCR and encoding damage swaps look-alike letters; folding each family to one letter makes
# a scanned copy's grams match the original's. Lossy on purpose: only used for matching.
# Deleting ASCII punctuation and spaces leaves the letters and digits (and any non-ASCII bytes).
LOOKALIKES = bytes.maketrans(b"0a1i5cfb", b"oollseth")
NON_WORD_BYTES = bytes(c for c in range(128) if not chr(c).isalnum())
SAMPLE_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
BAND_MULTIPLIER = np.uint64(0x100000001B3)  # FNV-1 prime: chains a band's minima into one key
FILTER_BITS = 24  # a bitmap of the query keys' top bits screens a large index's keys before the exact search
GRAM = 9  # letters per character gram: long enough that different articles rarely share one


def fold_letters(text: str) -> bytes:
    """The text's letters and digits as UTF-8, case- and look-alike-folded ("rn" read as "m").

    Doubled letters are collapsed later, on the bytes (see `gram_codes`).
    """
    return text.casefold().encode("utf-8").translate(LOOKALIKES, NON_WORD_BYTES).replace(b"rn", b"m")


def _fmix64(x: np.ndarray) -> np.ndarray:
    return _fmix(x, 64)


def fold_texts(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """All texts' folded letters in one byte array, and where each text starts (n + 1 offsets).

    A letter doubled or dropped by a scanner reads the same: runs of one letter become one. A
    non-empty text shorter than a gram is padded with zero bytes to one gram.
    """
    folded = [fold_letters(t) for t in texts]
    raw = np.frombuffer(b"".join(folded), dtype=np.uint8)
    offsets = np.zeros(len(folded) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, folded), np.int64, len(folded)), out=offsets[1:])
    if not len(raw):
        return raw, offsets
    keep = np.empty(len(raw), dtype=bool)
    keep[0] = True
    np.not_equal(raw[1:], raw[:-1], out=keep[1:])
    keep[offsets[:-1][offsets[:-1] < len(raw)]] = True  # a text's first letter is never its neighbour's double
    kept_before = np.zeros(len(raw) + 1, dtype=np.int64)
    np.cumsum(keep, out=kept_before[1:])
    raw, offsets = raw[keep], kept_before[offsets]
    lengths = np.diff(offsets)
    pad = np.where(lengths > 0, np.maximum(GRAM - lengths, 0), 0)
    if pad.any():  # rare: texts of a few letters
        raw = np.insert(raw, np.repeat(offsets[1:], pad), 0)
        offsets = offsets + np.r_[0, np.cumsum(pad)]
    return raw, offsets


def all_gram_codes(raw: np.ndarray) -> np.ndarray:
    """The code of the gram starting at every byte of `raw` (the last GRAM - 1 run past a text's end).

    A gram's code is its first 8 bytes read as one little-endian word (an unaligned strided view,
    no copy), mixed with its 9th byte; distinct grams collide with negligible odds.
    """
    total = len(raw)
    buf = np.concatenate([raw, np.zeros(GRAM, np.uint8)])
    head = np.ndarray((total,), dtype="<u8", buffer=buf, strides=(1,))
    return head ^ (buf[8:8 + total].astype(np.uint64) * SAMPLE_MULTIPLIER)


def gram_codes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Codes of every folded character gram of each text: (codes, owner), owner[i] the text of gram i."""
    raw, offsets = fold_texts(texts)
    codes = all_gram_codes(raw)
    owner = np.repeat(np.arange(len(texts)), np.diff(offsets))
    whole = np.arange(len(raw)) <= offsets[1:][owner] - GRAM  # the gram lies inside its own text
    return codes[whole], owner[whole]


def sampled(codes: np.ndarray, sample_bits: int) -> np.ndarray:
    """Which grams take part in the sketch, one in 2**sample_bits: decided by the gram alone, so copies agree."""
    return ((codes * SAMPLE_MULTIPLIER) >> np.uint64(64 - sample_bits)) == 0


def sampled_grams(texts: list[str], sample_bits: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes, owner, position) of each text's sampled grams; position counts folded bytes into the text.

    Samples before anything else is computed per gram: most of the work is on one gram in 2**sample_bits.
    """
    raw, offsets = fold_texts(texts)
    codes = all_gram_codes(raw)
    at = np.flatnonzero(sampled(codes, sample_bits))
    owner = np.searchsorted(offsets, at, "right") - 1
    inside = at <= offsets[owner + 1] - GRAM  # the gram lies inside its own text
    at, owner = at[inside], owner[inside]
    return codes[at], owner, at - offsets[owner]


def input_hashes(codes: np.ndarray) -> np.ndarray:
    """The 32-bit hash datasketch would get from its hashfunc for each gram."""
    return (_fmix64(codes) & np.uint64(0xFFFFFFFF)).astype(np.uint32)


class MinHasher:
    """Batch MinHash of sampled character grams, bit-identical to datasketch's affine32 MinHash.

    `signatures(texts)` returns one uint32 row per text; `minhash(row)` wraps a row as a
    datasketch LeanMinHash (e.g. to estimate Jaccard or feed a datasketch index).
    """

    def __init__(self, num_perm: int = 128, seed: int = 1, sample_bits: int = 3, chunk: int = 1 << 16):
        self.num_perm = num_perm
        self.seed = seed
        self.sample_bits = sample_bits
        self.chunk = chunk
        a, b = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations
        self.a, self.b = a.astype(np.uint32), b.astype(np.uint32)

    def sampled(self, codes: np.ndarray) -> np.ndarray:
        return sampled(codes, self.sample_bits)

    input_hashes = staticmethod(input_hashes)

    def signatures(self, texts: list[str], texts_per_pass: int = 512) -> np.ndarray:
        sig = np.full((len(texts), self.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
        for first in range(0, len(texts), texts_per_pass):  # bounded memory
            codes, owner, _ = sampled_grams(texts[first:first + texts_per_pass], self.sample_bits)
            self.fill(sig, _fmix(input_hashes(codes), 32), owner + first)
        return sig

    def fill(self, sig: np.ndarray, mixed: np.ndarray, owner: np.ndarray) -> None:
        """Lower `sig[owner[i]]` to the permuted minima of the pre-mixed hashes `mixed` (owner sorted).

        One permutation at a time over all grams: flat uint32 vectors reduce several times
        faster than a (grams, num_perm) block.
        """
        permuted = np.empty(min(self.chunk, len(mixed)), dtype=np.uint32)
        for lo in range(0, len(mixed), self.chunk):  # bounded memory
            part, who = mixed[lo:lo + self.chunk], owner[lo:lo + self.chunk]
            firsts = np.flatnonzero(np.r_[True, who[1:] != who[:-1]])
            minima = np.empty((len(firsts), self.num_perm), dtype=np.uint32)
            out = permuted[: len(part)]
            for k in range(self.num_perm):
                np.multiply(part, self.a[k], out=out)  # wraps like datasketch's uint32 arithmetic
                out += self.b[k]
                minima[:, k] = np.minimum.reduceat(out, firsts)
            rows = who[firsts]
            sig[rows] = np.minimum(sig[rows], minima)

    def minhash(self, signature: np.ndarray) -> LeanMinHash:
        return LeanMinHash(seed=self.seed, hashvalues=signature, scheme=SCHEME)


@functools.lru_cache(maxsize=16)
def hasher(num_perm: int, seed: int, sample_bits: int) -> MinHasher:
    return MinHasher(num_perm, seed, sample_bits)


def plausible(a: np.ndarray, b: np.ndarray, params) -> np.ndarray:
    """Candidate pairs whose signatures agree on more than a chance band: `min_agree` minima of
    the whole sketch (a containment copy keeps about J*num_perm of them) or a quarter of a lead's."""
    agree = a == b
    ok = agree[:, : params.num_perm].sum(axis=1) >= params.min_agree
    for lead in params.lead_columns():
        ok |= agree[:, lead].sum(axis=1) * 4 >= params.lead_perm
    return ok


@functools.lru_cache(maxsize=16)  # datasketch integrates false-positive/negative curves: slow
def lsh_bands(threshold: float, num_perm: int, recall_weight: float = 0.8) -> tuple[int, int]:
    """(bands, rows) datasketch picks for this threshold, weighting missed copies over extra candidates."""
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm, weights=(1 - recall_weight, recall_weight))
    return lsh.b, lsh.r


def band_keys(signatures: np.ndarray, bands: int, rows: int, first_band: int = 0) -> np.ndarray:
    """One 64-bit key per (story, band); equal keys mean the band's minima all agree.

    Minima are uniform 32-bit values, so a multiply-add chain keeps them apart as well as a
    full hash would, at a fraction of the cost; a salt per band keeps bands apart.
    """
    n = len(signatures)
    parts = signatures[:, : bands * rows].reshape(n, bands, rows)
    key = parts[:, :, 0].astype(np.uint64)
    for r in range(1, rows):
        key *= BAND_MULTIPLIER
        key += parts[:, :, r]
    return key ^ _fmix64(np.arange(first_band, first_band + bands, dtype=np.uint64))


def candidate_pairs(keys: np.ndarray, queries: np.ndarray, max_bucket: int) -> np.ndarray:
    """Unordered pairs (i, j), i < j, sharing a band key, where at least one is in `queries`.

    Buckets larger than `max_bucket` (boilerplate shared by many stories) are skipped. A few
    queries against a large index sort only the index keys some query shares, not all of them.
    """
    n, n_bands = keys.shape
    flat = keys.ravel()
    if len(queries) < n:
        query_keys = np.sort(keys[queries].ravel())
        if not len(query_keys):
            return np.empty((0, 2), dtype=np.int64)
        screen = np.zeros(1 << FILTER_BITS, dtype=bool)
        screen[query_keys >> np.uint64(64 - FILTER_BITS)] = True
        maybe = np.flatnonzero(screen[flat >> np.uint64(64 - FILTER_BITS)])
        near = np.searchsorted(query_keys, flat[maybe]).clip(max=len(query_keys) - 1)
        shared = maybe[query_keys[near] == flat[maybe]]
    else:
        shared = np.arange(len(flat))
    order = shared[np.argsort(flat[shared], kind="stable")]
    sorted_keys, owner = flat[order], order // n_bands
    is_query = np.zeros(n, dtype=bool)
    is_query[queries] = True
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]) if len(order) else np.empty(0, np.int64)
    sizes = np.diff(np.r_[starts, len(order)])
    bucket = np.repeat(np.arange(len(starts)), sizes)
    useful = (sizes > 1) & (sizes <= max_bucket)
    # every query member of a useful bucket pairs with every member of it
    member = np.flatnonzero(useful[bucket] & is_query[owner])
    if not len(member):
        return np.empty((0, 2), dtype=np.int64)
    size = sizes[bucket[member]]
    idx = np.repeat(starts[bucket[member]] - np.cumsum(size) + size, size) + np.arange(size.sum())
    left, right = np.repeat(owner[member], size), owner[idx]
    pairs = np.stack([np.minimum(left, right), np.maximum(left, right)], axis=1)
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.unique(pairs, axis=0)


@dataclass(slots=True)
class Fingerprint:
    """What verification compares, as sorted unique uint64 arrays: word shingles (in-process
    hashes), folded char grams, and the folded char grams of its paragraphs alone."""

    shingles: np.ndarray
    grams: np.ndarray
    n_tokens: int
    paragraph_grams: np.ndarray


class Rarity:
    """How rare each shingle and char gram is among the stories verified in one run, and the
    scores of a pair with every shingle and gram weighed by it (`scores`).

    A value held by df of the N fingerprinted stories weighs log(1 + N / df), squared so that
    a short story's own few words outweigh a long footer. Why: text that many otherwise
    different stories carry (an outlet's footer, furniture no boilerplate pattern knows) made
    a short story look contained in every other story carrying it, and groups chained
    (README, Duplicate detection). A copy's text is held by its group only, so it still outweighs
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
        char_containment = overlap(grams_a, grams_b, gram_w_a, gram_w_b)[1]
        # the smaller paragraph part, found in the other text; a paragraph that many other
        # stories carry too (a footer) counts for as little as it is rare against the text
        paragraphs = 0.0
        if len(a.paragraph_grams) and len(b.paragraph_grams) and len(par_a) and len(par_b):
            (par, par_w, gram_w), other = (((par_a, par_w_a, gram_w_a), grams_b)
                                           if len(a.paragraph_grams) <= len(b.paragraph_grams)
                                           else ((par_b, par_w_b, gram_w_b), grams_a))
            rarity = min(1.0, float(par_w.mean()) / max(float(gram_w.mean()), 1e-9))
            paragraphs = share_found(par, other, par_w) * rarity
        return Scores(jaccard, containment, char_containment, paragraphs)


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
    h = np.fromiter(map(hash, tokens), np.int64, len(tokens)).view(np.uint64)
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


def fingerprints(articles: list[Article], shingle_words: int = 3, paragraph_words: int = 12,
                 per_pass: int = 512) -> list[Fingerprint]:
    """Fingerprints of many articles; their char grams a few hundred texts per numpy pass."""
    out = []
    for first in range(0, len(articles), per_pass):  # bounded memory
        part = articles[first:first + per_pass]
        grams = text_grams([a.text for a in part])
        tokens, bodies = zip(*(words_and_paragraphs(a.text, paragraph_words) for a in part)) if part else ((), ())
        # most stories are paragraphs alone: their grams are the whole text's
        cut = [i for i, (a, body) in enumerate(zip(part, bodies)) if body != a.text.casefold()]
        paragraph_grams = list(grams)
        for i, body_grams in zip(cut, text_grams([bodies[i] for i in cut])):
            paragraph_grams[i] = body_grams
        for text_words, whole, body in zip(tokens, grams, paragraph_grams):
            out.append(Fingerprint(shingle_hashes(text_words, shingle_words), whole, len(text_words), body))
    return out


def fingerprint(article: Article, shingle_words: int = 3, paragraph_words: int = 12) -> Fingerprint:
    return fingerprints([article], shingle_words, paragraph_words)[0]


@dataclass(slots=True)
class Scores:
    jaccard: float
    containment: float
    char_containment: float
    paragraph_containment: float = 0.0


def overlap(a: np.ndarray, b: np.ndarray, weights_a: np.ndarray | None = None,
            weights_b: np.ndarray | None = None) -> tuple[float, float]:
    """(Jaccard, containment of the smaller in the larger) of two sorted unique arrays, each
    value counted with its weight where weights are given (the same value weighs the same in both)."""
    if not len(a) or not len(b):
        return 0.0, 0.0
    if weights_a is None or weights_b is None:
        inter = len(np.intersect1d(a, b, assume_unique=True))
        return inter / (len(a) + len(b) - inter), inter / min(len(a), len(b))
    _, in_a, _ = np.intersect1d(a, b, assume_unique=True, return_indices=True)
    inter, mass_a, mass_b = float(weights_a[in_a].sum()), float(weights_a.sum()), float(weights_b.sum())
    if min(mass_a, mass_b) <= 0:
        return 0.0, 0.0
    return inter / (mass_a + mass_b - inter), inter / min(mass_a, mass_b)


def share_found(a: np.ndarray, b: np.ndarray, weights_a: np.ndarray | None = None) -> float:
    """Share of the sorted unique values `a` (by weight, where given) also in `b`."""
    if not len(a):
        return 0.0
    if weights_a is None:
        return len(np.intersect1d(a, b, assume_unique=True)) / len(a)
    _, in_a, _ = np.intersect1d(a, b, assume_unique=True, return_indices=True)
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


@dataclass(frozen=True, slots=True)
class DuplicateRules:
    """Thresholds tuned on ECB+ dev plus generated damage (bench/near_duplicates.py).

    Different articles of one event, even sharing quotes, stay below: word containment 0.22
    and char-gram containment 0.33 at most on the dev set.
    """

    jaccard: float = 0.5
    containment: float = 0.55
    char_containment: float = 0.6
    paragraph_containment: float = 0.7
    via_support: float = 0.3  # char containment against the canonical needed to join through a member
    min_tokens: int = 8  # tiny texts match too easily to be called copies
    rare_share: float = 0.6  # of each threshold, the same score weighed by rarity must reach

    def decide(self, s: Scores, small_tokens: int, rare: Scores | None = None) -> str | None:
        """Name of the first rule that proves a copy, or None. With `rare` (the same scores,
        each shingle and gram weighed by its rarity: `Rarity`), a rule holds only if the
        rare-weighted score also reaches `rare_share` of its threshold: a match made of text
        that many other stories carry too proves nothing."""
        if small_tokens < self.min_tokens:
            return None

        def holds(field: str, threshold: float) -> bool:
            return getattr(s, field) >= threshold and (rare is None or getattr(rare, field) >= self.rare_share * threshold)

        if holds("jaccard", self.jaccard):
            return f"word jaccard >= {self.jaccard}"
        if holds("containment", self.containment):
            return f"word containment >= {self.containment}"
        if holds("char_containment", self.char_containment):  # OCR noise, garbling: words broken, letters kept
            return f"char containment >= {self.char_containment}"
        if holds("paragraph_containment", self.paragraph_containment):  # re-wrapped: new furniture around kept paragraphs
            # the duplicates table has no column for this score: the rule carries it
            return f"paragraph containment {s.paragraph_containment:.2f} >= {self.paragraph_containment}"
        return None


def verify(a: Fingerprint, b: Fingerprint, rules: DuplicateRules,
           rarity: Rarity | None = None) -> tuple[Scores, str | None]:
    """The pair's scores and the rule that proves it a copy, if any; with `rarity`, a rule
    that holds is checked again on the scores weighed by rarity (`DuplicateRules.decide`)."""
    jac, cont = overlap(a.shingles, b.shingles)
    scores = Scores(jac, cont, overlap(a.grams, b.grams)[1], paragraph_containment(a, b))
    small_tokens = min(a.n_tokens, b.n_tokens)
    rule = rules.decide(scores, small_tokens)
    if rule and rarity is not None:  # weighed only for the few pairs a rule holds for
        rule = rules.decide(scores, small_tokens, rarity.scores(a, b))
    return scores, rule


DETACHED = re.compile(r"\s[^\w\s]+(?=\s)")  # a token of punctuation only (text padded with spaces)


def cleanliness(article: Article) -> float:
    """Share of original tokens that are not detached punctuation: tokenized copies score lower."""
    n_tokens = len(article.original_text.split())
    if not n_tokens:
        return 0.0
    return 1.0 - len(DETACHED.findall(f" {article.original_text} ")) / n_tokens


def canonical_key(article: Article) -> tuple:
    """Earliest published, then cleanest, then longest, then id: the rule editors read."""
    return (
        article.published_at or FAR_FUTURE,
        -round(cleanliness(article), 2),
        -len(article.text),
        article.article_id,
    )


VIA = "via member "
CANONICAL_REASON = "earliest published, then cleanest text, then longest (kept once stored)"


def seen_at(article: Article) -> datetime:
    return article.published_at or article.ingested_at


@dataclass(frozen=True, slots=True)
class DuplicateParams:
    shingle_words: int = 3
    paragraph_words: int = 12  # a line this long is part of the story, shorter ones may be page furniture
    num_perm: int = 128
    seed: int = 1
    lsh_threshold: float = 0.15
    # small sketches of each story's lead, its first `lead_chars` folded letters for each length:
    # trimmed copies keep the lead even when they keep little of the whole, and a copy cut
    # shorter than a long lead still holds a short one whole
    lead_chars: tuple[int, ...] = (600, 200, 80)
    lead_perm: int = 32
    sample_bits: int = 3  # one gram in 2**sample_bits is sketched
    lead_threshold: float = 0.5
    min_agree: int = 8  # of num_perm minima, for a candidate pair to be verified (chance agreement is 2-5)
    window_days: float = 7.0
    max_bucket: int = 1000
    rules: DuplicateRules = field(default_factory=DuplicateRules)

    @property
    def sketch(self) -> str:
        """Identifies signatures that can be compared: stored ones with another sketch are rebuilt."""
        return (f"{SCHEME}/perm{self.num_perm}+{self.lead_perm}x{'x'.join(map(str, self.lead_chars))}/seed{self.seed}/gram{GRAM}"
                f"/sample{self.sample_bits}")

    @classmethod
    def from_settings(cls, settings) -> DuplicateParams:
        """Parameters from `pipeline.config.Settings`."""
        return cls(
            shingle_words=settings.shingle_words, num_perm=settings.minhash_perm, seed=settings.minhash_seed,
            lsh_threshold=settings.lsh_threshold, window_days=settings.dup_window_days,
            rules=DuplicateRules(settings.dup_jaccard, settings.dup_containment, settings.dup_char_containment,
                                 settings.dup_paragraph_containment),
        )

    @property
    def width(self) -> int:
        return self.num_perm + self.lead_perm * len(self.lead_chars)

    def lead_columns(self) -> list[slice]:
        """Where each lead's signature sits in a signature row, in `lead_chars` order."""
        return [slice(self.num_perm + k * self.lead_perm, self.num_perm + (k + 1) * self.lead_perm)
                for k in range(len(self.lead_chars))]

    def sketch_texts(self, texts: list[str], texts_per_pass: int = 512) -> np.ndarray:
        """Each story's whole-text signature followed by its leads' signatures."""
        whole, lead = hasher(self.num_perm, self.seed, self.sample_bits), hasher(self.lead_perm, self.seed, self.sample_bits)
        sig = np.full((len(texts), self.width), np.iinfo(np.uint32).max, dtype=np.uint32)
        for first in range(0, len(texts), texts_per_pass):  # bounded memory
            codes, owner, position = sampled_grams(texts[first:first + texts_per_pass], self.sample_bits)
            mixed, owner = _fmix(input_hashes(codes), 32), owner + first
            whole.fill(sig[:, : self.num_perm], mixed, owner)
            for chars, columns in zip(self.lead_chars, self.lead_columns()):
                in_lead = position <= chars - GRAM
                lead.fill(sig[:, columns], mixed[in_lead], owner[in_lead])
        return sig

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        bands, rows = lsh_bands(self.lsh_threshold, self.num_perm)
        lead_bands, lead_rows = lsh_bands(self.lead_threshold, self.lead_perm)
        keys = [band_keys(signatures[:, : self.num_perm], bands, rows)]
        for k, columns in enumerate(self.lead_columns()):
            keys.append(band_keys(signatures[:, columns], lead_bands, lead_rows, first_band=bands + k * lead_bands))
        return np.concatenate(keys, axis=1)


@dataclass(slots=True)
class DuplicateIndex:
    """Signatures of the stories inside the window, with their group: persisted between runs."""

    article_id: list[str]
    content_hash: list[str]
    group_id: list[str]
    seen_at: np.ndarray  # datetime64[us], UTC
    signatures: np.ndarray  # (n, params.width) uint32

    @classmethod
    def empty(cls, num_perm: int) -> DuplicateIndex:
        return cls([], [], [], np.empty(0, "datetime64[us]"), np.empty((0, num_perm), np.uint32))

    @classmethod
    def from_table(cls, table: pa.Table, params: DuplicateParams) -> DuplicateIndex:
        """Entries of a stored index; entries made with another sketch are dropped (and rebuilt)."""
        table = table.filter(pa.compute.equal(table["sketch"], params.sketch)) if table.num_rows else table
        if not table.num_rows:
            return cls.empty(params.width)
        sig = table["signature"].combine_chunks().flatten().to_numpy(zero_copy_only=False)
        return cls(
            table["article_id"].to_pylist(), table["content_hash"].to_pylist(), table["dup_group_id"].to_pylist(),
            table["seen_at"].to_numpy().astype("datetime64[us]"),
            sig.astype(np.uint32).reshape(table.num_rows, params.width),
        )

    def to_table(self, params: DuplicateParams) -> pa.Table:
        n = len(self.article_id)
        flat = pa.array(self.signatures.ravel(), pa.uint32())
        offsets = pa.array(np.arange(n + 1, dtype=np.int32) * params.width)
        return pa.table({
            "article_id": pa.array(self.article_id, pa.string()),
            "content_hash": pa.array(self.content_hash, pa.string()),
            "dup_group_id": pa.array(self.group_id, pa.string()),
            "seen_at": pa.array(self.seen_at, pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC")),
            "sketch": pa.array([params.sketch] * n, pa.string()),
            "signature": pa.ListArray.from_arrays(offsets, flat),
        }, schema=store.SCHEMAS["minhash_index"])

    def select(self, keep: np.ndarray) -> DuplicateIndex:
        idx = np.flatnonzero(keep)
        return DuplicateIndex([self.article_id[i] for i in idx], [self.content_hash[i] for i in idx],
                              [self.group_id[i] for i in idx], self.seen_at[idx], self.signatures[idx])

    def extend(self, articles: list[Article], groups: list[str], signatures: np.ndarray) -> DuplicateIndex:
        times = seen_times(articles)
        return DuplicateIndex(self.article_id + [a.article_id for a in articles],
                              self.content_hash + [a.content_hash for a in articles], self.group_id + groups,
                              np.concatenate([self.seen_at, times]), np.concatenate([self.signatures, signatures]))


def seen_times(articles: list[Article]) -> np.ndarray:
    """When each article was seen, as UTC datetime64[us] (whole microseconds survive float64)."""
    seconds = np.fromiter((seen_at(a).timestamp() for a in articles), np.float64, len(articles))
    return np.round(seconds * 1e6).astype(np.int64).astype("datetime64[us]")


@dataclass(slots=True)
class DuplicateResult:
    edges: list[DuplicateEdge]  # one per non-canonical article
    group_of: dict[str, str]  # article_id -> dup_group_id (the canonical's id)
    canonical_reason: str
    index: pa.Table | None = None  # the index to store with this run's tables
    n_candidates: int = 0  # candidate pairs verified this run


def update_duplicates(
    new: list[Article],
    stored: list[Article],
    previous_group: dict[str, str],
    previous_edges: list[DuplicateEdge],
    index_table: pa.Table | None,
    params: DuplicateParams,
) -> DuplicateResult:
    """Fold `new` articles into the duplicate groups of `stored` ones.

    New stories are compared with each other and with every indexed story within
    `params.window_days` of them; stored assignments never change. Index entries older
    than the window (counted back from the newest story seen) expire. Stored articles
    missing from the index but inside the window (an older store, another sketch) are
    indexed again from their text.
    """
    rules, window = params.rules, np.timedelta64(int(params.window_days * 86400e6), "us")
    index = DuplicateIndex.from_table(index_table, params) if index_table is not None else DuplicateIndex.empty(params.width)
    stored_by_id = {a.article_id: a for a in stored}
    by_id = {**stored_by_id, **{a.article_id: a for a in new}}
    indexed = set(index.article_id)
    missing = [a for a in stored if a.article_id not in indexed]
    missing_times, new_times = seen_times(missing), seen_times(new)
    # the newest story seen: every stored one is indexed unless missing, and none expires before it
    newest = max(np.concatenate([index.seen_at, missing_times, new_times, [np.datetime64(0, "us")]]))
    backfill = [a for a, t in zip(missing, missing_times) if t >= newest - window]
    index = index.extend(backfill, [previous_group.get(a.article_id, a.article_id) for a in backfill],
                         params.sketch_texts([a.text for a in backfill]))
    index = index.select(index.seen_at >= newest - window)

    # candidates among index + new: LSH bands, equal content hashes, and time within the window
    new_sigs = params.sketch_texts([a.text for a in new])
    n_old = len(index.article_id)
    ids = index.article_id + [a.article_id for a in new]
    times = np.concatenate([index.seen_at, new_times])
    all_sigs = np.concatenate([index.signatures, new_sigs])
    keys = params.band_keys(all_sigs)
    pairs = candidate_pairs(keys, np.arange(n_old, len(ids)), params.max_bucket)
    pairs = pairs[np.abs(times[pairs[:, 0]] - times[pairs[:, 1]]) <= window]
    step = 1 << 16  # pairs per screening pass: bounded memory on a first build of a large index
    pairs = pairs[np.concatenate([plausible(all_sigs[pairs[lo:lo + step, 0]], all_sigs[pairs[lo:lo + step, 1]], params)
                                  for lo in range(0, len(pairs), step)] or [np.zeros(0, bool)])]
    partners: dict[str, set[str]] = {}
    for i, j in pairs.tolist():
        partners.setdefault(ids[i], set()).add(ids[j])
        partners.setdefault(ids[j], set()).add(ids[i])
    same_text: dict[str, list[str]] = {}
    for aid, digest in zip(ids, index.content_hash + [a.content_hash for a in new]):
        same_text.setdefault(digest, []).append(aid)

    group_of = {a.article_id: previous_group.get(a.article_id) or a.article_id for a in stored}
    group_of.update(zip(index.article_id, index.group_id))
    # fingerprint, in one batch, every story that may be verified: candidates and their canonicals
    needed = {aid for aid in partners if aid in by_id} | {aid for twins in same_text.values() if len(twins) > 1
                                                        for aid in twins if aid in by_id}
    needed |= {group_of[aid] for aid in needed if group_of.get(aid) in by_id}
    needed = sorted(needed)
    prints = dict(zip(needed, fingerprints([by_id[aid] for aid in needed], params.shingle_words,
                                                   params.paragraph_words)))
    rarity = Rarity(list(prints.values()))

    def fp(aid: str) -> Fingerprint:
        if aid not in prints:
            prints[aid] = fingerprint(by_id[aid], params.shingle_words, params.paragraph_words)
        return prints[aid]

    # members that verified against their canonical directly: a copy may reach a group through them
    direct = {e.article_id for e in previous_edges if not e.rule.startswith(VIA)}
    edges: list[DuplicateEdge] = []
    n_verified = 0
    # only stories with a candidate can join a group; the rest start their own, in any order
    alone = {a.article_id for a in new if a.article_id not in partners and len(same_text[a.content_hash]) < 2}
    group_of.update((aid, aid) for aid in alone)
    for article in sorted((a for a in new if a.article_id not in alone), key=canonical_key):
        aid = article.article_id
        twins = {group_of[t] for t in same_text[article.content_hash] if t in group_of and t != aid}
        members: dict[str, list[str]] = {}
        for other in sorted(partners.get(aid, ())):
            if other in group_of:
                members.setdefault(group_of[other], []).append(other)
        best: tuple[tuple, str, Scores, str, str] | None = None  # (rank, group, scores, method, rule)
        for canon in sorted(twins | set(members)):
            if canon not in by_id:
                continue  # the canonical's text is no longer stored
            n_verified += 1
            scores, rule = verify(fp(aid), fp(canon), rules, rarity)
            method = "exact" if canon in twins else "minhash"
            if method == "exact":
                rule = rule or "exact: same text as a member of the group"
            closest = canon
            reachable = not rule and scores.char_containment >= rules.via_support
            for member in members.get(canon, []) if reachable else []:
                # a copy of a copy: one step through a member that verified against the canonical
                if member in direct and member in by_id:
                    n_verified += 1
                    member_rule = verify(fp(aid), fp(member), rules, rarity)[1]
                    if member_rule:
                        rule, closest = f"{VIA}{member}: {member_rule}", member
                        break
            if rule:
                # the group whose story (the canonical, or the member it reached the group through)
                # explains most of its text: a short story quoted whole in it explains little
                rank = (method == "exact", share_found(fp(aid).grams, fp(closest).grams))
                if best is None or rank > best[0]:
                    best = (rank, canon, scores, method, rule)
        if best is None:
            group_of[aid] = aid
            continue
        _, canon, scores, method, rule = best
        group_of[aid] = canon
        if not rule.startswith(VIA):
            direct.add(aid)
        edges.append(DuplicateEdge(
            article_id=aid, duplicate_of=canon, similarity=round(max(scores.jaccard, scores.containment), 4),
            method=method, jaccard=round(scores.jaccard, 4), containment=round(scores.containment, 4),
            char_containment=round(scores.char_containment, 4), rule=rule,
        ))

    index = index.extend(new, [group_of[a.article_id] for a in new], new_sigs)
    index = index.select(index.seen_at >= newest - window)  # new stories can be old too
    kept_edges = [e for e in previous_edges if e.article_id in stored_by_id]
    return DuplicateResult(
        edges=kept_edges + edges, group_of=group_of, canonical_reason=CANONICAL_REASON,
        index=index.to_table(params), n_candidates=n_verified,
    )


def find_duplicates(articles: list[Article], params: DuplicateParams | None = None) -> DuplicateResult:
    """Duplicate groups within one batch of articles, with no stored state."""
    return update_duplicates(articles, [], {}, [], None, params or DuplicateParams())
