"""HTML article pages: the main text by trafilatura, metadata from the page's own tags.

The guid is the page's canonical URL when it names one, else the file stem. The encoding is
the page's ``<meta charset>`` (or the transport's), else UTF-8, else detected.
"""
from __future__ import annotations

import re

from pipeline.ingest.readers.common import Blob, InputError, decode, parse_time
from pipeline.records import RawStory

META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._-]+)""", re.IGNORECASE)


def page_metadata(markup: str) -> dict[str, str]:
    """lang, canonical URL and modified time, which trafilatura does not report."""
    import lxml.html

    root = lxml.html.document_fromstring(markup)
    meta = {
        (m.get("property") or m.get("name") or "").lower(): (m.get("content") or "").strip()
        for m in root.iter("meta")
    }
    canonical = next((link.get("href", "") for link in root.iter("link") if (link.get("rel") or "").lower() == "canonical"), "")
    return {
        "language": (root.get("lang") or meta.get("og:locale", "")).strip(),
        "url": canonical or meta.get("og:url", ""),
        "modified": meta.get("article:modified_time", ""),
        "published": meta.get("article:published_time", ""),
    }


def read_html(name: str, blob: Blob, fallback_id: str) -> list[RawStory]:
    import trafilatura

    declared = META_CHARSET.search(blob.data[:4096])
    markup = decode(blob.data, (declared.group(1).decode("ascii") if declared else None) or blob.charset)
    try:
        meta = page_metadata(markup)
        doc = trafilatura.bare_extraction(markup, with_metadata=True, favor_precision=True)
    except (ValueError, TypeError) as exc:
        raise InputError(f"unreadable HTML: {exc}") from exc
    if doc is None or not (doc.text or "").strip():
        raise InputError("no article text found in the HTML page")
    title = (doc.title or "").strip()
    lines = doc.text.strip().split("\n")
    if title and lines[0].strip() == title:  # the extraction repeats the headline as its first line
        lines = lines[1:]
    url = meta["url"] or doc.url or ""
    return [RawStory(
        source_id=url or fallback_id,
        body="\n".join(lines),
        title=title,
        source=(doc.sitename or doc.hostname or "").strip(),
        url=url,
        published_at=parse_time(meta["published"], "article:published_time") or parse_time(doc.date, "date"),
        updated_at=parse_time(meta["modified"], "article:modified_time"),
        byline=(doc.author or "").strip(),
        language=meta["language"] or (doc.language or ""),
        origin=name,
    )]
