"""Ingest: read files, folders and feed URLs into RawStory records; record every reject.

The reader is chosen by extension, and within a family by content:
- ``.txt``: one story per file, the file stem is its id.
- ``.jsonl`` (one JSON value a line) and ``.json`` (one object or an array of them): each object
  is an IPTC ninjs item (1.x or 2.x) if it has ``uri`` and ninjs fields, else a simple story
  record ``{"id", "body", ...}`` (see `pipeline.ingest.readers.plain`).
- ``.xml`` / ``.rss`` / ``.atom``: by root element, an IPTC NewsML-G2 ``newsItem`` or
  ``newsMessage``, an RSS 2.0 feed or an Atom feed.
- ``.html`` / ``.htm``: an article page (main text by trafilatura).
- ``http(s)://`` inputs: fetched (public addresses only unless allowed, one deadline, size cap),
  then read by content like a file.
- ``manifest.jsonl`` inside a directory: metadata for the ``.txt`` stories beside it, keyed by ``id``.

With an `Inbox`, files and feed entries ingested by earlier runs are skipped; what this run read
is returned as inbox rows (the `Inbox` passed is never changed, so a retried call reads the same).
Anything unreadable becomes a Reject with a reason, one record at a time: a bad line, entry or
file never costs its neighbours, and an unexpected error while reading one input is a reject
naming it, not a failed run. Only regular files are read, and symlinks only within the inbox
(see `pipeline.ingest.readers.files`). Reading one input stops at a deadline, checked between chunks
and entries; what it did not reach is rejected and read again next run.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import defusedxml.ElementTree as safe_et

from pipeline.config import IngestConfig
from pipeline.ingest.inbox import Inbox, log_row
from pipeline.ingest.readers.addresses import AllowList
from pipeline.ingest.readers.common import Blob, Deadline, InputError, decode, deeper_than, local, parse_xml, read_file
from pipeline.ingest.readers.feeds import entry_label, feed_entries
from pipeline.ingest.readers.files import list_inbox, regular_file
from pipeline.ingest.readers.html import read_html
from pipeline.ingest.readers.http import fetch
from pipeline.ingest.readers.newsml import news_items, story_from_news_item
from pipeline.ingest.readers.ninjs import is_ninjs, story_from_ninjs
from pipeline.ingest.readers.plain import read_txt, story_from_record
from pipeline.ingest.readers.safety import printable, vet_story
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
    cut: bool = False  # reading stopped at the deadline here: this entry and those after it were not read


def unexpected(exc: BaseException) -> str:
    """The reject reason for an error no reader expected: its type, and its message."""
    if isinstance(exc, RecursionError):
        return "nested too deeply to read (RecursionError)"
    return f"could not be read: unexpected {type(exc).__name__}: {printable(str(exc))[:200]}"


def read_entry(origin: str, build, *args, digest: str = "") -> Entry:
    try:
        return Entry(origin, story=build(*args, origin), digest=digest)
    except InputError as exc:
        return Entry(origin, reason=str(exc), digest=digest)
    except Exception as exc:  # noqa: BLE001 - a bug or an input nobody foresaw costs this entry, not the run
        return Entry(origin, reason=unexpected(exc), digest=digest)


def cut_entry(origin: str, deadline: Deadline, n_left: int) -> Entry:
    return Entry(origin, reason=f"reading stopped at the deadline of {deadline.seconds:g} s: this entry and "
                                f"{n_left - 1} after it are read next run", cut=True)


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
    except RecursionError:
        raise InputError("malformed JSON: nested too deeply") from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise InputError(f"malformed JSON: {printable(str(exc))[:120]}") from None


def read_entries(deadline: Deadline | None, labelled: list[tuple[str, object]], read) -> list[Entry]:
    """`read(item, origin)` for each (origin, item) until the deadline; the rest become one cut entry."""
    entries = []
    for n, (origin, item) in enumerate(labelled):
        if deadline is not None and deadline.passed():
            entries.append(cut_entry(origin, deadline, len(labelled) - n))
            break
        entries.append(read(item, origin))
    return entries


def json_entries(name: str, blob: Blob, per_line: bool, metadata_only: bool = False,
                 deadline: Deadline | None = None) -> list[Entry]:
    text = decode(blob.data, blob.charset)
    if not per_line:
        document = load_json(text)
        if isinstance(document, dict):
            return [Entry(name, story=story_from_json(document, name))]
        if not isinstance(document, list):
            raise InputError(f"JSON document is a {type(document).__name__}, expected an object or an array of objects")
        return read_entries(deadline, [(f"{name}:[{i}]", record) for i, record in enumerate(document)],
                            lambda record, origin: read_entry(origin, story_from_json, record))
    lines = [(f"{name}:{lineno}", line) for lineno, line in enumerate(text.splitlines(), start=1) if line.strip()]
    return read_entries(deadline, lines, lambda line, origin: read_entry(
        origin, lambda line, origin: story_from_json(load_json(line), origin, metadata_only), line))


def entry_digest(item) -> str:
    """SHA-256 of a feed entry's markup (its texts and tags, walked without recursion, if too deep to serialize)."""
    if not deeper_than(item):
        return hashlib.sha256(safe_et.tostring(item)).hexdigest()
    digest = hashlib.sha256()
    for node in item.iter():
        digest.update(repr((node.tag, sorted(node.attrib.items()), node.text, node.tail)).encode("utf-8", "backslashreplace"))
    return digest.hexdigest()


def xml_item(build):
    """`build` for one XML entry, refusing an entry nested deeper than any story needs."""
    def read(item, origin):
        if deeper_than(item):
            raise InputError("XML entry nested too deeply")
        return build(item, origin)
    return read


def xml_entries(name: str, blob: Blob, deadline: Deadline | None = None) -> list[Entry]:
    root = parse_xml(blob)
    if local(root.tag) in ("newsItem", "newsMessage"):
        items = news_items(root)
        if not items:
            raise InputError("NewsML-G2 message holds no newsItem")
        return read_entries(deadline, [(f"{name}#{printable(item.get('guid') or str(i))}", item) for i, item in enumerate(items)],
                            lambda item, origin: read_entry(origin, xml_item(story_from_news_item), item))
    if local(root.tag) not in ("rss", "feed"):
        raise InputError(f"unsupported XML document: root element <{local(root.tag)}>")
    _, items, build = feed_entries(root)
    return read_entries(deadline, [(f"{name}#{printable(entry_label(item) or str(i))}", item) for i, item in enumerate(items)],
                        lambda item, origin: read_entry(origin, xml_item(build), item, digest=entry_digest(item)))


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


def document_entries(name: str, blob: Blob, kind: str, fallback_id: str, deadline: Deadline | None = None) -> list[Entry]:
    if kind == "txt":
        return [Entry(name, story=s) for s in read_txt(Path(name), blob)]
    if kind in ("json", "jsonl"):
        return json_entries(name, blob, per_line=kind == "jsonl", deadline=deadline)
    if kind == "xml":
        return xml_entries(name, blob, deadline)
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


def is_url(source: str | Path) -> bool:
    return isinstance(source, str) and source.startswith(("http://", "https://"))


OTHER_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")  # ftp://, file://, ...: not a path either


def vetted(entries: list[Entry]) -> list[Entry]:
    """`entries` with each story checked by `vet_story`: one the store could not write becomes a reject."""
    for entry in entries:
        if entry.story is None:
            continue
        try:
            entry.story = vet_story(entry.story)
        except InputError as exc:
            entry.story, entry.reason = None, str(exc)
        except Exception as exc:  # noqa: BLE001 - the last-resort guard: one story, never the run
            entry.story, entry.reason = None, unexpected(exc)
    return entries


class Reading:
    """The state of one ingest call: what was read, rejected and logged.

    It logs into its own copy of the inbox: the one passed in is never changed, so a retried
    call (Prefect hands a retry the very objects the failed attempt had) reads again everything
    the failed attempt saw.
    """

    def __init__(self, inbox: Inbox, max_bytes: int, timeout_s: float, deadline_s: float, allow: AllowList):
        self.inbox = inbox.copy()
        self.max_bytes, self.timeout_s, self.deadline_s, self.allow = max_bytes, timeout_s, deadline_s, allow
        self.stories: list[RawStory] = []
        self.rejects: list[Reject] = []
        self.log: list[dict] = []
        self.n_inputs = self.n_seen = 0
        self.now = utcnow()

    def reject(self, origin: str, reason: str) -> None:
        self.rejects.append(Reject(printable(origin), printable(reason)))

    def remember(self, row: dict) -> bool:
        """Log an input; False if an earlier run (or this one) already ingested it."""
        if self.inbox.has(row):
            self.n_seen += 1
            return False
        self.inbox.add(row)
        self.log.append(row)
        return True

    def forget(self, row: dict) -> None:
        """Take back a row this call logged: its input is read again next run."""
        self.inbox.discard(row)
        self.log = [r for r in self.log if r is not row]

    def take(self, entries: list[Entry], keep: list[RawStory]) -> bool:
        """Keep the stories, reject the rest; False if reading was cut at the deadline."""
        whole = True
        for entry in entries:
            if entry.story is not None:
                keep.append(entry.story)
            else:
                whole = whole and not entry.cut
                self.reject(entry.origin, entry.reason)
        return whole

    def read_path(self, path: Path, inside: Path | None, manifests: list[RawStory], txt_stories: list[RawStory]) -> None:
        """One inbox entry; `inside` is the resolved inbox folder its symlinks must stay in (None: the
        caller named this file, follow it)."""
        self.n_inputs += 1
        name = printable(str(path))
        deadline = Deadline(self.deadline_s)
        try:
            target, info = regular_file(path, inside)
            location = printable(os.path.realpath(target))
            if info.st_size > self.max_bytes:
                if self.remember(log_row("file", location, "rejected", self.now, size=info.st_size)):
                    self.reject(name, f"file too large: {info.st_size} bytes > limit {self.max_bytes}")
                return
            blob = read_file(target, self.max_bytes, deadline)
        except InputError as exc:  # not logged: refused by its type or place, or not read in time; tried again next run
            self.reject(name, str(exc))
            return
        except OSError as exc:  # not logged: a file we could not open is tried again next run
            self.reject(name, f"cannot read: {exc.strerror or exc}")
            return
        except Exception as exc:  # noqa: BLE001 - the last-resort guard: one input, never the run
            self.reject(name, unexpected(exc))
            return
        row = log_row("file", location, "read", self.now, size=len(blob.data), sha256=blob.sha256)
        if not self.remember(row):
            return
        try:
            if path.name == MANIFEST_NAME:
                whole = self.take(vetted(json_entries(name, blob, True, True, deadline)), manifests)
            else:
                kind = KIND_OF_SUFFIX.get(path.suffix.lower())
                if kind is None:
                    raise InputError(f"unsupported file type {printable(path.suffix) or '(none)'!r}")
                entries = vetted(document_entries(name, blob, kind, printable(path.stem), deadline))
                whole = self.take(entries, txt_stories if kind == "txt" else self.stories)
            if not whole:
                self.forget(row)
        except InputError as exc:
            row["outcome"] = "rejected"
            self.reject(name, str(exc))
        except Exception as exc:  # noqa: BLE001 - not logged: an error no reader foresaw may be gone in the next release
            self.forget(row)
            self.reject(name, unexpected(exc))

    def read_url(self, url: str) -> None:
        """A feed (or any document) at a URL; its entries are logged one by one."""
        self.n_inputs += 1
        name = printable(url)
        deadline = Deadline(self.deadline_s)
        try:
            blob = fetch(url, self.max_bytes, min(self.timeout_s, self.deadline_s), self.allow)
            entries = vetted(document_entries(name, blob, sniff_kind(blob), name, deadline))
        except InputError as exc:  # not logged: the feed is asked again next run
            self.reject(name, str(exc))
            return
        except Exception as exc:  # noqa: BLE001 - the last-resort guard: one input, never the run
            self.reject(name, unexpected(exc))
            return
        fresh = []
        for entry in entries:
            if entry.cut:  # not logged: the entries from here on are read next run
                fresh.append(entry)
                continue
            if entry.story is not None:
                row = log_row("entry", name, "read", self.now, guid=entry.story.source_id, version=version_label(entry.story))
            else:
                row = log_row("entry", name, "rejected", self.now,
                              sha256=entry.digest or hashlib.sha256(entry.reason.encode("utf-8", "backslashreplace")).hexdigest())
            if self.remember(row):
                fresh.append(entry)
        self.take(fresh, self.stories)


def ingest(
    inputs: str | Path | Iterable[str | Path],
    config: IngestConfig | None = None,
    inbox: Inbox | None = None,
) -> IngestResult:
    """Read every story under `inputs`: directories, files and feed URLs.

    Pass the `Inbox` of earlier runs to skip what they ingested (it is not changed); the rows
    returned in `IngestResult.inbox_rows` are what this call adds to it. `config.fetch_timeout_s`
    bounds each fetch, `config.input_deadline_s` the reading of each input; `fetch_allow_hosts`
    (host names, addresses, CIDR networks) may be fetched from although not public
    (`pipeline.ingest.readers.addresses`).
    """
    sources = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    config = config or IngestConfig()
    reading = Reading(inbox if inbox is not None else Inbox(), config.max_input_bytes, config.fetch_timeout_s,
                      config.input_deadline_s, AllowList.parse(list(config.fetch_allow_hosts)))
    for source in sources:
        if is_url(source):
            reading.read_url(str(source))
            continue
        if isinstance(source, str) and OTHER_URL.match(source):
            reading.reject(source, "unsupported URL scheme: only http and https URLs are fetched")
            continue
        root = Path(source)
        if not os.path.lexists(root):
            reading.reject(str(root), "input does not exist")
            continue
        manifests: list[RawStory] = []
        txt_stories: list[RawStory] = []
        if root.is_dir():  # a folder the caller named is read even through a symlink; inside it, symlinks stay in
            inside = Path(os.path.realpath(root))
            listing = list_inbox(root)
            for folder, reason in listing.unlisted:
                reading.reject(str(folder), reason)
            for path in listing.paths:
                reading.read_path(path, inside, manifests, txt_stories)
        else:
            reading.read_path(root, None, manifests, txt_stories)
        apply_manifest(txt_stories, manifests)
        reading.stories.extend(txt_stories)
    return IngestResult(reading.stories, reading.rejects, reading.n_inputs, reading.log, reading.n_seen)
