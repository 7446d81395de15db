"""Sketch and candidates: MinHash signatures of folded character grams, and LSH candidate pairs.

Every story's letters are folded (case, OCR look-alikes, doubled letters) and cut into
character 9-grams; one gram in eight (chosen by hash, so the same in every copy) is MinHashed
in one numpy batch (datasketch's "affine32" scheme), sampled before any per-gram work and
permuted one permutation at a time over all sampled grams. Besides the whole text, each
story's lead is sketched at a few lengths: a trimmed copy keeps the lead even when it keeps
little of the whole. Candidates are pairs sharing an LSH band key, screened by how many minima
agree; only index keys a new story shares are sorted.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH
from datasketch.minhash import _fmix

from pipeline.config import DedupConfig

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


# Small sketches of each story's lead, its first LEAD_CHARS folded letters for each length:
# trimmed copies keep the lead even when they keep little of the whole, and a copy cut shorter
# than a long lead still holds a short one whole.
LEAD_CHARS = (600, 200, 80)
LEAD_PERM = 32
LEAD_THRESHOLD = 0.5
SAMPLE_BITS = 3  # one gram in 2**SAMPLE_BITS is sketched
MIN_AGREE = 8  # of num_perm minima, for a candidate pair to be verified (chance agreement is 2-5)
MAX_BUCKET = 1000  # larger LSH buckets are boilerplate many stories share, not copies


@dataclass(frozen=True, slots=True)
class Sketcher:
    """The signature layout: `num_perm` minima of the whole text, then `LEAD_PERM` of each lead."""

    num_perm: int
    seed: int
    lsh_threshold: float

    @classmethod
    def of(cls, config: DedupConfig) -> "Sketcher":
        return cls(config.num_perm, config.seed, config.lsh_threshold)

    @property
    def name(self) -> str:
        """Identifies signatures that can be compared: stored ones with another sketch are rebuilt."""
        return (f"{SCHEME}/perm{self.num_perm}+{LEAD_PERM}x{'x'.join(map(str, LEAD_CHARS))}/seed{self.seed}/gram{GRAM}"
                f"/sample{SAMPLE_BITS}")

    @property
    def width(self) -> int:
        return self.num_perm + LEAD_PERM * len(LEAD_CHARS)

    def lead_columns(self) -> list[slice]:
        """Where each lead's signature sits in a signature row, in `LEAD_CHARS` order."""
        return [slice(self.num_perm + k * LEAD_PERM, self.num_perm + (k + 1) * LEAD_PERM)
                for k in range(len(LEAD_CHARS))]

    def signatures(self, texts: list[str], texts_per_pass: int = 512) -> np.ndarray:
        """Each story's whole-text signature followed by its leads' signatures."""
        whole, lead = hasher(self.num_perm, self.seed, SAMPLE_BITS), hasher(LEAD_PERM, self.seed, SAMPLE_BITS)
        sig = np.full((len(texts), self.width), np.iinfo(np.uint32).max, dtype=np.uint32)
        for first in range(0, len(texts), texts_per_pass):  # bounded memory
            codes, owner, position = sampled_grams(texts[first:first + texts_per_pass], SAMPLE_BITS)
            mixed, owner = _fmix(input_hashes(codes), 32), owner + first
            whole.fill(sig[:, : self.num_perm], mixed, owner)
            for chars, columns in zip(LEAD_CHARS, self.lead_columns()):
                in_lead = position <= chars - GRAM
                lead.fill(sig[:, columns], mixed[in_lead], owner[in_lead])
        return sig

    def band_keys(self, signatures: np.ndarray) -> np.ndarray:
        bands, rows = lsh_bands(self.lsh_threshold, self.num_perm)
        lead_bands, lead_rows = lsh_bands(LEAD_THRESHOLD, LEAD_PERM)
        keys = [band_keys(signatures[:, : self.num_perm], bands, rows)]
        for k, columns in enumerate(self.lead_columns()):
            keys.append(band_keys(signatures[:, columns], lead_bands, lead_rows, first_band=bands + k * lead_bands))
        return np.concatenate(keys, axis=1)

    def plausible(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Candidate pairs whose signatures agree on more than a chance band: `MIN_AGREE` minima of
        the whole sketch (a containment copy keeps about J*num_perm of them) or a quarter of a lead's."""
        agree = a == b
        ok = agree[:, : self.num_perm].sum(axis=1) >= MIN_AGREE
        for lead in self.lead_columns():
            ok |= agree[:, lead].sum(axis=1) * 4 >= LEAD_PERM
        return ok
