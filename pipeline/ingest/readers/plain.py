"""Plain inputs: ``.txt`` (one story, the file stem is its id) and simple JSON story records.

A simple record is ``{"id", "body", "title"?, "source"?, "url"?, "published_at"?, "version"?,
"byline"?, "language"?, "updated_at"?, "pubstatus"?, "embargoed"?}``; only ``id`` and ``body`` are required, and
``body`` not in a notice taking the story down (``pubstatus`` ``withheld`` or ``canceled``).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pipeline.ingest.readers.common import Blob, InputError, decode, parse_pubstatus, parse_time, parse_version
from pipeline.records import RawStory

TEXT_FIELDS = ("title", "source", "url", "byline", "language")


def read_txt(path: Path, blob: Blob) -> list[RawStory]:
    return [RawStory(source_id=path.stem, body=decode(blob.data, blob.charset), origin=str(path))]


def story_from_record(record: dict, origin: str, metadata_only: bool = False) -> RawStory:
    """Validate one simple JSON record and build a RawStory from it."""
    story_id = record.get("id")
    if story_id is None or (isinstance(story_id, str) and not story_id.strip()):
        raise InputError("missing 'id'")
    if not isinstance(story_id, (str, int)) or isinstance(story_id, bool):
        raise InputError(f"'id' must be a string or integer, got {type(story_id).__name__}")
    body = record.get("body", "")
    pubstatus = parse_pubstatus(record.get("pubstatus"))
    if not metadata_only and (pubstatus == "usable" or body):  # a notice may come without a body
        if body is None or (isinstance(body, str) and not body.strip()):
            raise InputError("missing or empty 'body'")
        if not isinstance(body, str):
            raise InputError(f"'body' must be a string, got {type(body).__name__}")
    fields: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        value = record.get(name) or ""
        if not isinstance(value, str):
            raise InputError(f"'{name}' must be a string, got {type(value).__name__}")
        fields[name] = value.strip()
    return RawStory(
        source_id=str(story_id).strip(),
        body=body if isinstance(body, str) else "",
        published_at=parse_time(record.get("published_at")),
        updated_at=parse_time(record.get("updated_at"), "updated_at"),
        version=parse_version(record.get("version")),
        origin=origin,
        pubstatus=pubstatus,
        embargoed=parse_time(record.get("embargoed"), "embargoed"),
        **fields,
    )
