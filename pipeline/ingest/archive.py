"""Archives read piece by piece: the parts a backfill can read apart (on several workers) and
again one publication-day window at a time.

A part is one story file, or all the ``.txt`` stories of a folder together with its
``manifest.jsonl`` files (the manifest dates them, so they are read together). A backfill first
surveys every part once (which publication days it holds, whether it holds withdrawal notices),
then reads, for each window, only the parts that hold stories of that window. An archive laid
out by day or by month is so read about twice in all, whatever the number of windows.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipeline.config import IngestConfig
from pipeline.ingest.inbox import Inbox
from pipeline.ingest.read import MANIFEST_NAME, Reading, apply_manifest, is_url
from pipeline.ingest.readers.addresses import AllowList
from pipeline.ingest.readers.files import list_inbox
from pipeline.records import IngestResult, RawStory, Reject


@dataclass(frozen=True, slots=True)
class ArchivePart:
    """Files read together: one story file, or a folder's .txt stories and manifests."""

    paths: tuple[str, ...]
    inside: str | None  # the resolved folder its symlinks must stay in; None: a file the caller named


@dataclass(slots=True)
class PartSurvey:
    """What one part holds, without its stories."""

    days: dict[date, int]  # stories by UTC publication day
    n_undated: int
    has_notices: bool  # withdrawal notices (applied whatever the day)
    rejects: list[Reject] = field(default_factory=list)

    def touches(self, first: date, last: date) -> bool:
        return any(first <= day <= last for day in self.days)


def archive_parts(source: str) -> tuple[list[ArchivePart], list[Reject]]:
    """The parts of an archive folder or file, in reading order, and the folders that could not be listed."""
    if is_url(source):
        raise ValueError(f"a backfill reads a folder or a file, not a URL: {source}")
    root = Path(source)
    if not root.is_dir():
        return [ArchivePart((str(root),), None)], []
    inside = os.path.realpath(root)
    listing = list_inbox(root)
    texts = [str(p) for p in listing.paths if p.suffix.lower() == ".txt" or p.name == MANIFEST_NAME]
    parts = [ArchivePart((str(p),), inside) for p in listing.paths
             if not (p.suffix.lower() == ".txt" or p.name == MANIFEST_NAME)]
    if texts:
        parts.insert(0, ArchivePart(tuple(texts), inside))
    return parts, [Reject(str(folder), reason) for folder, reason in listing.unlisted]


def read_part(part: ArchivePart, config: IngestConfig) -> IngestResult:
    """Every story of one part (no inbox: an archive is read whole, whatever earlier runs read)."""
    reading = Reading(Inbox(), config.max_input_bytes, config.fetch_timeout_s, config.input_deadline_s,
                      AllowList.parse([]))
    manifests: list[RawStory] = []
    txt_stories: list[RawStory] = []
    inside = Path(part.inside) if part.inside is not None else None
    for path in part.paths:
        reading.read_path(Path(path), inside, manifests, txt_stories)
    apply_manifest(txt_stories, manifests)
    return IngestResult(reading.stories + txt_stories, reading.rejects, reading.n_inputs)


def survey_part(part: ArchivePart, config: IngestConfig) -> PartSurvey:
    read = read_part(part, config)
    stories = [s for s in read.stories if not s.is_withdrawal]
    dated = [s.published_at.date() for s in stories if s.published_at is not None]
    return PartSurvey(dict(Counter(dated)), len(stories) - len(dated), len(stories) < len(read.stories), read.rejects)
