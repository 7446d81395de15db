"""Normalize: canonical text for matching and display, and stable ids.

Folds Unicode (NFKC) and quotes, undoes Penn-Treebank tokenization, collapses spaces,
drops site boilerplate lines and blocks of links to other stories (a "Related stories" heading
and the headlines under it). The original text is kept beside the normalized one.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import datetime
from urllib.parse import urlsplit

from pipeline.ingest.versions import version_label
from pipeline.records import Article, RawStory, utcnow

QUOTE_FOLDS = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
})

# Lines that are site furniture, not story text. Matched against a whole stripped line.
BOILERPLATE_LINES = [re.compile(p, re.IGNORECASE) for p in (
    r"IE ?\d+ is not supported\..*",
    r"For an optimal experience visit our site on another browser\.?",
    r"(Advertisement|Skip to (main )?content|Supported by)",
    r"(Read more|Related|Recommended|Also read|Watch)\s*:.*",
    r"(Sign up|Subscribe) (for|to) (our|the) .*newsletter.*",
    r"(Follow us on|Share (this|on)) .{0,60}",
    r"(Copyright|\(c\)|©) .{0,80}(All rights reserved\.?)?",
    r"All rights reserved\.?",
    r"Click here .{0,80}",
    r"This (story|article) (has been|was) (updated|corrected).{0,80}",
)]

# Penn-Treebank detokenization, applied in order.
PTB_RULES = [(re.compile(p), r) for p, r in (
    (r"(\d) , (\d{3})\b", r"\1,\2"),
    (r"(\d) \. (\d)", r"\1.\2"),
    (r"(\w) n't\b", r"\1n't"),
    (r"(\w) '(s|re|ve|ll|d|m|S|RE|VE|LL|D|M)\b", r"\1'\2"),
    (r"\(\s+", "("),
    (r"\s+\)", ")"),
    (r"\[\s+", "["),
    (r"\s+\]", "]"),
    (r"\s+([.,;:!?%])(?=\s|$|[\"')\]])", r"\1"),
    (r"\$\s+(\d)", r"$\1"),
)]

SPACES = re.compile(r"[ \t\u00a0]+")
# Treebank quotes say which side they open to: `` glues to the next word, '' to the previous.
PTB_OPEN_QUOTE = re.compile(r"``\s*")
PTB_CLOSE_QUOTE = re.compile(r"\s*''")


BOILERPLATE_MAX_CHARS = 160  # a longer line is story text, whatever it starts with

# The heading of a block of links to other stories, matched against a whole stripped line.
LINKS_HEADING = re.compile(
    r"(Related( (stories|articles|news|coverage|content|links|reading|topics))?|Recommended( (stories|for you|reading))?"
    r"|See also|Also read|Read (more|next)|More (stories|news|on this story|from [\w .'-]{1,40})"
    r"|Most (read|popular|viewed|shared)|Top stories|Trending( now)?|You (may|might) also (like|be interested in))"
    r"\s*:?", re.IGNORECASE)
LINK_MAX_WORDS = 16  # a longer line under a links heading is story text again
SENTENCE_END = re.compile(r"[.!?][\"')\]]?$")


def is_boilerplate(line: str) -> bool:
    return len(line) <= BOILERPLATE_MAX_CHARS and any(p.fullmatch(line) for p in BOILERPLATE_LINES)


def is_link(line: str) -> bool:
    """A headline-like line: short, not ended as a sentence is."""
    return len(line.split()) <= LINK_MAX_WORDS and not SENTENCE_END.search(line)


def detokenize(line: str) -> str:
    for pattern, repl in PTB_RULES:
        line = pattern.sub(repl, line)
    return line


def normalize_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = PTB_CLOSE_QUOTE.sub('"', PTB_OPEN_QUOTE.sub('"', text)).translate(QUOTE_FOLDS)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = []
    in_links = False  # under a heading of links to other stories: their headlines are not this story's text
    for raw in text.split("\n"):
        line = detokenize(SPACES.sub(" ", raw).strip())
        line = SPACES.sub(" ", line).strip()
        if LINKS_HEADING.fullmatch(line):
            in_links = True
            continue
        if not line or (in_links and is_link(line)):
            continue
        in_links = False
        if not is_boilerplate(line):
            lines.append(line)
    return "\n".join(lines)


def content_hash(normalized: str) -> str:
    """Hash of the normalized text, case and whitespace insensitive: exact-duplicate key."""
    key = " ".join(normalized.casefold().split())
    return hashlib.blake2b(key.encode("utf-8"), digest_size=16).hexdigest()


def make_article_id(source_id: str, digest: str, version: str = "") -> str:
    """Stable id: the same story (same id, same content, same version) always maps to the same article."""
    raw = f"{source_id}\x00{digest}{f'{chr(0)}{version}' if version else ''}".encode("utf-8")
    return "a_" + hashlib.blake2b(raw, digest_size=8).hexdigest()


def outlet_of(story: RawStory) -> str:
    """The story's source name, or else its URL's host ("www." dropped): the outlet it came from."""
    named = " ".join(story.source.split())
    if named or not story.url:
        return named
    try:
        host = urlsplit(story.url.strip()).hostname or ""
    except ValueError:  # a malformed URL names no outlet
        return ""
    return host.removeprefix("www.")


def normalize_story(story: RawStory, ingested_at: datetime | None = None) -> Article:
    text = normalize_text(story.body)
    digest = content_hash(text)
    return Article(
        article_id=make_article_id(story.source_id, digest, version_label(story)),
        source_id=story.source_id,
        title=normalize_text(story.title).replace("\n", " "),
        text=text,
        original_text=story.body,
        source=outlet_of(story),
        url=story.url,
        published_at=story.published_at,
        ingested_at=ingested_at or utcnow(),
        content_hash=digest,
        version=story.version,
        byline=" ".join(story.byline.split()),
        language=story.language,
        updated_at=story.updated_at,
        embargoed=story.embargoed,
    )


def normalize(stories: list[RawStory], ingested_at: datetime | None = None) -> list[Article]:
    when = ingested_at or utcnow()
    return [normalize_story(s, when) for s in stories]
