"""What every reader shares: the reject error, bounded reads, decoding, times, safe XML, markup to text."""
from __future__ import annotations

import hashlib
import os
import re
import stat
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Iterator

import defusedxml.ElementTree as safe_et
from charset_normalizer import from_bytes
from defusedxml import DefusedXmlException

CHUNK = 1 << 16
# When detection finds several equally good encodings, prefer the ones wire and web text
# actually uses; windows-1252 is the HTML standard's fallback for undeclared Western text.
PREFERRED_ENCODINGS = ("utf_8", "cp1252", "latin_1", "iso8859_15")


class InputError(ValueError):
    """An input (file, feed, entry or record) that cannot be used; the message is the reject reason."""


class Deadline:
    """A point in time after which reading one input stops; checked between chunks and entries."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def passed(self) -> bool:
        return self.remaining() <= 0

    def check(self, what: str) -> None:
        if self.passed():
            raise InputError(f"{what} stopped at the deadline of {self.seconds:g} s")


@dataclass(slots=True)
class Blob:
    """Bytes of one input as read (bounded), with what transport said about them."""

    data: bytes
    sha256: str
    charset: str | None = None  # declared outside the content, e.g. by an HTTP header
    content_type: str = ""


def read_capped(chunks: Iterator[bytes], max_bytes: int, what: str) -> Blob:
    """Join chunks, refusing as soon as more than `max_bytes` arrive (never holds more than the cap)."""
    digest = hashlib.sha256()
    parts, size = [], 0
    for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise InputError(f"{what} too large: more than {max_bytes} bytes")
        digest.update(chunk)
        parts.append(chunk)
    return Blob(b"".join(parts), digest.hexdigest())


def read_file(path: Path, max_bytes: int, deadline: Deadline | None = None) -> Blob:
    """Read a regular file, refusing one over the limit by its size before reading any of it.

    Opened without blocking and without following a last symlink, then checked by its open
    handle: a FIFO or device swapped in after the caller looked is refused, not waited on.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    with open(fd, "rb", closefd=True) as fh:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError("not a regular file")
        if info.st_size > max_bytes:
            raise InputError(f"file too large: {info.st_size} bytes > limit {max_bytes}")

        def chunks():  # the cap also holds if the file grows while read
            while chunk := fh.read(CHUNK):
                yield chunk
                if deadline is not None:
                    deadline.check("reading the file")

        return read_capped(chunks(), max_bytes, "file")


def check_not_binary(data: bytes) -> None:
    if not data.strip():
        raise InputError("empty file")
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError("binary file (contains NUL bytes)")


def detect_encoding(data: bytes) -> str:
    """Best guess for bytes with no declared encoding; raises if nothing decodes them sensibly."""
    matches = from_bytes(data[:200_000])
    best = matches.best()
    if best is None:
        raise InputError("cannot detect the text encoding")
    tied = {best.encoding, *best.could_be_from_charset}
    for m in matches:
        if m.chaos == best.chaos and m.coherence == best.coherence:
            tied.update([m.encoding, *m.could_be_from_charset])
    return next((enc for enc in PREFERRED_ENCODINGS if enc in tied), best.encoding)


def decode(data: bytes, declared: str | None = None) -> str:
    """Decode text: a BOM or a declared encoding wins, then UTF-8, then detection."""
    check_not_binary(data)
    for bom, enc in ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16")):
        if data.startswith(bom):
            declared = enc
            break
    if declared:
        try:
            text = data.decode(declared)
        except LookupError as exc:
            raise InputError(f"unknown declared encoding {declared!r}") from exc
        except UnicodeDecodeError as exc:
            raise InputError(f"not valid {declared} at byte {exc.start}") from exc
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            guess = detect_encoding(data)
            try:
                text = data.decode(guess)
            except UnicodeDecodeError as exc:
                raise InputError(f"cannot decode as detected encoding {guess}") from exc
    sample = text[:8192]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > max(8, len(sample) // 100):
        raise InputError("binary file (too many control characters)")
    return text


# Times every common reader of the store can hold (pandas' nanosecond timestamps span
# 1677-09-21 to 2262-04-11); a time outside is a sender's error, and date arithmetic on it
# (windows of days either side) would overflow.
EARLIEST_TIME = datetime(1678, 1, 1, tzinfo=timezone.utc)
LATEST_TIME = datetime(2262, 1, 1, tzinfo=timezone.utc)


def parse_time(value: Any, name: str = "published_at") -> datetime | None:
    """Parse an ISO-8601 / RFC 3339 time or date; naive times are taken as UTC. Result is UTC."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputError(f"{name} must be an ISO-8601 string, got {type(value).__name__}")
    text = value.strip().replace("Z", "+00:00").replace("z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{name} is not an ISO-8601 time: {value!r}") from exc
    return as_utc(parsed, name, value)


def parse_rfc822_time(value: str | None, name: str) -> datetime | None:
    """Parse an RFC 822 time as RSS uses it (``Tue, 05 Mar 2024 09:30:00 GMT``); ISO-8601 is accepted too."""
    if not value or not value.strip():
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, OverflowError, IndexError):
        try:
            return parse_time(value, name)
        except InputError:
            raise InputError(f"{name} is not an RFC 822 or ISO-8601 time: {value!r}") from None
    return as_utc(parsed, name, value)


def as_utc(moment: datetime, name: str = "time", value: Any = None) -> datetime:
    """`moment` in UTC (naive: taken as UTC); an InputError if it falls outside the times the store holds."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:  # 0001-01-01T00:00+05:00 is before year 1 in UTC
        moment = None
    if moment is None or not EARLIEST_TIME <= moment < LATEST_TIME:
        raise InputError(f"{name} out of range: {value if value is not None else moment!r} "
                         f"(times from {EARLIEST_TIME.year} to {LATEST_TIME.year - 1} are accepted)")
    return moment


MAX_VERSION = 2**63 - 1  # the store keeps versions as Parquet int64


def parse_version(value: Any) -> int | None:
    """A story version: a non-negative integer that fits int64 (ninjs sends it as a string)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        # ASCII digits only ("²" is a digit to str.isdigit, not to int); 19 digits hold any int64
        if text.isascii() and text.isdigit() and len(text.lstrip("0")) <= 19:
            value = int(text)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_VERSION:
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
        raise InputError(f"version must be a non-negative integer below 2^63, got {shown}")
    return value


PUBSTATUSES = {"usable": "usable", "withheld": "withheld", "canceled": "canceled", "cancelled": "canceled"}


def parse_pubstatus(value: Any, name: str = "pubstatus") -> str:
    """An IPTC publishing status, as ninjs sends it ("canceled") or as a NewsML-G2 qcode ("stat:canceled")."""
    if value is None or value == "":
        return "usable"
    if not isinstance(value, str):
        raise InputError(f"{name} must be a string, got {type(value).__name__}")
    status = PUBSTATUSES.get(value.strip().lower().removeprefix("stat:"))
    if status is None:
        raise InputError(f"{name} must be usable, withheld or canceled, got {value!r}")
    return status


XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
XML_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


def parse_xml(blob: Blob):
    """Parse XML safely: no DTD entities (billion laughs, external files), encoding as declared.

    Without an encoding declaration or BOM the transport's charset, then UTF-8, then
    detection is used, and the text is handed to the parser as UTF-8.
    """
    data = blob.data
    check_not_binary(data)
    if not XML_DECLARED_ENCODING.match(data) and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        text = decode(data, blob.charset)
        data = re.sub(r"^\s*<\?xml[^>]*\?>", "", text, count=1).encode("utf-8")
    try:
        return safe_et.fromstring(data, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise InputError(f"unsafe XML refused: {exc}") from exc
    except safe_et.ParseError as exc:
        raise InputError(f"malformed XML: {exc}") from exc
    except (LookupError, ValueError) as exc:  # an encoding expat does not know
        raise InputError(f"unreadable XML: {exc}") from exc


MAX_DEPTH = 256  # element nesting an entry may have (libxml2's default limit); deeper is an attack


def deeper_than(elem, limit: int = MAX_DEPTH) -> bool:
    """Whether `elem`'s tree nests more than `limit` levels (walked without recursion)."""
    stack = [(elem, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((sub, depth + 1) for sub in node)
    return False


def local(tag: Any) -> str:
    """Tag name without its namespace (``{ns}name`` -> ``name``); comments and PIs give ''."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def child(elem, name: str):
    return next((c for c in elem if local(c.tag) == name), None) if elem is not None else None


def children(elem, name: str) -> list:
    return [c for c in elem if local(c.tag) == name] if elem is not None else []


def child_text(elem, name: str) -> str:
    found = child(elem, name)
    return "".join(found.itertext()).strip() if found is not None else ""


BLOCK_TAGS = {
    "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr",
    "table", "section", "article", "pre", "hl1", "hl2", "dd", "dt", "figure", "figcaption", "block",
}
SKIP_TAGS = {"script", "style", "head", "noscript", "template"}


def element_text(elem) -> str:
    """Readable text of an (X)HTML / NITF element tree: one line per block element.

    Walked with an explicit stack, not recursion: a tree of any depth is read.
    """
    out: list[str] = []
    # ("open", node) visits a node; ("close", text) appends what follows its children
    stack: list[tuple[str, Any]] = [("open", elem)]
    while stack:
        step, item = stack.pop()
        if step == "close":
            out.append(item)
            continue
        name = local(item.tag).lower()
        if name in SKIP_TAGS:
            continue
        block = name in BLOCK_TAGS
        if block:
            out.append("\n")
        if isinstance(item.tag, str) and item.text:
            out.append(item.text)
        if block:
            stack.append(("close", "\n"))
        for sub in reversed(list(item)):
            if sub.tail:
                stack.append(("close", sub.tail))
            stack.append(("open", sub))
    lines = (" ".join(line.split()) for line in "".join(out).split("\n"))
    return "\n".join(line for line in lines if line)


def html_fragment_text(markup: str) -> str:
    """Text of an HTML fragment (feed descriptions, ninjs body_html)."""
    import html

    import lxml.html  # HTML parser: no DTDs or entity declarations to expand

    if not markup.strip():
        return ""
    if "<" not in markup:
        return html.unescape(markup).strip()
    try:
        root = lxml.html.fragment_fromstring(markup, create_parent="div")
    except Exception as exc:  # lxml raises several types for hopeless markup
        raise InputError(f"unreadable HTML: {exc}") from exc
    return element_text(root)
