"""Near-duplicates: exact matches by content hash, then MinHash LSH candidates verified on shingles.

LSH is tuned for recall (a low threshold); every candidate pair is then verified on its
actual shingle sets, and only verified pairs become duplicate edges. Groups are the
connected components of verified edges; each gets one canonical story.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
import xxhash
from datasketch import LeanMinHash, MinHashLSH

from pipeline.records import Article, DuplicateEdge

WORD = re.compile(r"\w+", re.UNICODE)
MERSENNE_PRIME = np.uint64((1 << 61) - 1)
MAX_HASH = np.uint64((1 << 32) - 1)
FAR_FUTURE = datetime.max.replace(tzinfo=timezone.utc)


def words(text: str) -> list[str]:
    return WORD.findall(text.casefold())


def word_shingles(tokens: list[str], n: int) -> set[str]:
    if len(tokens) < n:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def char_grams(tokens: list[str], n: int = 5) -> set[str]:
    """Character n-grams over the letters only: survives re-tokenization and spacing damage."""
    joined = "".join(tokens)
    return {joined[i:i + n] for i in range(max(1, len(joined) - n + 1))}


class MinHasher:
    """Batch MinHash: xxhash the shingles once, permute them all with numpy."""

    def __init__(self, num_perm: int = 128, seed: int = 1):
        self.num_perm = num_perm
        self.seed = seed
        rng = np.random.RandomState(seed)  # (a*h + b) mod p: datasketch's "legacy" scheme
        self.a = rng.randint(1, MERSENNE_PRIME, size=num_perm, dtype=np.uint64)
        self.b = rng.randint(0, MERSENNE_PRIME, size=num_perm, dtype=np.uint64)

    def hashvalues(self, shingles: set[str]) -> np.ndarray:
        if not shingles:
            return np.full(self.num_perm, MAX_HASH, dtype=np.uint64)
        hv = np.fromiter((xxhash.xxh32_intdigest(s.encode()) for s in shingles), dtype=np.uint64, count=len(shingles))
        phv = (np.outer(hv, self.a) + self.b) % MERSENNE_PRIME & MAX_HASH
        return phv.min(axis=0)

    def minhash(self, shingles: set[str]) -> LeanMinHash:
        return LeanMinHash(seed=self.seed, hashvalues=self.hashvalues(shingles), scheme="legacy")


@dataclass(slots=True)
class Fingerprint:
    article_id: str
    shingles: set[str]
    grams: set[str]
    n_tokens: int


@dataclass(slots=True)
class Scores:
    jaccard: float
    containment: float
    char_containment: float


def overlap(a: set[str], b: set[str]) -> tuple[float, float]:
    """(Jaccard, containment of the smaller set in the larger)."""
    if not a or not b:
        return 0.0, 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter), inter / min(len(a), len(b))


@dataclass(frozen=True, slots=True)
class DuplicateRules:
    jaccard: float = 0.5
    containment: float = 0.6
    char_containment: float = 0.55
    min_tokens: int = 8  # tiny texts match too easily to be called copies

    def decide(self, s: Scores, small_tokens: int) -> str | None:
        """Name of the first rule that proves a copy, or None."""
        if small_tokens < self.min_tokens:
            return None
        if s.jaccard >= self.jaccard:
            return "jaccard"
        if s.containment >= self.containment:
            return "containment"
        # heavily damaged copies: words broken but letters mostly kept, with some word evidence
        if s.char_containment >= self.char_containment and s.containment >= self.containment / 3:
            return "char_containment"
        return None


def fingerprint(article: Article, shingle_words: int) -> Fingerprint:
    tokens = words(article.text)
    return Fingerprint(article.article_id, word_shingles(tokens, shingle_words), char_grams(tokens), len(tokens))


def verify(a: Fingerprint, b: Fingerprint, rules: DuplicateRules) -> tuple[Scores, str | None]:
    jac, cont = overlap(a.shingles, b.shingles)
    _, char_cont = overlap(a.grams, b.grams)
    scores = Scores(jac, cont, char_cont)
    return scores, rules.decide(scores, min(a.n_tokens, b.n_tokens))


def cleanliness(article: Article) -> float:
    """Share of original tokens that are not detached punctuation: tokenized copies score lower."""
    tokens = article.original_text.split()
    if not tokens:
        return 0.0
    detached = sum(1 for t in tokens if not any(ch.isalnum() for ch in t))
    return 1.0 - detached / len(tokens)


def canonical_key(article: Article) -> tuple:
    """Earliest published, then cleanest, then longest, then id: the rule editors read."""
    return (
        article.published_at or FAR_FUTURE,
        -round(cleanliness(article), 2),
        -len(article.text),
        article.article_id,
    )


CANONICAL_REASON = "earliest published, then cleanest text, then longest"


class _UnionFind:
    def __init__(self, items):
        self.parent = {i: i for i in items}

    def find(self, x):
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b):
        self.parent[self.find(a)] = self.find(b)


@dataclass(slots=True)
class DuplicateResult:
    edges: list[DuplicateEdge]  # one per non-canonical article
    group_of: dict[str, str]  # article_id -> dup_group_id (the canonical's id)
    canonical_reason: str


def find_duplicates(
    articles: list[Article],
    shingle_words: int = 3,
    num_perm: int = 128,
    seed: int = 1,
    lsh_threshold: float = 0.2,
    rules: DuplicateRules | None = None,
) -> DuplicateResult:
    """Group copies among `articles`; returns one edge per non-canonical article."""
    rules = rules or DuplicateRules()
    by_id = {a.article_id: a for a in articles}
    uf = _UnionFind(by_id)
    verified: dict[tuple[str, str], tuple[Scores, str, str]] = {}

    # exact: same normalized content
    first_by_hash: dict[str, str] = {}
    for a in articles:
        other = first_by_hash.setdefault(a.content_hash, a.article_id)
        if other != a.article_id:
            uf.union(a.article_id, other)
            verified[tuple(sorted((a.article_id, other)))] = (Scores(1.0, 1.0, 1.0), "exact", "exact")

    # near: LSH candidates over one representative per exact group, verified on shingles
    reps = [by_id[i] for i in first_by_hash.values()]
    hasher = MinHasher(num_perm, seed)
    prints = {a.article_id: fingerprint(a, shingle_words) for a in reps}
    lsh = MinHashLSH(threshold=lsh_threshold, num_perm=num_perm)
    for a in reps:
        mh = hasher.minhash(prints[a.article_id].shingles)
        for other in lsh.query(mh):
            scores, rule = verify(prints[a.article_id], prints[other], rules)
            if rule:
                uf.union(a.article_id, other)
                verified[tuple(sorted((a.article_id, other)))] = (scores, "minhash", rule)
        lsh.insert(a.article_id, mh)

    groups: dict[str, list[Article]] = {}
    for a in articles:
        groups.setdefault(uf.find(a.article_id), []).append(a)
    edges: list[DuplicateEdge] = []
    group_of: dict[str, str] = {}
    for members in groups.values():
        canonical = min(members, key=canonical_key)
        for m in members:
            group_of[m.article_id] = canonical.article_id
            if m is canonical:
                continue
            key = tuple(sorted((m.article_id, canonical.article_id)))
            if key in verified:
                scores, method, rule = verified[key]
            else:  # joined through another member: score it against the canonical directly
                fa = prints.get(m.article_id) or fingerprint(m, shingle_words)
                fc = prints.get(canonical.article_id) or fingerprint(canonical, shingle_words)
                scores, rule = verify(fa, fc, rules)
                method, rule = "minhash", f"transitive ({rule})" if rule else "transitive"
            edges.append(DuplicateEdge(
                article_id=m.article_id,
                duplicate_of=canonical.article_id,
                similarity=round(max(scores.jaccard, scores.containment), 4),
                method=method,
                jaccard=round(scores.jaccard, 4),
                containment=round(scores.containment, 4),
                char_containment=round(scores.char_containment, 4),
                rule=rule,
            ))
    return DuplicateResult(edges=edges, group_of=group_of, canonical_reason=CANONICAL_REASON)
