"""Report: which events a run created, updated or merged, and the operator's summary of it."""
from datetime import datetime, timezone

from pipeline import store
from pipeline.report import event_changes, run_report


def test_event_changes_classifies_created_updated_merged_and_leaves_the_rest():
    before = {"a": "E1", "b": "E1", "c": "E2", "d": "E3", "e": "E4"}
    after = {
        "a": "E1", "b": "E1", "c": "E1",  # E1 absorbed E2
        "d": "E3", "f": "E3",  # E3 gained a story
        "e": "E4",  # untouched
        "g": "E5",  # new event
    }
    assert event_changes(before, after) == {
        "E1": ("merged", ["E2"]),
        "E3": ("updated", []),
        "E5": ("created", []),
    }


def test_event_changes_of_a_first_run_are_all_created():
    assert event_changes({}, {"a": "E1", "b": "E2"}) == {"E1": ("created", []), "E2": ("created", [])}


def test_run_report_counts_only_this_run():
    t = datetime(2017, 4, 21, tzinfo=timezone.utc)
    article = dict(title="", text="t", original_text="t", source="", url="", published_at=t, ingested_at=t,
                   content_hash="h", canonical_reason="", is_canonical=True)
    articles = [
        {**article, "article_id": "a", "source_id": "a", "dup_group_id": "a", "event_id": "E1"},
        {**article, "article_id": "b", "source_id": "b", "dup_group_id": "a", "is_canonical": False, "event_id": "E1"},
    ]
    edge = dict(similarity=1.0, jaccard=1.0, containment=1.0, char_containment=1.0, rule="exact")
    tables = {
        "articles": store.to_table("articles", articles),
        "duplicates": store.to_table("duplicates", [{**edge, "article_id": "b", "duplicate_of": "a", "method": "exact"}]),
        "events": store.to_table("events", [{"event_id": "E1", "headline": "Pipe | in headline", "size": 2, "n_sources": 1,
                                               "first_seen": t, "last_seen": t, "representative_article_id": "a"},
                                              {"event_id": "E0", "headline": "Killed", "size": 0, "n_sources": 1,
                                               "first_seen": t, "last_seen": t, "status": "withdrawn"}]),
        "runs": store.to_table("runs", [
            {"run_id": "r1", "n_stories_read": 1, "n_new_articles": 1, "n_already_stored": 0, "n_events": 1},
            {"run_id": "r2", "n_stories_read": 3, "n_new_articles": 1, "n_already_stored": 1, "n_events": 1,
             "n_withdrawn": 1},
        ]),
        "rejects": store.to_table("rejects", [
            {"run_id": "r1", "origin": "old.txt", "reason": "empty file", "rejected_at": t},
            {"run_id": "r2", "origin": "x.jsonl:3", "reason": "malformed JSON", "rejected_at": t},
        ]),
    }
    report = run_report(tables, "r2", {"a": "E1", "z": "E0"})  # z was taken down in this run
    assert report.counts == {
        "stories_in": 3, "new_articles": 1, "already_stored": 1, "taken_down": 1, "duplicates_found": 1,
        "exact_duplicates": 1, "rejects": 1, "events_total": 1, "events_created": 0, "events_updated": 1,
        "events_merged": 0, "events_withdrawn": 1, "stories_moved": 0,
    }
    assert [(r["event_id"], r["change"], r["size"]) for r in report.events_touched] == [("E1", "updated", 2), ("E0", "withdrawn", 0)]
    assert "| `x.jsonl:3` | malformed JSON |" in report.markdown
    assert "old.txt" not in report.markdown
    assert "Pipe \\| in headline" in report.markdown
