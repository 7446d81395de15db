"""Ingest: read a directory or a file into RawStory records; record every reject.

Supported inputs:
- ``*.txt``: one story per file, the file stem is its id.
- ``*.jsonl``: one story per line, ``{"id", "body", "title"?, "source"?, "url"?, "published_at"?}``.
- ``manifest.jsonl`` inside a directory: metadata (title, source, url, published_at) for the
  ``.txt`` stories of that directory, keyed by ``id``.
Anything unreadable becomes a Reject with a reason; the rest is still read.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

from pipeline.records import IngestResult, RawStory, Reject

MANIFEST_NAME = "manifest.jsonl"
STORY_FIELDS = ("title", "source", "url", "published_at")


class InputError(ValueError):
    """An input (file or record) that cannot be used; the message is the reject reason."""


def parse_time(value: Any) -> datetime | None:
    """Parse an ISO-8601 time or date; naive times are taken as UTC. Result is UTC."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputError(f"published_at must be an ISO-8601 string, got {type(value).__name__}")
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"published_at is not an ISO-8601 time: {value!r}") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def decode_text(data: bytes) -> str:
    """Decode UTF-8 text, refusing empty, binary and non-UTF-8 content with a clear reason."""
    if not data.strip():
        raise InputError("empty file")
    if b"\x00" in data[:8192]:
        raise InputError("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"invalid UTF-8 at byte {exc.start}") from exc
    sample = text[:8192]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > max(8, len(sample) // 100):
        raise InputError("binary file (too many control characters)")
    return text


def read_bytes(path: Path, max_bytes: int) -> bytes:
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError(f"file too large: {size} bytes > limit {max_bytes}")
    return path.read_bytes()


def story_from_record(record: Any, origin: str, metadata_only: bool = False) -> RawStory:
    """Validate one JSON record and build a RawStory from it."""
    if not isinstance(record, dict):
        raise InputError(f"record is a JSON {type(record).__name__}, expected an object")
    story_id = record.get("id")
    if story_id is None or (isinstance(story_id, str) and not story_id.strip()):
        raise InputError("missing 'id'")
    if not isinstance(story_id, (str, int)) or isinstance(story_id, bool):
        raise InputError(f"'id' must be a string or integer, got {type(story_id).__name__}")
    body = record.get("body", "")
    if not metadata_only:
        if body is None or (isinstance(body, str) and not body.strip()):
            raise InputError("missing or empty 'body'")
        if not isinstance(body, str):
            raise InputError(f"'body' must be a string, got {type(body).__name__}")
    fields = {}
    for name in ("title", "source", "url"):
        value = record.get(name) or ""
        if not isinstance(value, str):
            raise InputError(f"'{name}' must be a string, got {type(value).__name__}")
        fields[name] = value.strip()
    return RawStory(
        source_id=str(story_id).strip(),
        body=body if isinstance(body, str) else "",
        published_at=parse_time(record.get("published_at")),
        origin=origin,
        **fields,
    )


def read_jsonl(path: Path, max_bytes: int, rejects: list[Reject], metadata_only: bool = False) -> list[RawStory]:
    text = decode_text(read_bytes(path, max_bytes))
    stories = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        origin = f"{path}:{lineno}"
        try:
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"malformed JSON: {exc.msg} at column {exc.colno}") from exc
            stories.append(story_from_record(record, origin, metadata_only))
        except InputError as exc:
            rejects.append(Reject(origin=origin, reason=str(exc)))
    return stories


def read_txt(path: Path, max_bytes: int) -> RawStory:
    return RawStory(source_id=path.stem, body=decode_text(read_bytes(path, max_bytes)), origin=str(path))


def list_inputs(root: Path) -> list[Path]:
    """Story files below a directory, in a stable order; hidden files are skipped."""
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def apply_manifest(stories: list[RawStory], manifest: list[RawStory]) -> None:
    by_id = {m.source_id: m for m in manifest}
    for story in stories:
        meta = by_id.get(story.source_id)
        if meta is None:
            continue
        for name in STORY_FIELDS:
            value = getattr(meta, name)
            if value and not getattr(story, name):
                setattr(story, name, value)


def ingest(inputs: Path | Iterable[Path], max_bytes: int = 20_000_000) -> IngestResult:
    """Read every story under `inputs` (a directory, a file, or several of them)."""
    roots = [Path(inputs)] if isinstance(inputs, (str, Path)) else [Path(p) for p in inputs]
    stories: list[RawStory] = []
    rejects: list[Reject] = []
    n_inputs = 0
    for root in roots:
        if not root.exists():
            rejects.append(Reject(origin=str(root), reason="input does not exist"))
            continue
        files = list_inputs(root) if root.is_dir() else [root]
        manifests: list[RawStory] = []
        txt_stories: list[RawStory] = []
        for path in files:
            n_inputs += 1
            try:
                if path.name == MANIFEST_NAME:
                    manifests.extend(read_jsonl(path, max_bytes, rejects, metadata_only=True))
                elif path.suffix == ".jsonl":
                    stories.extend(read_jsonl(path, max_bytes, rejects))
                elif path.suffix == ".txt":
                    txt_stories.append(read_txt(path, max_bytes))
                else:
                    raise InputError(f"unsupported file type {path.suffix or '(none)'!r}")
            except InputError as exc:
                rejects.append(Reject(origin=str(path), reason=str(exc)))
            except OSError as exc:
                rejects.append(Reject(origin=str(path), reason=f"cannot read: {exc.strerror or exc}"))
        apply_manifest(txt_stories, manifests)
        stories.extend(txt_stories)
    return IngestResult(stories=stories, rejects=rejects, n_inputs=n_inputs)
