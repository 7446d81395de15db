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

from pipeline.ingest.readers.common import EARLIEST_TIME, LATEST_TIME, MAX_VERSION, InputError, as_utc
from pipeline.records import RawStory

SURROGATES = re.compile("[\ud800-\udfff]")
ID_CONTROLS = re.compile("[\x00-\x1f\x7f]")
# every other text and time field of a story (the id is checked on its own)
TEXT_FIELDS = tuple(f.name for f in fields(RawStory) if f.type == "str" and f.name != "source_id")
TIME_FIELDS = tuple(f.name for f in fields(RawStory) if "datetime" in str(f.type))


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
    sid = story.source_id
    if not isinstance(sid, str) or not sid.strip():
        raise InputError("empty id")
    if SURROGATES.search(sid):
        raise InputError(f"id is not valid Unicode (lone surrogate): {sid[:80]!r}")
    if ID_CONTROLS.search(sid):
        raise InputError(f"id holds control characters: {sid[:80]!r}")
    story.origin = printable(story.origin)
    for name in TEXT_FIELDS:
        value = getattr(story, name)
        if isinstance(value, str) and SURROGATES.search(value):
            setattr(story, name, SURROGATES.sub("\ufffd", value))
    for name in TIME_FIELDS:
        moment = getattr(story, name)
        if moment is not None and not (moment.tzinfo is not None and EARLIEST_TIME <= moment < LATEST_TIME):
            setattr(story, name, as_utc(moment, name, moment.isoformat()))
    version = story.version
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= MAX_VERSION):
        raise InputError(f"version must be a non-negative integer below 2^63, got {version!r}")
    return story
