"""Date window: backfills keep the stories published inside a range of UTC days."""
from datetime import date, datetime, timezone

import pytest

from pipeline.date_window import published_within
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
