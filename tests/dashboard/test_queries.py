"""Dashboard queries over hand-written Parquet: today's columns, the storyline columns, and none at all."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dashboard.queries import Store
from pipeline.store import Store as Snapshots

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)


def write(data, table, rows):
    """Commit one table as it is (older outputs lack columns), the others carried over."""
    store = Snapshots(data)
    base = store.current()
    data.mkdir(parents=True, exist_ok=True)
    path = data / f"{table}.parquet.tmp"
    pq.write_table(pa.Table.from_pylist(rows), path)
    store._publish({table: path}, {name: base.file(name) for name in base.tables if name != table}, base, {})


def article(article_id, event_id, source, hours_ago, **extra):
    return {"article_id": article_id, "source_id": article_id, "title": f"title {article_id}", "text": "text",
            "source": source, "url": "", "published_at": NOW - timedelta(hours=hours_ago),
            "ingested_at": NOW, "dup_group_id": article_id, "is_canonical": True, "event_id": event_id, **extra}


def event(event_id, headline, size, hours_ago, **extra):
    seen = NOW - timedelta(hours=hours_ago)
    return {"event_id": event_id, "headline": headline, "size": size, "n_sources": 1, "first_seen": seen - timedelta(hours=1),
            "last_seen": seen, "representative_article_id": "", **extra}


@pytest.fixture
def today_output(tmp_path):
    """The output as the pipeline writes it before storylines: no keywords, status or storylines."""
    write(tmp_path, "articles", [
        article("a1", "e_old", "CNN", 200), article("a2", "e_new", "Reuters", 2), article("a3", "e_new", "AP", 3),
        article("a4", "e_day", "AP", 20),
    ])
    write(tmp_path, "events", [
        event("e_old", "Old flood", 1, 200), event("e_new", "Fresh 50% rate cut", 2, 2), event("e_day", "Day-old vote", 1, 20),
    ])
    write(tmp_path, "duplicates", [{"article_id": "a3", "duplicate_of": "a2", "similarity": 0.9, "method": "minhash",
                                    "jaccard": 0.8, "containment": 0.95, "char_containment": 0.9, "rule": "jaccard"}])
    return tmp_path


@pytest.fixture
def storyline_output(today_output):
    """The same plus the clustering columns: keywords, storylines, one merged and one withdrawn event."""
    write(today_output, "events", [
        event("e_old", "Old flood", 1, 200, storyline_id="s1", keywords=["flood", "river"], sources=["CNN"], status="active",
              merged_into=None),
        event("e_new", "Fresh rate cut", 2, 2, storyline_id="s2", keywords=["central bank"], sources=["Reuters", "AP"],
              status="active", merged_into=None),
        event("e_gone", "Merged away", 5, 1, storyline_id="s2", keywords=[], sources=["AP"], status="merged", merged_into="e_new"),
        event("e_killed", "Taken down", 0, 1, storyline_id="s3", keywords=[], sources=[], status="withdrawn", merged_into=None),
    ])
    write(today_output, "storylines", [{"storyline_id": "s2", "headline": "Interest rates", "n_events": 1, "size": 2,
                                        "first_seen": NOW, "last_seen": NOW, "keywords": ["rates"]}])
    return today_output


def ids(page):
    return list(page.rows["event_id"])


def test_event_list_order_and_filters(today_output):
    store = Store(today_output)
    assert ids(store.event_list(now=NOW)) == ["e_new", "e_day", "e_old"]  # newest first
    assert ids(store.event_list(sort="biggest", now=NOW)) == ["e_new", "e_day", "e_old"]
    assert ids(store.event_list("last 6 h", now=NOW)) == ["e_new"]
    assert ids(store.event_list("last 24 h", now=NOW)) == ["e_new", "e_day"]
    assert ids(store.event_list("last 7 days", now=NOW)) == ["e_new", "e_day"]
    assert ids(store.event_list(sources=["AP"], now=NOW)) == ["e_new", "e_day"]
    assert ids(store.event_list(sources=["CNN", "Reuters"], now=NOW)) == ["e_new", "e_old"]
    assert ids(store.event_list(search="VOTE", now=NOW)) == ["e_day"]
    assert ids(store.event_list(search="50%", now=NOW)) == ["e_new"]  # literal, not a LIKE pattern
    assert ids(store.event_list(search="cut rate", now=NOW)) == ["e_new"]  # any order
    assert ids(store.event_list(search="rate flood", now=NOW)) == []  # every word
    page = store.event_list(limit=2, offset=2, now=NOW)
    assert ids(page) == ["e_old"] and page.total == 3
    assert store.storylines().empty  # no storyline columns: nothing to show, no error
    assert store.event_list(now=NOW).rows["storyline"].isna().all()


def test_event_stories_fold_copies_under_their_canonical(today_output):
    store = Store(today_output)
    stories = store.event_articles("e_new").set_index("article_id")
    assert stories.loc["a2", "is_canonical"] and not stories.loc["a3", "is_canonical"]
    assert stories.loc["a3", "canonical_id"] == "a2"
    assert stories.loc["a3", "containment"] == pytest.approx(0.95)
    assert store.event_sources(store.event("e_new")) == ["AP", "Reuters"]


def test_events_with_a_story_under_embargo_say_until_when(today_output):
    write(today_output, "articles", [
        article("a1", "e_old", "CNN", 200, embargoed=NOW - timedelta(hours=1)),  # lifted
        article("a2", "e_new", "Reuters", 2, embargoed=NOW + timedelta(hours=3)),
        article("a3", "e_new", "AP", 3, embargoed=NOW + timedelta(hours=5)),
    ])
    rows = Store(today_output).event_list(now=NOW).rows.set_index("event_id")
    assert rows.loc["e_new", "embargoed_until"] == NOW + timedelta(hours=5)
    assert rows["embargoed_until"].drop("e_new").isna().all()
    stories = Store(today_output).event_articles("e_new", now=NOW).set_index("article_id")
    assert stories.loc["a2", "embargoed"] == NOW + timedelta(hours=3)


def test_storyline_columns_keywords_and_merged_events(storyline_output):
    store = Store(storyline_output)
    page = store.event_list(now=NOW)
    assert ids(page) == ["e_new", "e_old"]  # the merged and the withdrawn event are not live
    assert page.rows.set_index("event_id").loc["e_new", "storyline"] == "Interest rates"
    assert page.rows.set_index("event_id").loc["e_new", "n_sources"] == 2
    assert ids(store.event_list(search="river", now=NOW)) == ["e_old"]  # keywords are searched
    assert ids(store.event_list(storyline_id="s2", now=NOW)) == ["e_new"]
    assert list(store.storylines()["storyline_id"]) == ["s2"]
    assert store.event("e_gone")["merged_into"] == "e_new"


def test_storylines_gathered_from_events_without_their_table(storyline_output):
    store = Snapshots(storyline_output)
    base = store.current()  # an output written before storylines had their own table
    store._publish({}, {name: base.file(name) for name in base.tables if name != "storylines"}, base, {})
    lines = Store(storyline_output).storylines().set_index("storyline_id")
    assert list(lines.index) == ["s2", "s1"]  # none from the withdrawn event
    assert lines.loc["s2", "n_events"] == 1 and lines.loc["s2", "headline"] == "Fresh rate cut"


def test_empty_output_reads_as_empty_tables(tmp_path):
    store = Store(tmp_path / "nothing")
    assert store.event_list().total == 0
    assert store.totals() == dict.fromkeys(["articles", "duplicates", "events", "storylines", "runs", "rejects"], 0)
    assert store.runs().empty and store.rejects().empty and store.sources() == []


def test_uncommitted_snapshots_are_not_read(today_output):
    staging = today_output / "snapshots" / ".000009-dead.tmp"  # a writer killed mid-commit
    staging.mkdir()
    (staging / "events.parquet").write_bytes(b"half a file")
    written = today_output / "snapshots" / "000009"  # one killed before making its snapshot current
    written.mkdir()
    (written / "events.parquet").write_bytes(b"another half")
    assert Store(today_output).event_list(now=NOW).total == 3


def test_outlets_are_normalised_and_counted(today_output):
    write(today_output, "articles", [
        article("a1", "e_old", "CNN", 200), article("a2", "e_new", "cnn.com", 2), article("a3", "e_new", "www.cnn.com", 3),
        article("a4", "e_day", "articles.latimes.com", 20), article("a5", "e_day", "Los Angeles Times", 21),
    ])
    store = Store(today_output)
    assert store.sources() == ["CNN", "Los Angeles Times"]
    assert store.source_counts() == {"CNN": 2, "Los Angeles Times": 1}
    assert ids(store.event_list(sources=["Los Angeles Times"], now=NOW)) == ["e_day"]
    rows = store.event_list(now=NOW).rows.set_index("event_id")
    # e_new: a2 and its copy a3, one outlet; the first to report is the earliest story's outlet
    assert (rows.loc["e_new", "n_stories"], rows.loc["e_new", "n_copies"], rows.loc["e_new", "n_outlets"]) == (1, 1, 1)
    assert rows.loc["e_day", "first_outlet"] == "Los Angeles Times" and rows.loc["e_day", "n_outlets"] == 1
    assert store.event_sources(store.event("e_day")) == ["Los Angeles Times"]


def test_entity_facets_filter_and_count(storyline_output):
    write(storyline_output, "events", [
        event("e_old", "Old flood", 1, 200, people=["Ann Lee"], organisations=[], places=["Ferndale"], status="active"),
        event("e_new", "Fresh rate cut", 2, 2, people=["Ann Lee", "Bo Chan"], organisations=["Fed"], places=[], status="active"),
        event("e_gone", "Merged away", 5, 1, people=["Ann Lee"], organisations=[], places=[], status="merged"),
    ])
    store = Store(storyline_output)
    assert store.entity_counts("person") == {"Ann Lee": 2, "Bo Chan": 1}  # the merged event is not live
    assert ids(store.event_list(entities={"person": ["Ann Lee"]}, now=NOW)) == ["e_new", "e_old"]
    assert ids(store.event_list(entities={"person": ["Ann Lee"], "org": ["Fed"]}, now=NOW)) == ["e_new"]


def test_a_missing_or_broken_store_is_named(tmp_path, today_output):
    import pytest as _pytest

    from dashboard.queries import UnreadableStore
    assert not Store(tmp_path / "missing").exists
    (tmp_path / "afile").write_text("x")
    with _pytest.raises(UnreadableStore, match="afile is a file"):
        Store(tmp_path / "afile")
    events = Snapshots(today_output).current().file("events")
    events.unlink()
    events.write_bytes(b"PAR1 broken")
    with _pytest.raises(UnreadableStore, match="events.parquet"):
        Store(today_output)
