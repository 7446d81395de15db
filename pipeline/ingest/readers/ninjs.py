"""IPTC ninjs (News in JSON), generations 1.x and 2.x, text items.

1.x carries ``headline``, ``body_text`` / ``body_html`` (``body_xhtml`` in 1.0), ``byline``;
2.x replaced them with the arrays ``headlines`` and ``bodies`` (``{value, role?, contenttype?}``)
and ``by``. Both have ``uri`` (the guid, required), ``version`` (a string), ``versioncreated``,
``firstcreated``, ``embargoed``, ``language``, ``copyrightholder``, ``pubstatus``; sources are
``infosource`` (1.x) or ``infosources`` (2.x). An item whose ``pubstatus`` is ``withheld`` or ``canceled`` is a
notice taking its story down, and needs no body.
"""
from __future__ import annotations

from typing import Any

from pipeline.ingest.readers.common import InputError, html_fragment_text, parse_pubstatus, parse_time, parse_version
from pipeline.records import RawStory

NINJS_MARKERS = ("headline", "headlines", "body_text", "body_html", "body_xhtml", "bodies", "versioncreated", "standard")


def is_ninjs(record: dict) -> bool:
    return "uri" in record and any(key in record for key in NINJS_MARKERS)


def _string(record: dict, name: str) -> str:
    value = record.get(name) or ""
    if not isinstance(value, str):
        raise InputError(f"ninjs '{name}' must be a string, got {type(value).__name__}")
    return value.strip()


def _pick(items: Any, name: str, prefer_role: str) -> dict | None:
    """The item of a 2.x array (headlines, bodies) to use: the preferred role, else the first."""
    if items is None:
        return None
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(i.get("value"), str) for i in items):
        raise InputError(f"ninjs '{name}' must be an array of objects with a string 'value'")
    return next((i for i in items if i.get("role") == prefer_role), items[0] if items else None)


def _as_text(value: str, contenttype: str) -> str:
    return html_fragment_text(value) if "html" in contenttype or "xml" in contenttype else value


def _body(record: dict) -> str:
    body = _pick(record.get("bodies"), "bodies", "main")
    if body is not None:
        return _as_text(body["value"], body.get("contenttype") or "")
    if text := _string(record, "body_text"):
        return text
    for name in ("body_html", "body_xhtml"):
        if markup := _string(record, name):
            return html_fragment_text(markup)
    return ""


def _source(record: dict) -> str:
    sources = record.get("infosources", record.get("infosource"))
    if isinstance(sources, dict):
        sources = [sources]
    if isinstance(sources, list):
        names = [s.get("name") for s in sources if isinstance(s, dict) and isinstance(s.get("name"), str)]
        if names:
            return names[0].strip()
    return _string(record, "copyrightholder")


def story_from_ninjs(record: dict, origin: str) -> RawStory:
    uri = record.get("uri")
    if not isinstance(uri, str) or not uri.strip():
        raise InputError("ninjs 'uri' must be a non-empty string")
    kind = record.get("type", "text")
    if kind != "text":
        raise InputError(f"ninjs item of type {kind!r} has no story text (only 'text' items are read)")
    headline = _pick(record.get("headlines"), "headlines", "main")
    body = _body(record)
    pubstatus = parse_pubstatus(record.get("pubstatus"))
    if not body.strip() and pubstatus == "usable":
        raise InputError("ninjs item has no body (body_text, body_html or bodies)")
    uri = uri.strip()
    return RawStory(
        source_id=uri,
        body=body,
        title=_as_text(headline["value"], headline.get("contenttype") or "").strip() if headline else _string(record, "headline"),
        source=_source(record),
        url=uri if uri.startswith(("http://", "https://")) else "",
        published_at=parse_time(record.get("firstcreated") or record.get("versioncreated"), "firstcreated"),
        updated_at=parse_time(record.get("versioncreated"), "versioncreated"),
        version=parse_version(record.get("version")),
        byline=_string(record, "by") or _string(record, "byline"),
        language=_string(record, "language"),
        origin=origin,
        pubstatus=pubstatus,
        embargoed=parse_time(record.get("embargoed"), "embargoed"),
    )
