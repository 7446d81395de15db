"""The search index: any-order multi-word prefix search, ranked, kept up to date from one snapshot to the next."""
from __future__ import annotations

import sqlite3

import pyarrow as pa

from pipeline import search


def articles(*rows):
    return pa.Table.from_pylist([{"article_id": a, "event_id": e, "title": t, "text": x} for a, e, t, x in rows])


def events(*rows):
    return pa.Table.from_pylist([{"event_id": e, "headline": h, "keywords": k, "people": [], "organisations": [],
                                  "places": p, "status": s} for e, h, k, p, s in rows])


STORIES = articles(
    ("a1", "quake", "", "An earthquake levelled villages on Qeshm, an Iranian island, on Sunday."),
    ("a2", "quake", "Earthquake Levels Villages on Iranian Island", "Rescue teams reached Qeshm."),
    ("a3", "sessions", "", "Jeff Sessions threatened sanctuary cities."),
    ("a4", "rehab", "Lohan in rehab", "Lindsay Lohan checked into the Betty Ford Center."),
)
EVENTS = events(("quake", "Earthquake Levels Villages on Iranian Island", ["Qeshm"], ["Iran"], "active"),
                ("sessions", "Sessions slams Chicago", ["Jeff Sessions"], ["Chicago"], "active"),
                ("rehab", "Lohan in rehab", ["Lindsay Lohan"], [], "active"),
                ("gone", "Earthquake merged away", [], [], "merged"))


def ids(con, text):
    return [e for e, _ in search.search(con, text)]


def test_words_in_any_order_as_prefixes_over_headlines_names_and_text():
    con = search.build(STORIES, EVENTS)
    assert ids(con, "earthquake iran") == ["quake"] == ids(con, "Iran EARTHQUAKE")  # "iran" starts "Iranian"
    assert ids(con, "betty ford") == ["rehab"]  # story text only
    assert ids(con, "sessions") == ["sessions"]
    assert ids(con, "quake sessions") == []  # every word must match
    assert ids(con, 'x" OR "y NEAR(a b) *') == [] and ids(con, "   ") == []  # FTS5 syntax is taken literally
    assert "gone" not in ids(con, "earthquake")  # merged events are not live


def test_a_match_in_the_headline_ranks_above_one_in_a_story():
    stories = articles(("a1", "e1", "", "Relief for Qeshm was sent."), ("a2", "e2", "", "Aid arrived."),
                       ("a3", "e3", "", "Nothing here."))
    con = search.build(stories, events(("e1", "Aid convoy leaves", [], [], "active"),
                                       ("e2", "Qeshm rebuilds", [], [], "active"), ("e3", "Other", [], [], "active")))
    assert ids(con, "qeshm") == ["e2", "e1"]


def test_the_next_snapshot_index_grows_from_the_last(tmp_path):
    first = tmp_path / "1.sqlite"
    done = search.build_file(first, None, STORIES, EVENTS)
    assert (done.added, done.removed, done.moved) == (4, 0, 0)
    later = articles(("a2", "quake", "Earthquake Levels Villages on Iranian Island", "Rescue teams reached Qeshm."),
                     ("a3", "rehab", "", "Jeff Sessions threatened sanctuary cities."),  # moved to another event
                     ("a4", "rehab", "Lohan in rehab", "Lindsay Lohan checked into the Betty Ford Center."),
                     ("a5", "sessions", "", "Sessions wrote to Chicago's mayor."))
    second = tmp_path / "2.sqlite"
    done = search.build_file(second, first, later, EVENTS)
    assert (done.added, done.removed, done.moved) == (1, 1, 1)
    con = search.open_index(second)
    assert ids(con, "mayor") == ["sessions"] and ids(con, "sanctuary") == ["rehab"]
    assert ids(con, "sunday") == []  # a1 is gone
    assert ids(search.open_index(first), "sunday") == ["quake"]  # the earlier snapshot's index is untouched
    (tmp_path / "3.sqlite").write_bytes(b"not a database")
    done = search.build_file(tmp_path / "4.sqlite", tmp_path / "3.sqlite", later, EVENTS)
    assert done.added == 4  # an unreadable earlier index is rebuilt, not trusted
    try:
        search.open_index(second).execute("DELETE FROM story_rows")
        raise AssertionError("the reader could write")
    except sqlite3.OperationalError:
        pass
