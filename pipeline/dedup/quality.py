"""Quality: how damaged a story's text reads, so that the cleanest copy of a story leads its group
and an event is headed by a readable story.

A story's damage is the share of its words that read as damage, counted three ways, none tied to
a language or to particular stories:

- odd words: letters and digits mixed inside one word ("c1ty", "8tak"), or mojibake ("â€™");
- misread words: a word no other story of the run uses (`vocabulary`) that reads as one other
  stories use once OCR look-alikes are folded ("thc" for "the", "rnay" for "may", `fold_word`),
  or as one with a letter slipped before its ending ("annoucned" for "announced", `slip_keys`;
  the ending is left alone, where "laws" and "law" differ).
  A word only one story uses is not damage by itself: the tail a trimmed copy lost is the
  original's alone;
- repeated spans: word 3-shingles that occur again a few words on (`REPEAT_REACH`): a scraper
  doubles a span where it stands, while a writer's recurring phrases ("the justice department")
  lie paragraphs apart.

Damage is compared in steps of `STEP`, so that two clean copies (a word or two apart) are
equals; of equals the one with the longer body (`length_step`), the more complete, leads. Of
two copies of one story equal in both, the one with fewer damaged words of its own
(`own_damage`) leads: a copy with a typo in one word of twenty or thirty is in its original's
step, and the share alone would let a copy with added furniture, its damage diluted, lead.
"""
from __future__ import annotations

import functools
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from pipeline.records import Article

WORD = re.compile(r"\w+", re.UNICODE)
MOJIBAKE = re.compile(r"[âÃ][\x80-\xbf€™œ“”–—]")  # UTF-8 read as Latin-1 / Windows-1252
STEP = 0.05  # damage shares closer than this are equals
LENGTH_STEP = 1.5  # body lengths closer than this ratio are equals
BODY_LINE_WORDS = 12  # a line this long is part of the story, shorter ones may be page furniture
REPEAT_REACH = 24  # shingles within which a shingle met again is a doubled span
ORDINAL = re.compile(r"\d+(?:st|nd|rd|th|s|am|pm|m|km|kg|ft)", re.IGNORECASE)  # 21st, 1990s, 9am: not damage


@functools.lru_cache(maxsize=2048)  # the run's vocabulary, then each story's damage: one tokenizing
def words_of(text: str) -> tuple[str, ...]:
    return tuple(WORD.findall(text.casefold()))


LOOKALIKES = str.maketrans("0a1i5cfb", "oollseth")  # as the sketch folds them: digits read as letters
DOUBLED = re.compile(r"(\w)\1+")


@functools.lru_cache(maxsize=1 << 16)  # a run's words recur from story to story
def fold_word(word: str) -> str:
    """The word with OCR look-alikes folded and doubled letters collapsed: misreadings of one word agree."""
    return DOUBLED.sub(r"\1", word.translate(LOOKALIKES).replace("rn", "m").replace("ri", "n"))


SLIP_MIN = 5  # letters a word needs before a slipped letter is told from another word
ENDING = 2  # last letters, where words differ by inflection rather than by a slip


def slip_keys(word: str) -> set[str]:
    """The word with one letter before its ending deleted, each way: two words of one length that
    differ in one such letter or in two neighbours swapped, or by one such letter more, share one."""
    return {word[:i] + word[i + 1:] for i in range(len(word) - ENDING)}


@dataclass(slots=True)
class Vocabulary:
    """The words of a run's stories: in how many stories each occurs, and those read as misread."""

    df: Counter
    misread: frozenset[str]


def vocabulary(texts: Iterable[str]) -> Vocabulary:
    """The `Vocabulary` of `texts`: a word one story uses is misread where its folded form is
    that of a word more stories use, or that word with a letter slipped (`slip_keys`). A text
    that arrives twice counts once: a damaged copy sent again would make its misspellings
    common and its original's spellings the odd ones."""
    df: Counter = Counter()
    for text in dict.fromkeys(texts):  # distinct texts, in the order given
        df.update(set(words_of(text)))
    shared = {fold_word(w) for w, n in df.items() if n > 1}
    slipped = {key for w in shared if len(w) >= SLIP_MIN for key in slip_keys(w)}

    def misread(word: str) -> bool:
        folded = fold_word(word)
        return folded in shared or (len(folded) >= SLIP_MIN and not slipped.isdisjoint(slip_keys(folded)))
    return Vocabulary(df, frozenset(w for w, n in df.items() if n <= 1 and misread(w)))


def odd(word: str) -> bool:
    """Letters and digits mixed in one word ("c1ty", "8tak"), other than an ordinal or a unit ("21st")."""
    return not word.isalpha() and not word.isdigit() and not ORDINAL.fullmatch(word)


def damage(text: str, vocab: Vocabulary | None = None) -> float:
    """Share of the text's words that read as damage (0 clean, up to about 1), see the module doc.
    Without `vocab` (the `vocabulary` of the run's stories, this text's included), no word is misread."""
    words = words_of(text)
    if not words:
        return 1.0
    n_odd = sum(1 for w in words if not w.isalpha() and odd(w)) + len(MOJIBAKE.findall(text))  # most words are letters only
    unknown = sum(1 for w in words if w in vocab.misread) if vocab is not None else 0
    n_shingles = max(1, len(words) - 2)
    return min(1.0, (n_odd + unknown) / len(words) + doubled_shingles(words) / n_shingles)


@functools.lru_cache(maxsize=2048)  # a story's damage, then its own damage against each copy
def doubled_shingles(words: tuple[str, ...]) -> int:
    """How many of the words' 3-shingles occurred already at most `REPEAT_REACH` shingles before."""
    last_seen: dict[tuple[str, str, str], int] = {}
    doubled = 0
    for i, shingle in enumerate(zip(words, words[1:], words[2:])):
        if i - last_seen.get(shingle, -REPEAT_REACH - 1) <= REPEAT_REACH:
            doubled += 1
        last_seen[shingle] = i
    return doubled


@functools.lru_cache(maxsize=2048)  # ties between copies of one story read them again
def line_words(text: str) -> tuple[tuple[str, ...], ...]:
    """The words of each of the text's lines, casefolded."""
    return tuple(tuple(WORD.findall(line.casefold())) for line in text.split("\n"))


def body_words(text: str) -> list[tuple[str, ...]]:
    """The words of the story's body lines: its lines of at least `BODY_LINE_WORDS` words (all its
    lines where it has none such). Headlines, datelines and furniture a re-wrapped copy adds are
    short lines."""
    lines = line_words(text)
    return [line for line in lines if len(line) >= BODY_LINE_WORDS] or list(lines)


def body_lines(text: str) -> frozenset[tuple[str, ...]]:
    """The story's body lines (`body_words`), each as its words: a copy trimmed by whole paragraphs
    has a subset of its original's."""
    return frozenset(body_words(text))


def furniture_lines(text: str) -> frozenset[tuple[str, ...]]:
    """The story's lines outside its body (`body_words`), each as its words: headlines, datelines,
    bylines and page furniture; none where every line is short."""
    lines = line_words(text)
    if not any(len(line) >= BODY_LINE_WORDS for line in lines):
        return frozenset()
    return frozenset(line for line in lines if 0 < len(line) < BODY_LINE_WORDS)


def body_shingles(text: str) -> int:
    """How much distinct text the story's body holds: the distinct word 3-shingles of its body
    lines (`body_words`), those with an odd word (`odd`) left out. Spans a scraper doubled add
    nothing, and a scanner's misreadings add nothing either (they would make a phrase the story
    repeats two distinct ones); a trimmed copy lacks whole paragraphs."""
    body = [w for line in body_words(text) for w in line]
    shingles = set(zip(body, body[1:], body[2:]))
    odd_words = {w for w in body if not w.isalpha() and odd(w)}
    if odd_words:
        shingles = {s for s in shingles if odd_words.isdisjoint(s)}
    return len(shingles)


def length_step(text: str) -> int:
    """`body_shingles` in steps of `LENGTH_STEP` (ratio): two copies a sentence or two apart are equals."""
    return int(math.log1p(body_shingles(text)) / math.log(LENGTH_STEP))


def own_damage(text: str, other: str, vocab: Vocabulary) -> tuple[int, int]:
    """How much damage of the text the `other` text lacks: of two copies of one story, the damage
    that is this copy's own. First, its damaged words the other lacks: words misread against
    `vocab`, and odd words that read as a word of the other once look-alikes are folded ("c1ty"
    against "city"). A misspelling the original carried is in both; furniture a re-wrapped copy
    adds, or a tail a trimmed one lost ("G20", "A320" included), is not damage. Then, where those
    are equal, the spans it doubled beyond the other's (`doubled_shingles`): a scraper's doubling
    repeats words the other has, and only counts second because a copy's misspellings break up
    spans its original doubled."""
    mine, theirs = words_of(text), words_of(other)
    folded = {fold_word(w) for w in theirs}
    other_words = set(theirs)
    misread = len({w for w in mine if w not in other_words and (w in vocab.misread or (odd(w) and fold_word(w) in folded))})
    return misread, max(0, doubled_shingles(mine) - doubled_shingles(theirs))


def damage_step(article: Article, vocab: Vocabulary | None = None) -> int:
    """`damage` of the article's text in steps of `STEP`: the rank the canonical order uses."""
    return int(damage(article.text, vocab) / STEP)
