"""The last check on every story a reader built: text the store can write, ids that name one story.

Readers check the shape of what they read; this checks what any reader may let through and only
fails later, when the store writes Parquet (UTF-8) or the pipeline does arithmetic:

- Lone surrogates ("\\ud800", from JSON escapes): not Unicode, so not writable as UTF-8. In an id
  the story is rejected (repaired, two different ids could become one); in text they are replaced
  by U+FFFD, the replacement character, as a decoder does with a broken byte, and the story is kept.
- An id that is empty, only whitespace, or holds control characters (NUL included) is rejected.
- Versions must fit the store's int64; times its timestamp range (see `common.as_utc`).

`printable` turns a path or URL that may carry surrogate escapes (an undecodable file name)
into valid text for origins and the inbox log, while the file itself is still read.
"""
from __future__ import annotations

import os
import re
from dataclasses import fields
from datetime import datetime

from pipeline.readers.common import MAX_VERSION, InputError, as_utc
from pipeline.records import RawStory

SURROGATES = re.compile("[\ud800-\udfff]")
ID_CONTROLS = re.compile("[\x00-\x1f\x7f]")
ID_FIELDS = ("source_id",)


def printable(text: str) -> str:
    """`text` as valid Unicode: bytes a file name could not decode are shown as ``\\xNN``, other
    lone surrogates as ``\\udNNN``; valid text is returned unchanged."""
    if not SURROGATES.search(text):
        return text
    try:
        raw = os.fsencode(text)  # surrogate escapes back to the bytes they stand for
    except UnicodeEncodeError:  # a surrogate that no undecodable byte made
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def vet_story(story: RawStory) -> RawStory:
    """`story` with broken text repaired, or an InputError saying why it cannot be stored."""
    story.origin = printable(story.origin)
    sid = story.source_id
    if not isinstance(sid, str) or not sid.strip():
        raise InputError("empty id")
    if SURROGATES.search(sid):
        raise InputError(f"id is not valid Unicode (lone surrogate): {sid[:80]!r}")
    if ID_CONTROLS.search(sid):
        raise InputError(f"id holds control characters: {sid[:80]!r}")
    for field in fields(RawStory):
        value = getattr(story, field.name)
        if isinstance(value, str) and field.name not in ID_FIELDS and SURROGATES.search(value):
            setattr(story, field.name, SURROGATES.sub("\ufffd", value))
        elif isinstance(value, datetime):
            as_utc(value, field.name, value.isoformat())
    if story.version is not None and not (
            isinstance(story.version, int) and not isinstance(story.version, bool) and 0 <= story.version <= MAX_VERSION):
        raise InputError(f"version must be a non-negative integer below 2^63, got {story.version!r}")
    return story
