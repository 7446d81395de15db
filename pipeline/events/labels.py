"""Labels an editor can scan: an event's headline and keywords.

A headline is a story's title, or else its lead sentence, never a dateline. Keywords are the
names that set an event apart (`pipeline.events.names`), with its people, organisations and places.

Scraped pages put the page's date or a byline where a title or a first paragraph should be
("27 NOVEMBER, 2005", "Last Updated: Monday, 28 November 2005, 02:24 GMT", "By Jane Doe"),
wire copy opens with a dateline ("NEW YORK (Reuters) - "), and a lead cut at the first full
stop stops at "Gov." or "U.S.". None of these says anything about the event, so they are skipped.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from pipeline.events import names
from pipeline.records import Article

# Words a date, a time or an "updated" stamp is made of; a line of only these and numbers is a dateline.
DATE_WORDS = frozenset(
    "jan feb mar apr may jun jul aug sep sept oct nov dec january february march april june july august "
    "september october november december mon tue tues wed thu thur thurs fri sat sun monday tuesday wednesday "
    "thursday friday saturday sunday am pm a m p gmt utc bst cet cest est edt cst cdt mst mdt pst pdt et pt ist "
    "th st nd rd last updated update published posted modified at on of".split()
)
# A full stop after one of these (or after an initial, or inside "U.S.") does not end a sentence.
ABBREVIATIONS = frozenset(
    "mr mrs ms dr gov sen rep gen col lt sgt capt st jr sr prof rev hon pres det cmdr adm maj cpl pvt mt ft "
    "no inc co corp ltd vs jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
# A wire dateline opening the lead: "NEW YORK (Reuters) - ", "(CNN) ", "WASHINGTON — ".
# Without an agency only a dash proper counts: "A FIRE - BOMB attack" (a tokenized hyphen) is no dateline.
WIRE_DATELINE = re.compile(
    r"\A(?:(?:[A-Z][A-Z .,'’]*(?:,?\s*[A-Z][a-z]{2,8}\.?\s+\d{1,2})?\s*)?\([^()]{1,40}\)\s*[-—–:]*\s+"  # NEW YORK (Reuters) -
    r"|[A-Z][A-Z .,'’]{2,}\s(?:[—–]|--)\s+)"  # WASHINGTON —
)
SENTENCE_BREAK = re.compile(r"[.!?][\"'”’)\]]*\s+")
INITIAL_OR_ACRONYM = re.compile(r"[A-Z]|(?:[A-Za-z]\.)+[A-Za-z]")  # "F." in John F. Kennedy, "U.S."
WORD = re.compile(r"[A-Za-z]+")


def is_dateline(line: str) -> bool:
    """True for a line that is only a date, a time or an "updated" stamp, or a short byline."""
    words = WORD.findall(line)
    if not any(w.lower() not in DATE_WORDS for w in words):
        return True
    return len(words) <= 6 and re.match(r"(?i)\s*by\s", line) is not None


def first_sentence(line: str) -> str:
    """`line` up to the end of its first sentence: a . ! or ? followed by a space and a word
    that does not start in lower case, where a full stop ends neither an abbreviation nor an initial."""
    for found in SENTENCE_BREAK.finditer(line):
        before = line[:found.start()].rsplit(None, 1)
        word = before[-1].lstrip("\"'“‘(") if before else ""
        following = line[found.end():found.end() + 1]
        if following.islower():
            continue
        if line[found.start()] == "." and (word.lower() in ABBREVIATIONS or INITIAL_OR_ACRONYM.fullmatch(word)):
            continue
        return line[:found.end()].rstrip()
    return line.strip()


def lead_sentence(text: str, limit: int = 140) -> str:
    """The first sentence of the first line that is not a dateline, its wire dateline
    ("NEW YORK (Reuters) - ") dropped, cut to `limit` characters at a word; the text's first
    line if every line is a dateline."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    first = next((line for line in lines if not is_dateline(line)), lines[0] if lines else "")
    lead = first_sentence(WIRE_DATELINE.sub("", first))
    return lead if len(lead) <= limit else lead[: limit - 1].rsplit(" ", 1)[0] + "…"


def has_title(article: Article) -> bool:
    return bool(article.title.strip()) and not is_dateline(article.title)


def headline_of(article: Article) -> str:
    """The story's title, or its lead sentence where it has none (or only a date for one)."""
    return article.title.strip() if has_title(article) else lead_sentence(article.text)

@dataclass(slots=True)
class EventLabels:
    """What an event is about, for an editor: names that set it apart, and who and where."""

    keywords: list[str]  # names and phrases, most telling first
    people: list[str] = field(default_factory=list)
    organisations: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)


def _contains(longer: str, shorter: str) -> bool:
    return f" {shorter} " in f" {longer} "


def event_labels(groups: list[list[str]], k: int = 6, per_kind: int = 8) -> list[EventLabels]:
    """Labels of each group of documents (the stories of one event), against the other groups.

    Keywords are names (`names.names_of`: "Jeff Sessions", "Betty Ford Center"), scored by how
    many of the group's documents name them times how rare they are among groups, so each group
    is labelled by what sets it apart; a name inside a longer one already chosen is skipped. The
    people, organisations and places are the group's most named of each kind, rare or not.
    """
    ordinary = names.ordinary_words([doc for docs in groups for doc in docs])
    found = [names.names_of(docs, ordinary) for docs in groups]
    group_df: Counter = Counter()
    for found_names in found:
        group_df.update(found_names.documents.keys())
    n = len(groups)
    out = []
    for found_names in found:
        count = found_names.documents
        scored = sorted(count, key=lambda t: (-count[t] * np.log((1 + n) / group_df[t]), -len(t), t))
        chosen: list[str] = []
        for name in scored:
            if len(chosen) == k:
                break
            if not any(_contains(c, name) or _contains(name, c) for c in chosen):
                chosen.append(name)
        out.append(EventLabels(chosen, found_names.of_kind(names.PERSON, per_kind),
                               found_names.of_kind(names.ORGANISATION, per_kind),
                               found_names.of_kind(names.PLACE, per_kind)))
    return out


def keywords(groups: list[list[str]], k: int = 6) -> list[list[str]]:
    """The keywords of `event_labels` alone."""
    return [labels.keywords for labels in event_labels(groups, k)]
