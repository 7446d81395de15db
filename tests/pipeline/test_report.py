"""Report: which events a run created, updated or merged, and the operator's summary of it."""
from datetime import datetime, timezone

from pipeline import store
from pipeline.report import event_changes, run_report, summary_text, with_run_figures


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
             "n_withdrawn": 1, "n_articles_total": 2, "n_input_files": 2, "n_inputs_seen": 4},
        ]),
        "rejects": store.to_table("rejects", [
            {"run_id": "r1", "origin": "old.txt", "reason": "empty file", "rejected_at": t},
            {"run_id": "r2", "origin": "x.jsonl:3", "reason": "malformed JSON", "rejected_at": t},
        ]),
    }
    report = run_report(tables, "r2", {"a": "E1", "z": "E0"})  # z was taken down in this run
    assert report.counts == {
        "stories_in": 3, "new_articles": 1, "already_stored": 1, "superseded": 0, "taken_down": 1, "inputs_read": 2,
        "inputs_seen": 4, "outside_window": 0, "duplicates_found": 1, "exact_duplicates": 1, "rejects": 1,
        "events_total": 1, "articles_total": 2, "storylines_total": 0, "events_created": 0, "events_updated": 1,
        "events_split": 0, "events_merged": 0, "events_withdrawn": 1, "stories_moved": 0,
    }
    assert [(r["event_id"], r["change"], r["size"]) for r in report.events_touched] == [("E1", "updated", 2), ("E0", "withdrawn", 0)]
    assert "| `x.jsonl:3` | malformed JSON |" in report.markdown
    assert "old.txt" not in report.markdown
    assert "Pipe \\| in headline" in report.markdown


def test_event_changes_tells_a_split_from_an_update():
    before = {"a": "E1", "b": "E1", "c": "E1", "d": "E2"}
    after = {"a": "E1", "b": "E3", "c": "E2", "d": "E2"}  # E1 gave b to a new event and c to E2
    assert event_changes(before, after) == {"E1": ("split", []), "E2": ("updated", []), "E3": ("created", [])}


def store_tables(articles: dict[str, str], events: dict[str, tuple[str, int]], run: dict) -> dict:
    """Tables of a run over `articles` (id -> event) and `events` (id -> (headline, size))."""
    t = datetime(2017, 4, 21, tzinfo=timezone.utc)
    article = dict(text="one two three", original_text="t", source="", url="", published_at=t, ingested_at=t,
                   content_hash="h", canonical_reason="", is_canonical=True)
    return {
        "articles": store.to_table("articles", [{**article, "article_id": a, "source_id": a, "dup_group_id": a,
                                                 "title": f"Story {a}", "event_id": e} for a, e in articles.items()]),
        "duplicates": store.to_table("duplicates", []),
        "events": store.to_table("events", [{"event_id": e, "headline": h, "size": n, "n_sources": 0, "first_seen": t,
                                             "last_seen": t, "status": "active"} for e, (h, n) in events.items()]),
        "storylines": store.to_table("storylines", []),
        "runs": store.to_table("runs", [{"run_id": "r1", "n_stories_read": 0, "n_new_articles": 0, "n_already_stored": 0,
                                         "n_events": len(events), "n_articles_total": len(articles), **run}]),
        "rejects": store.to_table("rejects", []),
    }


def test_a_recluster_report_names_the_split_the_new_event_and_the_story_moved():
    headline = "A headline long enough that a report cutting it at ninety characters would lose its last words: here"
    tables = store_tables({"a": "E1", "b": "E9"}, {"E1": ("First", 1), "E9": (headline, 1)}, {"kind": "recluster"})
    report = run_report(tables, "r1", {"a": "E1", "b": "E1"})
    assert report.kind == "recluster"
    assert [(r["event_id"], r["change"], r["size_before"], r["size"], r["detail"]) for r in report.events_touched] == [
        ("E1", "split", 2, 1, "gave 1 to E9"), ("E9", "created", 0, 1, "took 1 from E1")]
    assert report.stories_moved == [{"article_id": "b", "story": "Story b", "from_event": "E1", "from_headline": "First",
                                     "to_event": "E9", "to_headline": headline}]
    assert "| split | `E1` | 2 → 1 | First | gave 1 to E9 |" in report.markdown
    assert "| Story b | `E1` First | `E9` " + headline + " |" in report.markdown
    assert "```" not in report.markdown
    text = summary_text(report, "r1")
    assert text.splitlines()[0] == "storyflow recluster r1: 1 event split, 0 merged, 1 created; 1 story moved"
    assert headline in text  # in full
    assert "E1 → E9: Story b" in text


def test_a_rerun_over_what_was_ingested_says_nothing_is_new():
    tables = store_tables({"a": "E1"}, {"E1": ("First", 1)}, {"kind": "ingest", "n_input_files": 0, "n_inputs_seen": 5})
    report = run_report(tables, "r1", {"a": "E1"})
    text = summary_text(report, "r1")
    assert text.splitlines()[0] == "storyflow ingest r1: nothing new: 5 inputs already ingested"
    assert "Events this run touched" not in text
    assert text.splitlines()[-1] == "Store after the run: 1 story, 1 event, 0 storylines"
    assert "**nothing new: 5 inputs already ingested**" in report.markdown


def test_the_events_listed_are_this_runs_only_and_can_be_capped():
    events = {f"E{i}": (f"Event {i}", 1) for i in range(5)}
    tables = store_tables({f"a{i}": f"E{i}" for i in range(5)}, events, {"kind": "ingest", "n_stories_read": 3,
                                                                         "n_new_articles": 3, "n_input_files": 1})
    report = run_report(tables, "r1", {"a0": "E0", "a1": "E1"})  # E0 and E1 were there before
    assert [r["event_id"] for r in report.events_touched] == ["E2", "E3", "E4"]
    text = summary_text(report, "r1", show=2)
    assert "Event 2" in text and "Event 3" in text and "Event 4" not in text and "Event 0" not in text
    assert "… and 1 more" in text


def test_the_runs_row_gets_the_reports_per_run_figures():
    tables = store_tables({"a": "E1", "b": "E9"}, {"E1": ("First", 1), "E9": ("Second", 1)}, {"kind": "recluster"})
    report = run_report(tables, "r1", {"a": "E1", "b": "E1"})
    (row,) = with_run_figures(tables["runs"], "r1", report.counts).to_pylist()
    assert (row["n_events_split"], row["n_events_created"], row["n_stories_moved"], row["n_new_copies"]) == (1, 1, 1, 0)
    assert row["n_events"] == 2  # the store's total is left as it was


def test_a_file_refused_for_its_size_names_the_setting_that_allows_it():
    tables = store_tables({}, {}, {"kind": "ingest", "n_input_files": 1, "n_rejects": 1})
    tables["rejects"] = store.to_table("rejects", [{"run_id": "r1", "origin": "/in/big.jsonl",
                                                     "reason": "file too large: 22000000 bytes > limit 20000000"}])
    text = summary_text(run_report(tables, "r1", {}), "r1")
    assert text.splitlines()[0] == "storyflow ingest r1: nothing stored: every input was rejected (1 reject)"
    assert "/in/big.jsonl: file too large" in text and "STORYFLOW_INGEST__MAX_INPUT_BYTES" in text
