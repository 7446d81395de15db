"""Synthetic damage for tests and benchmarks: the ways wire copies get mangled.

`damage(text, kind, strength, rng, donor=...)` returns a damaged copy of `text`. Kinds are
listed in `KINDS`, named strengths in `STRENGTHS` (any float in 0..1 works). `donor` is
another story's text: garbling swaps in spans from it and re-wrapping borrows its
headlines, as real scrapers and site templates do. None of this runs in the pipeline itself.
"""
from __future__ import annotations

import random
import re

PTB_SPLIT = re.compile(r"(n't\b|'s\b|'re\b|'ve\b|'ll\b|'d\b|[.,;:!?()\"“”‘’])")
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")

STRENGTHS = {"light": 0.2, "medium": 0.5, "heavy": 0.8}


def tokenize_ptb(text: str) -> str:
    """Penn-Treebank-like tokenization: punctuation and clitics split off by spaces."""
    return re.sub(r"[ \t]+", " ", PTB_SPLIT.sub(r" \1 ", text)).strip()


def garble(text: str, rng: random.Random, strength: float = 0.3, donor: str = "") -> str:
    """Like seed 000: tokenized, with spans repeated, dropped and swapped for words from `donor`.

    Each span of 3-12 tokens is dropped with probability 0.3*strength, doubled with
    0.3*strength, replaced by a donor span with 0.2*strength, else kept.
    """
    tokens = tokenize_ptb(text).split()
    donor_tokens = tokenize_ptb(donor or text).split()
    out: list[str] = []
    i = 0
    while i < len(tokens):
        span = rng.randint(3, 12)
        roll = rng.random()
        chunk = tokens[i:i + span]
        if roll < strength * 0.3:  # drop the span
            pass
        elif roll < strength * 0.6:  # repeat it
            out += chunk + chunk
        elif roll < strength * 0.8 and donor_tokens:  # swap in words from elsewhere
            start = rng.randrange(len(donor_tokens))
            out += donor_tokens[start:start + len(chunk)]
        else:
            out += chunk
        i += span
    return " ".join(out)


def _blocks(text: str) -> list[str]:
    parts = [p for p in text.split("\n") if p.strip()]
    if len(parts) < 3:
        parts = [s for s in SENTENCE_END.split(" ".join(parts)) if s.strip()]
    return parts


def trim(text: str, rng: random.Random, strength: float = 0.5, donor: str = "") -> str:
    """Keep only the first paragraphs (or sentences), at least two: a copy cut to fit."""
    parts = _blocks(text)
    keep = max(2, round(len(parts) * (1.0 - strength)))
    return "\n".join(parts[:keep])


# Site furniture: some lines the normalizer knows and drops, some it does not.
BOILERPLATE = [
    "Advertisement",
    "Sign up for our daily newsletter",
    "Copyright 2013 The Associated Press. All rights reserved.",
    "Follow us on Twitter",
    "Read more: the latest headlines",
    "Photo: file image",
    "Share this article with your friends and family",
    "Posted by the news desk staff",
    "Comments are closed for this story",
    "Want more stories like this one? Visit our homepage every morning",
]
DATELINES = ["WASHINGTON (AP) —", "NEW YORK, April 21 (Reuters) -", "CHICAGO —", "LONDON (AFP) -", "LOS ANGELES, Calif. —"]
HEADLINES = ["Breaking: what you need to know today", "UPDATE 2", "Top story", "Latest news"]


def rewrap(text: str, rng: random.Random, strength: float = 0.5, donor: str = "", headline: str | None = None) -> str:
    """Another headline (`headline`, else a stock one), a dateline, and 1-5 boilerplate lines around the text.

    From strength 0.5 on, also a "related stories" block: headline-length openings of `donor`'s
    paragraphs.
    """
    lines = [headline or rng.choice(HEADLINES), f"{rng.choice(DATELINES)} {text.strip()}"]
    for _ in range(1 + round(strength * 4)):
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(BOILERPLATE))
    if donor and strength >= 0.5:
        related = [" ".join(p.split()[:10]) for p in _blocks(donor)[: 1 + round(strength * 2)]]
        lines += ["Related stories"] + related
    return "\n".join(lines)


OCR_CONFUSIONS = {"l": "1", "o": "0", "e": "c", "m": "rn", "i": "l", "a": "o", "s": "5", "t": "f", "h": "b", "n": "ri"}
MOJIBAKE = {"'": "â€™", '"': "â€œ", "é": "Ã©", "—": "â€”", "-": "â€“"}


def ocr_noise(text: str, rng: random.Random, strength: float = 0.3, donor: str = "") -> str:
    """Character noise as from OCR or broken encodings.

    A share 0.1*strength of characters is damaged: look-alike confusions, dropped or doubled
    letters, mojibake of punctuation, and spaces lost or inserted.
    """
    rate = 0.1 * strength
    out = []
    for ch in text:
        roll = rng.random()
        if roll >= rate:
            out.append(ch)
        elif ch in MOJIBAKE:
            out.append(MOJIBAKE[ch])
        elif roll < rate * 0.5 and ch.lower() in OCR_CONFUSIONS:
            out.append(OCR_CONFUSIONS[ch.lower()])
        elif roll < rate * 0.65:
            continue
        elif roll < rate * 0.8:
            out.append(ch + ch)
        elif ch == " ":
            continue  # two words run together
        else:
            out.append(ch + " ")  # a word broken in two
    return "".join(out)


KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
NEAR_KEYS = {c: "".join(row[max(0, i - 1):i + 2].replace(c, "")) for row in KEYBOARD_ROWS for i, c in enumerate(row)}


def typos(text: str, rng: random.Random, strength: float = 0.3, donor: str = "") -> str:
    """Slips of a hurried desk or a phone keyboard: a share 0.4*strength of words gets one to
    three letters hit wrong (a neighbouring key), dropped, doubled or swapped with the next, and
    a share 0.2*strength of words trades places with the next word."""
    words = text.split(" ")
    for i, word in enumerate(words):
        if len(word) < 2 or rng.random() >= 0.4 * strength:
            continue
        letters = list(word)
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(letters))
            roll, ch = rng.random(), letters[at]
            if roll < 0.4 and ch.lower() in NEAR_KEYS:
                letters[at] = rng.choice(NEAR_KEYS[ch.lower()])
            elif roll < 0.6 and len(letters) > 2:
                del letters[at]
            elif roll < 0.8:
                letters.insert(at, ch)
            elif at + 1 < len(letters):
                letters[at], letters[at + 1] = letters[at + 1], letters[at]
        words[i] = "".join(letters)
    for i in range(len(words) - 1):
        if rng.random() < 0.2 * strength:
            words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def mixed(text: str, rng: random.Random, strength: float = 0.5, donor: str = "") -> str:
    """Several kinds at once, each a bit weaker: trimmed, scanned, then re-wrapped."""
    part = strength * 0.7
    return rewrap(ocr_noise(trim(text, rng, part), rng, part), rng, part, donor)


DAMAGES = {"garble": garble, "trim": trim, "rewrap": rewrap, "ocr": ocr_noise, "typos": typos, "mixed": mixed}
KINDS = tuple(DAMAGES)


def damage(text: str, kind: str, strength: float, rng: random.Random, donor: str = "") -> str:
    """A copy of `text` damaged by `kind` at `strength` (0..1 or a name in STRENGTHS)."""
    if isinstance(strength, str):
        strength = STRENGTHS[strength]
    if kind not in DAMAGES:
        raise ValueError(f"unknown damage kind {kind!r}; known: {', '.join(KINDS)}")
    return DAMAGES[kind](text, rng, strength, donor=donor)


def word_salad_stories(texts: list[str], n: int, rng: random.Random, words: int = 150) -> list[dict]:
    """`n` distinct story records of `words` words drawn from `texts`' vocabulary: load for tests
    that need many stories (no two are copies; they may share events by chance)."""
    vocabulary = sorted({w for t in texts for w in t.split()})
    return [{"id": f"salad-{i}", "title": " ".join(rng.choices(vocabulary, k=6)),
             "body": " ".join(rng.choices(vocabulary, k=words))} for i in range(n)]
