"""Small typed records passed between stages."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(slots=True)
class RawStory:
    """A story as a reader found it, before normalization. `source_id` is its guid."""

    source_id: str
    body: str
    title: str = ""
    source: str = ""
    url: str = ""
    published_at: datetime | None = None
    origin: str = ""  # file (and line) it came from, for error messages
    version: int | None = None  # the sender's version number of this story, if it has one
    byline: str = ""
    language: str = ""  # BCP 47 tag as sent
    updated_at: datetime | None = None
    # IPTC publishing status: "usable", or a notice that takes the story down: "withheld"
    # (until further notice) or "canceled" (for good); a notice needs no text
    pubstatus: str = "usable"
    embargoed: datetime | None = None  # not to be published before this time

    @property
    def is_withdrawal(self) -> bool:
        return self.pubstatus != "usable"


@dataclass(slots=True)
class Reject:
    """An input that could not be used, and why."""

    origin: str
    reason: str
    rejected_at: datetime = field(default_factory=utcnow)


@dataclass(slots=True)
class Article:
    """A normalized story; the unit every later stage works on."""

    article_id: str
    source_id: str
    title: str
    text: str  # normalized
    original_text: str
    source: str
    url: str
    published_at: datetime | None
    ingested_at: datetime
    content_hash: str
    version: int | None = None
    byline: str = ""
    language: str = ""
    updated_at: datetime | None = None
    embargoed: datetime | None = None  # not to be published before this time (as the sender says)


@dataclass(slots=True)
class DuplicateEdge:
    """`article_id` is a copy of `duplicate_of` (its group's canonical story)."""

    article_id: str
    duplicate_of: str
    similarity: float
    method: str  # "exact" or "minhash"
    jaccard: float
    containment: float
    char_containment: float
    rule: str  # which verification rule decided


@dataclass(slots=True)
class IngestResult:
    stories: list[RawStory]
    rejects: list[Reject]
    n_inputs: int
    inbox_rows: list[dict] = field(default_factory=list)  # files and feed entries read this run
    n_seen: int = 0  # inputs skipped because an earlier run ingested them
    inputs: str = ""  # what was read, as the runs table records it
    n_left_out: int = 0  # stories read but left out before the run (a backfill's: outside its dates or undated)
