"""Date windows: stories published within a range of days (backfills), and the time range a
re-cluster rebuilds."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pipeline.ingest.readers.common import parse_time
from pipeline.records import RawStory


@dataclass(slots=True)
class WindowResult:
    stories: list[RawStory]
    n_outside: int  # published before or after the window
    n_undated: int  # no published time, so not provably inside


def published_within(stories: list[RawStory], start: date | None, end: date | None) -> WindowResult:
    """Stories whose UTC publication day lies in [start, end]; an open end is unbounded.

    With no bounds at all every story passes, dated or not.
    """
    if start is not None and end is not None and start > end:
        raise ValueError(f"date range is empty: start {start} is after end {end}")
    if start is None and end is None:
        return WindowResult(list(stories), 0, 0)
    kept, n_outside, n_undated = [], 0, 0
    for story in stories:
        if story.published_at is None:
            n_undated += 1
            continue
        day = story.published_at.date()  # published_at is UTC (pipeline.ingest.parse_time)
        if (start is not None and day < start) or (end is not None and day > end):
            n_outside += 1
        else:
            kept.append(story)
    return WindowResult(kept, n_outside, n_undated)


def day_windows(days: set[date] | frozenset[date], start: date, end: date, window_days: int) -> list[tuple[date, date]]:
    """[start, end] cut into windows of `window_days` days from `start` (the last one shorter), each
    as (first day, last day); only the windows holding one of `days`, in order."""
    if start > end:
        raise ValueError(f"date range is empty: start {start} is after end {end}")
    if window_days < 1:
        raise ValueError(f"a window is at least one day, not {window_days}")
    starts = sorted({start + timedelta(days=(day - start).days // window_days * window_days)
                     for day in days if start <= day <= end})
    return [(first, min(first + timedelta(days=window_days - 1), end)) for first in starts]


def rebuild_range(start: str | None, end: str | None, last_days: float | None,
                  now: datetime) -> tuple[datetime | None, datetime | None]:
    """The [start, end] times a re-cluster rebuilds: ISO times or dates (either end open), or
    the last `last_days` days up to `now` (for a schedule, which cannot name dates)."""
    if last_days is None:
        first, last = parse_time(start, "start"), parse_time(end, "end")
    elif start or end:
        raise ValueError("give start/end or last_days, not both")
    elif not last_days > 0:
        raise ValueError(f"last_days must be a positive number of days, got {last_days}")
    else:
        first, last = now - timedelta(days=last_days), None
    if first is not None and last is not None and first > last:
        raise ValueError(f"time range is empty: start {first} is after end {last}")
    return first, last
