"""Synthetic damage for tests and benchmarks: the ways wire copies get mangled.

Each function takes a text and a `random.Random` and returns a damaged copy. `strength`
(0..1) scales how much damage is done. None of this runs in the pipeline itself.
"""
from __future__ import annotations

import random
import re

PTB_SPLIT = re.compile(r"(n't\b|'s\b|'re\b|'ve\b|'ll\b|'d\b|[.,;:!?()\"“”‘’])")


def tokenize_ptb(text: str) -> str:
    """Penn-Treebank-like tokenization: punctuation and clitics split off by spaces."""
    return re.sub(r"[ \t]+", " ", PTB_SPLIT.sub(r" \1 ", text)).strip()


def garble(text: str, rng: random.Random, strength: float = 0.3, donor: str = "") -> str:
    """Like seed 000: tokenized, with spans repeated, dropped and swapped for words from `donor`."""
    tokens = tokenize_ptb(text).split()
    donor_tokens = (donor or text).split()
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
        elif roll < strength and donor_tokens:  # swap in words from elsewhere
            start = rng.randrange(len(donor_tokens))
            out += donor_tokens[start:start + len(chunk)]
        else:
            out += chunk
        i += span
    return " ".join(out)


def trim(text: str, rng: random.Random, strength: float = 0.5) -> str:
    """Keep only the first paragraphs (or sentences): a copy cut to fit."""
    parts = [p for p in text.split("\n") if p.strip()]
    if len(parts) < 3:
        parts = re.split(r"(?<=[.!?])\s+", text)
    keep = max(2, round(len(parts) * (1.0 - strength)))
    return "\n".join(parts[:keep])


BOILERPLATE = [
    "Advertisement",
    "Sign up for our daily newsletter",
    "Copyright 2017 The Associated Press. All rights reserved.",
    "Follow us on Twitter",
    "Read more: the latest headlines",
]
DATELINES = ["WASHINGTON (AP) —", "NEW YORK, April 21 (Reuters) -", "CHICAGO —", "LONDON (AFP) -"]


def rewrap(text: str, rng: random.Random, strength: float = 0.5, headline: str = "") -> str:
    """Add a dateline, another headline and site boilerplate lines around the text."""
    lines = [headline or "Breaking: what you need to know today", f"{rng.choice(DATELINES)} {text.strip()}"]
    for _ in range(1 + round(strength * 4)):
        lines.insert(rng.randrange(len(lines) + 1), rng.choice(BOILERPLATE))
    return "\n".join(lines)


OCR_CONFUSIONS = {"l": "1", "o": "0", "e": "c", "m": "rn", "i": "l", "a": "o", "s": "5", "t": "f"}


def ocr_noise(text: str, rng: random.Random, strength: float = 0.3) -> str:
    """Character noise as from OCR or broken encodings: confusions, dropped and doubled letters."""
    rate = 0.1 * strength
    out = []
    for ch in text:
        roll = rng.random()
        if roll < rate * 0.5 and ch.lower() in OCR_CONFUSIONS:
            out.append(OCR_CONFUSIONS[ch.lower()])
        elif roll < rate * 0.7:
            continue
        elif roll < rate * 0.8:
            out.append(ch + ch)
        elif roll < rate and ch in "'\"":
            out.append("â€™")  # mojibake of a curly quote
        else:
            out.append(ch)
    return "".join(out)


DAMAGES = {"garble": garble, "trim": trim, "rewrap": rewrap, "ocr": ocr_noise}
