"""Names in story text: people, organisations, places and other proper names, as whole phrases.

A capitalisation-phrase extractor. English news capitalises names and little else, so a run of
capitalised words ("Jeff Sessions", "Betty Ford Center", "Bank of America") is a name, unless
it is a word that is only capitalised because it opens a sentence ("Police said"), a title case
or all-capitals line (a headline or a "PUBLISHED: THURSDAY" stamp inside the body), a date word
or a demonym used as an adjective ("Iranian island"). Whether a sentence-opening word is an
ordinary word is learnt from the documents themselves: one the same documents also write in
lower case is ordinary.

The kind of a name comes from cues news writing gives:
  person        a title or role before it ("Attorney General Jeff Sessions", "actress Lindsay
                Lohan"), or a two- or three-word name whose last word is used alone elsewhere
                ("Sessions said"), which is how news refers back to people;
  organisation  an organisation word in it ("... Center", "... Party", "Bank of ...") or an acronym;
  place         a place word ("... County", "... Island") or a name in the GeoNames list
                (places.txt: countries, US states, cities of 100,000 people or more).
Other names ("Harry Winston", a brand, an event) keep the kind "name". A surname or first name
used alone is counted under the full name it stands for.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

PERSON, ORGANISATION, PLACE, OTHER = "person", "organisation", "place", "name"

# How much of a story is read: names that matter to an event are in its first paragraphs, and
# reading the whole of long stories would make the labels slow on a large store.
READ_CHARS = 3000

_CAP = r"(?:[A-Z][A-Za-z'’\-]*[A-Za-z]|[A-Z](?:\.[A-Z])+\.?|[A-Z]\.?)"
_JOIN = r"(?:of|de|del|da|van|von|al|bin|la|le|du|the|for|&|on)"
# A run of capitalised words, single spaces apart, with lower-case joining words inside.
RUN = re.compile(rf"(?<![\w'’\-.]){_CAP}(?:(?: {_JOIN})* {_CAP})*")
WORD = re.compile(r"[A-Za-z][A-Za-z'’\-]*|\d+")
SENTENCE_END = re.compile(r"(?:\A|[.!?:;]['\"’”)]*|\n|\A['\"“‘(])\s*['\"“‘(]*\s*\Z")

MONTHS_AND_DAYS = frozenset(
    "jan feb mar apr jun jul aug sep sept oct nov dec january february march april may june july august september "
    "october november december mon tue tues wed thu thur thurs fri sat sun monday tuesday wednesday thursday friday "
    "saturday sunday gmt utc bst cet est edt cst cdt pst pdt am pm".split()
)
# Words that open a name without being part of it; after them the name is a person.
TITLES = frozenset(
    "mr mrs ms miss dr sir dame lord lady president vice sen senator gov governor rep representative judge justice "
    "attorney general secretary minister prime chancellor king queen prince princess pope rev reverend father "
    "gen general lt lieutenant col colonel sgt sergeant capt captain cmdr commander adm admiral maj major cpl "
    "officer detective sheriff mayor chief coach prof professor dean ambassador speaker leader chairman chairwoman "
    "director actor actress singer rapper star player striker quarterback pitcher goalkeeper star coach "
    "spokesman spokeswoman lawyer attorney deputy detective detectives officers director commissioner "
    "superintendent inspector constable trooper agent".split()
)
# Lower-case words before a name that make it a person ("actress Lindsay Lohan", "told Smith").
ROLE_WORDS = TITLES | frozenset("star host comedian model designer author writer boss manager ceo founder".split())
ORGANISATION_WORDS = frozenset(
    "inc corp corporation company co ltd llc plc group party ministry department agency bank university college "
    "school hospital police council court commission committee association union army navy force forces service "
    "services office institute foundation network club airlines airways church center centre congress senate "
    "parliament assembly cabinet administration board bureau authority federation league organization "
    "organisation times news post journal press tribune herald reuters studios records motors systems guard "
    "patrol fund trust museum academy society coalition alliance front movement government house clinic "
    "brigade corps command federal international fc united magazine channel tv radio media games festival "
    "awards jail prison".split()
)
# Bodies named by one word: "the Senate", "Congress".
INSTITUTIONS = frozenset("senate congress parliament pentagon kremlin vatican nato interpol parliament".split())
PLACE_WORDS = frozenset(
    "county city island islands river lake mountain mountains valley province state states street avenue road "
    "beach bay coast gulf sea ocean peninsula desert region district village town square bridge airport harbor "
    "harbour strait canyon falls park heights springs".split()
)
# Acronyms that name places, not organisations.
PLACE_ACRONYMS = frozenset("US U.S. USA U.S.A. UK U.K. UAE U.A.E. DC D.C. LA L.A. NYC".split())
COMMON = frozenset(ENGLISH_STOP_WORDS) | MONTHS_AND_DAYS | frozenset("said says according".split())
# Words after a name that make it a person: "Alex Rodriguez said", "Smith, who".
SPEECH_AFTER = re.compile(r"\A(?:,? (?:said|says|told|added|explained|wrote|who)\b|, \d{1,3},)")
APOSTROPHE_WORD = re.compile(r"[A-Za-z]+['’][a-z]{1,2}")
JOINS = frozenset("of de del da van von al bin la le du the for & on".split())
DEMONYM_ENDINGS = ("ian", "ean", "an", "ese", "ish", "i", "n")


@lru_cache(maxsize=1)
def place_names() -> frozenset[str]:
    lines = Path(__file__).with_name("places.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


@lru_cache(maxsize=1)
def _place_stems() -> frozenset[str]:
    return frozenset(name[:4].lower() for name in place_names() if len(name) >= 4)


def is_demonym(word: str) -> bool:
    """ "Iranian", "American", "Chinese": a capitalised adjective made from a place name."""
    lower = word.lower()
    for ending in DEMONYM_ENDINGS:
        stem = lower[: -len(ending)]
        if lower.endswith(ending) and len(stem) >= 4 and stem[:4] in _place_stems():
            return word not in place_names()
    return False


@dataclass(frozen=True, slots=True)
class Mention:
    name: str
    kind: str  # PERSON, ORGANISATION, PLACE or OTHER
    cue: bool = False  # the text itself said the kind (a title before it), stronger than the lists


def _is_headline_like(line: str) -> bool:
    """A line in title case or all capitals: its capitals say nothing about names. A sentence
    has lower-case words however many names it holds; a headline in title case has next to none."""
    words = [w for w in WORD.findall(line) if not w.isdigit()]
    if len(words) >= 2 and all(w.isupper() for w in words):
        return True
    letters = [w for w in words if len(w) > 3]
    if len(letters) < 3:
        return False
    return sum(w.islower() for w in letters) <= 0.1 * len(letters)


def _kind_of(words: list[str]) -> str:
    lowered = [w.lower().rstrip(".") for w in words]
    institution = all(w in INSTITUTIONS for w in lowered)
    body_of = len(words) > 1 and lowered[0] in ORGANISATION_WORDS and "of" in lowered  # "Bank of America"
    if institution or body_of or any(w in ORGANISATION_WORDS for w in lowered[1:]):
        return ORGANISATION
    name = " ".join(words)
    if len(words) > 1 and any(" ".join(words[:j]) in place_names() and (len(words) - j > 1 or words[-1].endswith("s"))
                              for j in range(1, len(words))):
        return ORGANISATION  # a team or a body named after its place: "Boston Red Sox", "Washington Nationals"
    if name in place_names() or name in PLACE_ACRONYMS or (len(words) > 1 and lowered[-1] in PLACE_WORDS):
        return PLACE
    if len(words) == 1 and (words[0].isupper() and 2 <= len(words[0].replace(".", "")) <= 6):
        return ORGANISATION  # an acronym: FBI, NATO, CNN
    return OTHER


def mentions(text: str, ordinary: frozenset[str] | set[str] = frozenset()) -> list[Mention]:
    """The names in `text` in order (`ordinary`: lower-cased words the documents also write in
    lower case, so that a capitalised one opening a sentence is not taken for a name)."""
    found: list[Mention] = []
    for line in text[:READ_CHARS].splitlines():
        if _is_headline_like(line):
            continue
        for match in RUN.finditer(line):
            words = match.group().split(" ")
            before = line[max(0, match.start() - 40):match.start()]
            at_start = SENTENCE_END.search(before) is not None or not before.strip()
            speaks = SPEECH_AFTER.match(line, match.end()) is not None
            found.extend(_clean(words, before, at_start, ordinary, speaks))
    return found


def _bare(word: str) -> str:
    return word.lower().rstrip(".").removesuffix("'s").removesuffix("’s")


def _clean(words: list[str], before: str, at_start: bool, ordinary, speaks: bool = False) -> list[Mention]:
    """The names in one capitalised run: split at date words, stripped of titles and of
    ordinary words that open it or a sentence."""
    parts, part = [], []
    for w in words:
        if w.lower().rstrip(".") in MONTHS_AND_DAYS or w.isdigit():
            if part:
                parts.append(part)
            part = []
        else:
            part.append(w)
    if part:
        parts.append(part)
    previous = before.rsplit(None, 1)[-1].lower().strip("\"'“‘(,") if before.strip() else ""
    out = []
    for i, part in enumerate(parts):
        titled = previous in ROLE_WORDS and i == 0
        # a title inside the run: "Palmer Public Safety Director Jon Owen" names Jon Owen; "Lakewood Sheriff" Lakewood
        inner = [j for j, w in enumerate(part) if j > 0 and _bare(w) in TITLES]
        if inner and _kind_of(part) != ORGANISATION:
            last = inner[-1]
            if last < len(part) - 1:
                part, titled = part[last + 1:], True
            else:
                part = part[:inner[0]]
        # a title or ordinary word opening the run: "Attorney General Jeff Sessions", "But Obama", "The White House"
        while part:
            head = _bare(part[0])
            if head in TITLES and len(part) > 1:
                titled = True
            elif not (head in COMMON or (at_start and i == 0 and head in ordinary)):
                break
            part = part[1:]
        while part and part[-1].lower() in JOINS:
            part = part[:-1]
        if not part:
            continue
        part = [w.removesuffix("'s").removesuffix("’s") for w in part]
        if len(part) == 1 and (len(part[0]) < 2 or is_demonym(part[0].removesuffix("s")) or part[0].lower() in COMMON
                               or APOSTROPHE_WORD.fullmatch(part[0])):  # "I'm", "Don't", not "O'Neill"
            continue
        if len(part) > 6:
            continue
        kind = _kind_of(part)
        plain = len(part) <= 4 and not JOINS.intersection(w.lower() for w in part)
        if (titled or (speaks and i == len(parts) - 1 and len(part) > 1)) and kind in (OTHER, PERSON) and plain:
            out.append(Mention(" ".join(part), PERSON, cue=True))
        else:
            out.append(Mention(" ".join(part), kind))
    return out


def ordinary_words(texts: list[str]) -> set[str]:
    """Words the texts write in lower case somewhere (so capitalised they open a sentence)."""
    seen: set[str] = set()
    for text in texts:
        seen.update(w for w in WORD.findall(text[:READ_CHARS]) if w.islower())
    return seen


@dataclass(slots=True)
class Names:
    """The names of a set of documents: how many documents name each, and each name's kind."""

    documents: Counter  # name -> documents naming it
    kind: dict[str, str]

    def of_kind(self, kind: str, k: int) -> list[str]:
        ranked = sorted((n for n in self.documents if self.kind[n] == kind), key=lambda n: (-self.documents[n], n))
        return ranked[:k]


def names_of(texts: list[str], ordinary: set[str] | None = None) -> Names:
    """Names of `texts` (the stories of one event), with surnames and first names used alone
    counted under the full name they stand for, and each name's kind decided over all of them."""
    ordinary = ordinary_words(texts) if ordinary is None else ordinary
    per_doc = [mentions(t, ordinary) for t in texts]
    multi = Counter(m.name for doc in per_doc for m in doc if " " in m.name)
    single = Counter(m.name for doc in per_doc for m in doc if " " not in m.name)
    lists_kind: dict[str, Counter] = {}
    cued: set[str] = set()
    for doc in per_doc:
        for m in doc:
            lists_kind.setdefault(m.name, Counter())[m.kind] += 1
            if m.cue:
                cued.add(m.name)
    # a word used alone that ends (or opens) a two- or three-word name of no other kind: that person
    full_name: dict[str, str] = {}
    people = set(cued)
    for name, _ in multi.most_common():  # surnames first: "Sessions said" makes Jeff Sessions a person
        words = name.split(" ")
        if len(words) <= 3 and not JOINS.intersection(words) and lists_kind[name].most_common(1)[0][0] in (OTHER, PERSON):
            # a surname that is also a place ("Mike Downey" and Downey, California) is the person's
            # where the text said he is a person
            surname_kind = _kind_of([words[-1]])
            if words[-1] in single and words[-1] not in full_name and (
                    surname_kind == OTHER or (surname_kind == PLACE and name in cued)):
                full_name[words[-1]] = name
                people.add(name)
    for name, _ in multi.most_common():  # then first names alone, of those known to be people: "Lindsay"
        first = name.split(" ")[0]
        if name in people and first in single and first not in full_name and _kind_of([first]) == OTHER:
            full_name[first] = name
    documents: Counter = Counter()
    for doc in per_doc:
        documents.update({full_name.get(m.name, m.name) for m in doc})
    kind = {}
    for name in list(documents):
        votes = lists_kind.get(name, Counter({OTHER: 1})).most_common(1)[0][0]
        kind[name] = PERSON if name in people and votes in (OTHER, PERSON) else votes
        if " " not in name and kind[name] == OTHER and name.lower() in ordinary:
            del documents[name], kind[name]  # a capitalised ordinary word ("People", "Rescue"), no name
    return Names(documents, kind)
