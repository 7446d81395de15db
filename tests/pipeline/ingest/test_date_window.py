"""Date window: backfills keep the stories published inside a range of UTC days."""
from datetime import date, datetime, timezone

import pytest

from pipeline.ingest.date_window import day_windows, published_within, rebuild_range
from pipeline.records import RawStory


def story(sid, when):
    return RawStory(source_id=sid, body="b", published_at=when)


STORIES = [
    story("before", datetime(2017, 3, 31, 23, 59, tzinfo=timezone.utc)),
    story("first-day", datetime(2017, 4, 1, 0, 0, tzinfo=timezone.utc)),
    story("last-day", datetime(2017, 4, 30, 23, 59, tzinfo=timezone.utc)),
    story("after", datetime(2017, 5, 1, tzinfo=timezone.utc)),
    story("undated", None),
]


def test_both_ends_are_included_and_undated_stories_left_out():
    result = published_within(STORIES, date(2017, 4, 1), date(2017, 4, 30))
    assert [s.source_id for s in result.stories] == ["first-day", "last-day"]
    assert (result.n_outside, result.n_undated) == (2, 1)


def test_open_ends():
    assert [s.source_id for s in published_within(STORIES, date(2017, 4, 30), None).stories] == ["last-day", "after"]
    assert [s.source_id for s in published_within(STORIES, None, date(2017, 3, 31)).stories] == ["before"]


def test_no_window_keeps_everything():
    assert published_within(STORIES, None, None).stories == STORIES


def test_an_empty_range_is_an_error():
    with pytest.raises(ValueError, match="after end"):
        published_within(STORIES, date(2017, 5, 1), date(2017, 4, 1))


NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


def test_rebuild_range_from_iso_times_or_the_last_days():
    assert rebuild_range("2017-04-01", None, None, NOW) == (datetime(2017, 4, 1, tzinfo=timezone.utc), None)
    assert rebuild_range(None, "2017-04-30T12:00:00+02:00", None, NOW) == (None, datetime(2017, 4, 30, 10, tzinfo=timezone.utc))
    assert rebuild_range(None, None, 2.5, NOW) == (datetime(2026, 11, 30, 0, 0, tzinfo=timezone.utc), None)
    assert rebuild_range("", "", None, NOW) == (None, None)


@pytest.mark.parametrize("start, end, last_days, message", [
    ("2017-04-01", None, 3, "not both"),
    (None, None, 0, "positive"),
    ("2017-05-01", "2017-04-01", None, "empty"),
    ("last week", None, None, "ISO-8601"),
])
def test_rebuild_range_refuses_what_it_cannot_mean(start, end, last_days, message):
    with pytest.raises(ValueError, match=message):
        rebuild_range(start, end, last_days, NOW)


def test_day_windows_cut_the_range_from_its_first_day_and_keep_only_windows_with_stories():
    d = date(2020, 1, 1)
    days = {date(2019, 12, 31), date(2020, 1, 2), date(2020, 1, 3), date(2020, 1, 9), date(2020, 2, 1)}
    assert day_windows(days, d, date(2020, 1, 10), 1) == [
        (date(2020, 1, 2), date(2020, 1, 2)), (date(2020, 1, 3), date(2020, 1, 3)), (date(2020, 1, 9), date(2020, 1, 9))]
    assert day_windows(days, d, date(2020, 1, 10), 7) == [(d, date(2020, 1, 7)), (date(2020, 1, 8), date(2020, 1, 10))]
    assert day_windows(set(), d, date(2020, 1, 10), 7) == []
    with pytest.raises(ValueError, match="at least one day"):
        day_windows(days, d, d, 0)
