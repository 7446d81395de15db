"""IPTC NewsML-G2 text ``newsItem`` documents (alone, or several inside a ``newsMessage``).

What is read: ``newsItem@guid`` and ``@version``, ``@xml:lang`` or ``contentMeta/language@tag``,
``itemMeta/versionCreated`` and ``firstCreated``, ``contentMeta/headline``, ``by`` and
``contentCreated``, the provider (``itemMeta/provider`` or ``rightsInfo/copyrightHolder``), a web
``itemMeta/link``, ``itemMeta/embargoed``, ``itemMeta/pubStatus`` (an item ``stat:withheld`` or
``stat:canceled`` is a notice taking its story down, and needs no content), and the text of the
first ``contentSet`` child: ``inlineXML`` (NITF or XHTML) or ``inlineData`` (plain text).
"""
from __future__ import annotations

from pipeline.ingest.readers.common import (
    XML_LANG,
    InputError,
    child,
    child_text,
    children,
    element_text,
    local,
    parse_pubstatus,
    parse_time,
    parse_version,
)
from pipeline.records import RawStory

TEXT_ITEM_CLASSES = ("ninat:text", "ninat:composite")


def news_items(root) -> list:
    if local(root.tag) == "newsItem":
        return [root]
    return [item for item_set in children(root, "itemSet") for item in children(item_set, "newsItem")]


def _named(elem) -> str:
    """A party's name: its ``name`` child, else its ``literal`` or ``qcode``."""
    if elem is None:
        return ""
    return child_text(elem, "name") or elem.get("literal", "") or elem.get("qcode", "")


def _content_text(content_set) -> str:
    for part in content_set if content_set is not None else []:
        if local(part.tag) == "inlineXML":
            # NITF keeps the story in body.content (body.head repeats the headline); XHTML in body
            found = {local(e.tag): e for e in reversed(list(part.iter()))}
            return element_text(found.get("body.content", found.get("body", part)))
        if local(part.tag) == "inlineData":
            return (part.text or "").strip()
    return ""


def story_from_news_item(item, origin: str) -> RawStory:
    guid = (item.get("guid") or "").strip()
    if not guid:
        raise InputError("newsItem has no guid")
    item_meta, content_meta = child(item, "itemMeta"), child(item, "contentMeta")
    item_class = child(item_meta, "itemClass")
    qcode = item_class.get("qcode", "") if item_class is not None else ""
    if qcode and qcode not in TEXT_ITEM_CLASSES:
        raise InputError(f"newsItem {guid} is of class {qcode!r}, not text")
    body = _content_text(child(item, "contentSet"))
    status = child(item_meta, "pubStatus")
    pubstatus = parse_pubstatus(status.get("qcode", "") if status is not None else "", "pubStatus")
    if not body.strip() and pubstatus == "usable":
        raise InputError(f"newsItem {guid} has no text content (inlineXML or inlineData)")
    language = item.get(XML_LANG) or (child(content_meta, "language").get("tag", "") if child(content_meta, "language") is not None else "")
    link = child(item_meta, "link")
    href = link.get("href", "") if link is not None else ""
    rights = child(item, "rightsInfo")
    return RawStory(
        source_id=guid,
        body=body,
        title=" ".join(child_text(content_meta, "headline").split()),
        source=_named(child(item_meta, "provider")) or _named(child(rights, "copyrightHolder")),
        url=href if href.startswith(("http://", "https://")) else "",
        published_at=parse_time(
            child_text(item_meta, "firstCreated") or child_text(content_meta, "contentCreated")
            or child_text(item_meta, "versionCreated"), "firstCreated"),
        updated_at=parse_time(child_text(item_meta, "versionCreated"), "versionCreated"),
        version=parse_version(item.get("version")),
        byline=" ".join(child_text(content_meta, "by").split()),
        language=language.strip(),
        origin=origin,
        pubstatus=pubstatus,
        embargoed=parse_time(child_text(item_meta, "embargoed"), "embargoed"),
    )
