"""Dedup: fold copies of one story (re-published, trimmed, re-wrapped, garbled) under a canonical story.

`sketch` makes MinHash signatures and LSH candidates, `verify` checks a candidate pair on the
texts, `index` keeps the signatures of stored stories between runs, `groups` folds each new
story into the group of the canonical story it copies.
"""
from pipeline.dedup.groups import (  # noqa: F401
    CANONICAL_REASON,
    DuplicateResult,
    canonical_key,
    find_duplicates,
    update_duplicates,
)
