"""Outlet names an editor recognises: "CNN", "cnn.com" and "www.cnn.com" are one outlet.

Stories name their outlet, or else carry only their web host (ingest falls back to it). Names
and hosts are brought to a key (lower case, letters and digits; a host by its site label:
"articles.latimes.com" -> "latimes"), and a host joins the name whose key, initials or short
form it matches ("latimes" <- "Los Angeles Times", "nytimes" <- "The New York Times"). Each
outlet is shown by the name its stories use most, a written name before a host.
"""
from __future__ import annotations

import re
from collections import Counter

NOT_KEY = re.compile(r"[^a-z0-9]+")
# labels of a host that are not the site's own name: "www", generic second levels, hosting domains
GENERIC_LABELS = frozenset("www m mobile amp edition news articles co com org net gov ac go".split())
SECOND_LEVEL = frozenset("co com org net gov ac edu".split())


def is_host(name: str) -> bool:
    return " " not in name.strip() and "." in name.strip(".") and not name.strip().endswith(".")


def host_label(host: str) -> str:
    """The site's own label of a host: "articles.latimes.com" -> "latimes", "bbc.co.uk" -> "bbc",
    "sports.espn.go.com" -> "espn", "usatoday30.usatoday.com" -> "usatoday"."""
    labels = [x for x in host.lower().strip(".").removeprefix("www.").split(".") if x]
    if len(labels) < 2:
        return NOT_KEY.sub("", host.lower())
    labels = labels[:-1]  # the top-level domain
    if len(labels) > 1 and labels[-1] in SECOND_LEVEL:
        labels = labels[:-1]
    while len(labels) > 1 and labels[-1] in GENERIC_LABELS:
        labels = labels[:-1]
    return NOT_KEY.sub("", labels[-1])


def site_host(host: str) -> str:
    labels = host.lower().strip(".").split(".")
    label = host_label(host)
    starts = [i for i, x in enumerate(labels) if NOT_KEY.sub("", x) == label]
    return ".".join(labels[starts[-1]:]) if starts else host.lower().removeprefix("www.")


def name_keys(name: str) -> set[str]:
    """Keys a written name answers to: whole, without "The"/"News", and as initials plus last word."""
    words = [w for w in NOT_KEY.split(name.lower()) if w]
    if words and words[0] == "the":
        words = words[1:]
    if not words:
        return set()
    keys = {"".join(words)}
    if len(words) > 1 and words[-1] in ("news", "online", "com"):
        keys.add("".join(words[:-1]))
    if len(words) > 2:
        keys.add("".join(w[0] for w in words[:-1]) + words[-1])  # Los Angeles Times -> latimes
        keys.add("".join(w[0] for w in words))  # British Broadcasting Corporation -> bbc
    return keys


def outlet_names(sources: Counter | dict[str, int]) -> dict[str, str]:
    """Each source as written -> the outlet name to show, for sources counted by stories."""
    key_of: dict[str, str] = {}
    name_key: dict[str, str] = {}  # any key of a written name -> that name's main key
    for source in sources:
        if source and not is_host(source):
            keys = name_keys(source)
            main = "".join(w for w in NOT_KEY.split(source.lower()) if w and w != "the") or source.lower()
            key_of[source] = name_key.setdefault(main, main)
            for k in keys:
                name_key.setdefault(k, key_of[source])
    for source in sources:
        if source and is_host(source):
            label = host_label(source)
            key_of[source] = name_key.get(label, label)
    by_key: dict[str, Counter] = {}
    for source, n in sources.items():
        if source:
            by_key.setdefault(key_of[source], Counter())[source] += n
    shown = {}
    for key, names in by_key.items():
        written = [s for s in names if not is_host(s)]
        if written:
            best = max(written, key=lambda s: (names[s], s))
        else:  # hosts only: from the site's label on ("yahoo.com" rather than "voices.yahoo.com")
            best = min((site_host(s) for s in names), key=lambda s: (len(s), s))
        for source in names:
            shown[source] = best
    return shown
