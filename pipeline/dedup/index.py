"""The copy index: signatures of the stories inside the dedup window, with their group.

Persisted with the store (hidden table `_minhash_index`) so a later run compares its new
stories with stored ones without re-sketching them. It is derived data: a story missing from
it is sketched again from its text.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pyarrow as pa

from pipeline.dedup.sketch import Sketcher
from pipeline.records import Article
from pipeline.store.schema import SCHEMAS


def seen_at(article: Article) -> datetime:
    return article.published_at or article.ingested_at


@dataclass(slots=True)
class DuplicateIndex:
    """Signatures of the stories inside the window, with their group: persisted between runs."""

    article_id: list[str]
    content_hash: list[str]
    group_id: list[str]
    seen_at: np.ndarray  # datetime64[us], UTC
    signatures: np.ndarray  # (n, sketcher.width) uint32

    @classmethod
    def empty(cls, width: int) -> DuplicateIndex:
        return cls([], [], [], np.empty(0, "datetime64[us]"), np.empty((0, width), np.uint32))

    @classmethod
    def from_table(cls, table: pa.Table, sketcher: Sketcher) -> DuplicateIndex:
        """Entries of a stored index; entries made with another sketch are dropped (and rebuilt)."""
        table = table.filter(pa.compute.equal(table["sketch"], sketcher.name)) if table.num_rows else table
        if not table.num_rows:
            return cls.empty(sketcher.width)
        sig = table["signature"].combine_chunks().flatten().to_numpy(zero_copy_only=False)
        return cls(
            table["article_id"].to_pylist(), table["content_hash"].to_pylist(), table["dup_group_id"].to_pylist(),
            table["seen_at"].to_numpy().astype("datetime64[us]"),
            sig.astype(np.uint32).reshape(table.num_rows, sketcher.width),
        )

    def to_table(self, sketcher: Sketcher) -> pa.Table:
        n = len(self.article_id)
        flat = pa.array(self.signatures.ravel(), pa.uint32())
        offsets = pa.array(np.arange(n + 1, dtype=np.int32) * sketcher.width)
        return pa.table({
            "article_id": pa.array(self.article_id, pa.string()),
            "content_hash": pa.array(self.content_hash, pa.string()),
            "dup_group_id": pa.array(self.group_id, pa.string()),
            "seen_at": pa.array(self.seen_at, pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC")),
            "sketch": pa.array([sketcher.name] * n, pa.string()),
            "signature": pa.ListArray.from_arrays(offsets, flat),
        }, schema=SCHEMAS["_minhash_index"])

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

