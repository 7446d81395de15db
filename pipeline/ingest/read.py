"""Ingest: read files, folders and feed URLs into RawStory records; record every reject.

The reader is chosen by extension, and within a family by content:
- ``.txt``: one story per file, the file stem is its id.
- ``.jsonl`` (one JSON value a line) and ``.json`` (one object or an array of them): each object
  is an IPTC ninjs item (1.x or 2.x) if it has ``uri`` and ninjs fields, else a simple story
  record ``{"id", "body", ...}`` (see `pipeline.ingest.readers.plain`).
- ``.xml`` / ``.rss`` / ``.atom``: by root element, an IPTC NewsML-G2 ``newsItem`` or
  ``newsMessage``, an RSS 2.0 feed or an Atom feed.
- ``.html`` / ``.htm``: an article page (main text by trafilatura).
- ``http(s)://`` inputs: fetched (timeouts, size cap), then read by content like a file.
- ``manifest.jsonl`` inside a directory: metadata for the ``.txt`` stories beside it, keyed by ``id``.

With an `Inbox`, files and feed entries ingested by earlier runs are skipped; what this run read
is returned as inbox rows. Anything unreadable becomes a Reject with a reason; the rest is read.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import defusedxml.ElementTree as safe_et

from pipeline.config import IngestConfig
from pipeline.ingest.inbox import Inbox, log_row
from pipeline.ingest.readers.common import Blob, InputError, decode, local, parse_xml, read_file
from pipeline.ingest.readers.feeds import entry_label, feed_entries
from pipeline.ingest.readers.html import read_html
from pipeline.ingest.readers.http import fetch
from pipeline.ingest.readers.newsml import news_items, story_from_news_item
from pipeline.ingest.readers.ninjs import is_ninjs, story_from_ninjs
from pipeline.ingest.readers.plain import read_txt, story_from_record
from pipeline.ingest.versions import version_label
from pipeline.records import IngestResult, RawStory, Reject, utcnow

MANIFEST_NAME = "manifest.jsonl"
STORY_FIELDS = ("title", "source", "url", "published_at")
KIND_OF_SUFFIX = {
    ".txt": "txt", ".jsonl": "jsonl", ".json": "json", ".xml": "xml", ".rss": "xml", ".atom": "xml",
    ".html": "html", ".htm": "html",
}
RECORD_KEYS = ("id", "uri", "body")


@dataclass(slots=True)
class Entry:
    """One story-sized part of a document: a story, or the reason it could not be read."""

    origin: str
    story: RawStory | None = None
    reason: str = ""
    digest: str = ""  # of the entry's own markup, to know a bad feed entry again


def read_entry(origin: str, build, *args, digest: str = "") -> Entry:
    try:
        return Entry(origin, story=build(*args, origin))
    except InputError as exc:
        return Entry(origin, reason=str(exc), digest=digest)


def story_from_json(record, origin: str, metadata_only: bool = False) -> RawStory:
    if not isinstance(record, dict):
        raise InputError(f"record is a JSON {type(record).__name__}, expected an object")
    if is_ninjs(record):
        return story_from_ninjs(record, origin)
    if not any(key in record for key in RECORD_KEYS):
        raise InputError(f"JSON object of the wrong shape (keys {sorted(record)[:6]}): "
                         "expected a ninjs item ('uri') or a story record ('id', 'body')")
    return story_from_record(record, origin, metadata_only)


def load_json(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc


def json_entries(name: str, blob: Blob, per_line: bool, metadata_only: bool = False) -> list[Entry]:
    text = decode(blob.data, blob.charset)
    if not per_line:
        document = load_json(text)
        if isinstance(document, dict):
            return [Entry(name, story=story_from_json(document, name))]
        if not isinstance(document, list):
            raise InputError(f"JSON document is a {type(document).__name__}, expected an object or an array of objects")
        return [read_entry(f"{name}:[{i}]", story_from_json, record) for i, record in enumerate(document)]
    entries = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            entries.append(read_entry(
                f"{name}:{lineno}", lambda line, origin: story_from_json(load_json(line), origin, metadata_only), line))
    return entries


def xml_entries(name: str, blob: Blob) -> list[Entry]:
    root = parse_xml(blob)
    if local(root.tag) in ("newsItem", "newsMessage"):
        items = news_items(root)
        if not items:
            raise InputError("NewsML-G2 message holds no newsItem")
        return [read_entry(f"{name}#{item.get('guid') or i}", story_from_news_item, item) for i, item in enumerate(items)]
    if local(root.tag) not in ("rss", "feed"):
        raise InputError(f"unsupported XML document: root element <{local(root.tag)}>")
    _, items, build = feed_entries(root)
    return [
        read_entry(f"{name}#{entry_label(item) or i}", build, item,
                   digest=hashlib.sha256(safe_et.tostring(item)).hexdigest())
        for i, item in enumerate(items)
    ]


def sniff_kind(blob: Blob) -> str:
    """The document family of fetched bytes, by content type and first characters."""
    head = blob.data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if blob.content_type == "text/html" or head.startswith((b"<!doctype html", b"<html")):
        return "html"
    if head.startswith(b"<"):
        return "xml"
    if head.startswith((b"{", b"[")):
        return "json"
    raise InputError(f"unrecognized content{f' ({blob.content_type})' if blob.content_type else ''}: "
                     "not XML, HTML or JSON")


def document_entries(name: str, blob: Blob, kind: str, fallback_id: str) -> list[Entry]:
    if kind == "txt":
        return [Entry(name, story=s) for s in read_txt(Path(name), blob)]
    if kind in ("json", "jsonl"):
        return json_entries(name, blob, per_line=kind == "jsonl")
    if kind == "xml":
        return xml_entries(name, blob)
    if kind == "html":
        return [Entry(name, story=s) for s in read_html(name, blob, fallback_id)]
    raise InputError(f"unsupported file type {kind!r}")


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


def list_inputs(root: Path) -> list[Path]:
    """Story files below a directory, in a stable order; hidden files are skipped."""
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def is_url(source: str | Path) -> bool:
    return isinstance(source, str) and source.startswith(("http://", "https://"))


class Reading:
    """The state of one ingest call: what was read, rejected and logged."""

    def __init__(self, inbox: Inbox, max_bytes: int, timeout_s: float):
        self.inbox, self.max_bytes, self.timeout_s = inbox, max_bytes, timeout_s
        self.stories: list[RawStory] = []
        self.rejects: list[Reject] = []
        self.log: list[dict] = []
        self.n_inputs = self.n_seen = 0
        self.now = utcnow()

    def remember(self, row: dict) -> bool:
        """Log an input; False if an earlier run (or this one) already ingested it."""
        if self.inbox.has(row):
            self.n_seen += 1
            return False
        self.inbox.add(row)
        self.log.append(row)
        return True

    def take(self, entries: list[Entry], keep: list[RawStory]) -> None:
        for entry in entries:
            if entry.story is not None:
                keep.append(entry.story)
            else:
                self.rejects.append(Reject(entry.origin, entry.reason))

    def read_path(self, path: Path, manifests: list[RawStory], txt_stories: list[RawStory]) -> None:
        self.n_inputs += 1
        location = str(path.resolve())
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                if self.remember(log_row("file", location, "rejected", self.now, size=size)):
                    self.rejects.append(Reject(str(path), f"file too large: {size} bytes > limit {self.max_bytes}"))
                return
            blob = read_file(path, self.max_bytes)
        except InputError as exc:
            self.rejects.append(Reject(str(path), str(exc)))
            return
        except OSError as exc:  # not logged: a file we could not open is tried again next run
            self.rejects.append(Reject(str(path), f"cannot read: {exc.strerror or exc}"))
            return
        row = log_row("file", location, "read", self.now, size=len(blob.data), sha256=blob.sha256)
        if not self.remember(row):
            return
        try:
            if path.name == MANIFEST_NAME:
                self.take(json_entries(str(path), blob, per_line=True, metadata_only=True), manifests)
                return
            kind = KIND_OF_SUFFIX.get(path.suffix.lower())
            if kind is None:
                raise InputError(f"unsupported file type {path.suffix or '(none)'!r}")
            self.take(document_entries(str(path), blob, kind, path.stem), txt_stories if kind == "txt" else self.stories)
        except InputError as exc:
            row["outcome"] = "rejected"
            self.rejects.append(Reject(str(path), str(exc)))

    def read_url(self, url: str) -> None:
        """A feed (or any document) at a URL; its entries are logged one by one."""
        self.n_inputs += 1
        try:
            blob = fetch(url, self.max_bytes, self.timeout_s)
            entries = document_entries(url, blob, sniff_kind(blob), url)
        except InputError as exc:  # not logged: the feed is asked again next run
            self.rejects.append(Reject(url, str(exc)))
            return
        fresh = []
        for entry in entries:
            if entry.story is not None:
                row = log_row("entry", url, "read", self.now, guid=entry.story.source_id, version=version_label(entry.story))
            else:
                row = log_row("entry", url, "rejected", self.now, sha256=entry.digest or hashlib.sha256(entry.reason.encode()).hexdigest())
            if self.remember(row):
                fresh.append(entry)
        self.take(fresh, self.stories)


def ingest(
    inputs: str | Path | Iterable[str | Path],
    config: IngestConfig | None = None,
    inbox: Inbox | None = None,
) -> IngestResult:
    """Read every story under `inputs`: directories, files and feed URLs.

    Pass the `Inbox` of earlier runs to skip what they ingested; the rows returned in
    `IngestResult.inbox_rows` are what this call adds to it.
    """
    sources = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    config = config or IngestConfig()
    reading = Reading(inbox if inbox is not None else Inbox(), config.max_input_bytes, config.fetch_timeout_s)
    for source in sources:
        if is_url(source):
            reading.read_url(str(source))
            continue
        root = Path(source)
        if not root.exists():
            reading.rejects.append(Reject(origin=str(root), reason="input does not exist"))
            continue
        manifests: list[RawStory] = []
        txt_stories: list[RawStory] = []
        for path in list_inputs(root) if root.is_dir() else [root]:
            reading.read_path(path, manifests, txt_stories)
        apply_manifest(txt_stories, manifests)
        reading.stories.extend(txt_stories)
    return IngestResult(reading.stories, reading.rejects, reading.n_inputs, reading.log, reading.n_seen)
