"""Safe rendering and readable story text for the dashboard.

Everything shown comes from stories or from the URL, so none of it may become markup: text
placed in HTML is HTML-escaped, text given to a Streamlit element that renders Markdown is
Markdown-escaped (`md`), and only http(s) addresses become links (`safe_url`).
"""
from __future__ import annotations

import html
import re
from urllib.parse import urlencode, urlsplit

import pandas as pd

from pipeline.events.labels import is_dateline, lead_sentence
from pipeline.ingest.normalize import normalize_text

# Every ASCII punctuation character may be backslash-escaped in CommonMark; Streamlit adds
# :directives: and $math$, which the same escapes switch off.
MARKDOWN_SPECIAL = re.compile(r"([!-/:-@\[-`{-~])")
# A contraction split around its apostrophe ("don ' t", "it ' s"), which the ingest's
# Treebank rules (which expect "do n't") leave as it is.
SPLIT_CONTRACTION = re.compile(r"(\w) ' (t|s|re|ve|ll|d|m)\b")


def esc(value) -> str:
    """`value` as HTML text (nothing for None or NaN)."""
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return ""
    return html.escape(str(value), quote=True)


def md(value) -> str:
    """`value` as Markdown text: no link, image, emphasis, HTML, directive or math survives."""
    text = " ".join(str(value).split())
    return MARKDOWN_SPECIAL.sub(r"\\\1", text)


def safe_url(url) -> str:
    """`url` if it is an http(s) address with a host, else "" (javascript:, data:, relative...)."""
    if not isinstance(url, str):
        return ""
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else ""


def external_link(url, label: str = "link") -> str:
    """An http(s) link opening in a new tab (`label` already HTML); the label alone for any other address."""
    href = safe_url(url)
    if not href:
        return label
    return f'<a href="{esc(href)}" target="_blank" rel="noopener noreferrer nofollow">{label}</a>'


def page_link(params: dict, label: str) -> str:
    """A link to a view of this app (`label` already HTML); `params` are the query string."""
    query = urlencode([(k, v) for k, vs in params.items() for v in (vs if isinstance(vs, list) else [vs]) if v not in ("", None)])
    return f'<a href="?{esc(query)}" target="_self">{label}</a>'


def whole_words(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters at a word boundary, with an ellipsis if cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit + 1].rsplit(" ", 1)[0] if " " in text[:limit + 1] else text[:limit]
    return cut.rstrip(" ,;:-—–") + "…"


def card_text(title, text, title_limit: int = 160, excerpt_limit: int = 320) -> tuple[str, str]:
    """The title and excerpt of a story card: its title (a date is no title), else its lead
    sentence, which the excerpt then does not repeat; text detokenized, site furniture dropped,
    both cut at whole words."""
    # stored text is normalized already; older stores' is not
    body = SPLIT_CONTRACTION.sub(r"\1'\2", normalize_text(text or ""))
    title = normalize_text(title or "").replace("\n", " ").strip()
    if title and not is_dateline(title):
        lines = [line for line in body.splitlines() if not is_dateline(line)]
        return whole_words(title, title_limit), whole_words(" ".join(lines), excerpt_limit)
    lead = lead_sentence(body, limit=10_000)
    lines = [line for line in body.splitlines() if not is_dateline(line)]
    rest = " ".join(lines)
    start = rest.find(lead.rstrip("…"))
    if lead and start >= 0:
        rest = rest[start + len(lead):]
    return whole_words(lead, title_limit) or "(no text)", whole_words(rest, excerpt_limit)
