"""The inbox log: which files and feed entries earlier runs ingested, so each is read once.

A file is known by its path, size and SHA-256 (a changed file is read again; a file refused
for its size unread is known by path and size); a feed entry by its feed URL, guid and version
label (a rejected entry by a digest of its markup). Input files are only ever read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pyarrow as pa

KEY_FIELDS = ("kind", "location", "size", "sha256", "guid", "version")


def key_of(row: dict) -> tuple:
    return (row["kind"], row["location"], row.get("size") or 0, row.get("sha256") or "",
            row.get("guid") or "", row.get("version") or "")


def log_row(kind: str, location: str, outcome: str, logged_at: datetime, *, size: int = 0, sha256: str = "",
            guid: str = "", version: str = "") -> dict:
    return {"kind": kind, "location": location, "size": size, "sha256": sha256, "guid": guid,
            "version": version, "outcome": outcome, "logged_at": logged_at}


@dataclass(slots=True)
class Inbox:
    """Keys of everything already ingested."""

    seen: set[tuple] = field(default_factory=set)

    @classmethod
    def from_table(cls, table: pa.Table) -> "Inbox":
        return cls({key_of(row) for row in table.select(list(KEY_FIELDS)).to_pylist()})

    def has(self, row: dict) -> bool:
        return key_of(row) in self.seen

    def add(self, row: dict) -> None:
        self.seen.add(key_of(row))

    def discard(self, row: dict) -> None:
        self.seen.discard(key_of(row))

    def copy(self) -> Inbox:
        return Inbox(set(self.seen))
