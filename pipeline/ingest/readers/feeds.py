"""RSS 2.0 and Atom (RFC 4287) feeds: one story per ``item`` / ``entry``.

RSS: ``guid`` (else ``link``), ``title``, ``content:encoded`` (else ``description``, HTML),
``author`` / ``dc:creator``, ``pubDate`` (RFC 822), ``atom:updated`` / ``dc:date``; the channel
gives ``title`` (the source) and ``language``. Atom: ``id``, ``title``, ``content`` (else
``summary``; text, html or xhtml), ``author/name``, ``published``, ``updated``, the alternate
``link``, ``xml:lang``. Feeds carry no version numbers: ``updated`` orders versions.
"""
from __future__ import annotations

from typing import Callable

from pipeline.ingest.readers.common import (
    XML_LANG,
    InputError,
    child,
    child_text,
    children,
    element_text,
    html_fragment_text,
    local,
    parse_rfc822_time,
    parse_time,
)
from pipeline.records import RawStory


def feed_entries(root) -> tuple[str, list, Callable]:
    """(feed kind, entry elements, entry -> RawStory builder) for an RSS or Atom root element."""
    name = local(root.tag)
    if name == "rss":
        channel = child(root, "channel")
        if channel is None:
            raise InputError("RSS document has no channel")
        meta = {"source": child_text(channel, "title"), "language": child_text(channel, "language")}
        return "rss", children(channel, "item"), lambda item, origin: story_from_rss_item(item, meta, origin)
    if name == "feed":
        meta = {"source": child_text(root, "title"), "language": root.get(XML_LANG, "")}
        return "atom", children(root, "entry"), lambda entry, origin: story_from_atom_entry(entry, meta, origin)
    raise InputError(f"not a feed: root element <{name}>")


def entry_label(elem) -> str:
    """How an entry is named in a reject: its id, else its title."""
    return child_text(elem, "guid") or child_text(elem, "id") or child_text(elem, "link") or child_text(elem, "title")


def story_from_rss_item(item, feed: dict, origin: str) -> RawStory:
    link = child_text(item, "link")
    guid = child_text(item, "guid") or link
    if not guid:
        raise InputError("RSS item has neither guid nor link")
    body = html_fragment_text(child_text(item, "encoded") or child_text(item, "description"))
    if not body.strip():
        raise InputError(f"RSS item {guid} has no text (content:encoded or description)")
    return RawStory(
        source_id=guid,
        body=body,
        title=html_fragment_text(child_text(item, "title")).replace("\n", " "),
        source=child_text(item, "source") or feed["source"],
        url=link,
        published_at=parse_rfc822_time(child_text(item, "pubDate"), "pubDate"),
        updated_at=parse_time(child_text(item, "updated"), "updated") or parse_time(child_text(item, "date"), "dc:date"),
        byline=child_text(item, "creator") or child_text(item, "author"),
        language=feed["language"],
        origin=origin,
    )


def _atom_text(elem) -> str:
    """Text of an Atom text construct (type text, html or xhtml)."""
    if elem is None:
        return ""
    kind = elem.get("type", "text")
    if kind == "xhtml":
        return element_text(elem)
    if kind == "html" or "html" in kind:
        return html_fragment_text(elem.text or "")
    return "".join(elem.itertext()).strip()


def story_from_atom_entry(entry, feed: dict, origin: str) -> RawStory:
    guid = child_text(entry, "id")
    if not guid:
        raise InputError("Atom entry has no id")
    body = _atom_text(child(entry, "content")) or _atom_text(child(entry, "summary"))
    if not body.strip():
        raise InputError(f"Atom entry {guid} has no text (content or summary)")
    links = children(entry, "link")
    alternate = next((link for link in links if link.get("rel", "alternate") == "alternate"), None)
    return RawStory(
        source_id=guid,
        body=body,
        title=_atom_text(child(entry, "title")).replace("\n", " "),
        source=child_text(child(entry, "source"), "title") or feed["source"],
        url=alternate.get("href", "") if alternate is not None else "",
        published_at=parse_time(child_text(entry, "published") or child_text(entry, "updated"), "published"),
        updated_at=parse_time(child_text(entry, "updated"), "updated"),
        byline=", ".join(child_text(a, "name") for a in children(entry, "author") if child_text(a, "name")),
        language=entry.get(XML_LANG) or feed["language"],
        origin=origin,
    )
