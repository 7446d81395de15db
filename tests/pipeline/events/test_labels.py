"""Event headlines: titles first, lead sentences that skip datelines and bylines and do not stop at "Gov."."""
from datetime import datetime, timezone

import numpy as np

from pipeline.dedup import DuplicateResult
from pipeline.events.assign import EventResult
from pipeline.events.labels import event_labels, headline_of, is_dateline, keywords, lead_sentence
from pipeline.records import Article
from pipeline.store import empty_table
from pipeline.store.tables import event_rows

WHEN = datetime(2024, 3, 1, tzinfo=timezone.utc)


def story(article_id: str, title: str, text: str) -> Article:
    return Article(article_id, article_id, title, text, text, "Wire", "", WHEN, WHEN, article_id)


def test_datelines_and_bylines_are_told_from_headlines():
    for line in ("27 NOVEMBER, 2005", "Last Updated: Monday, 28 November 2005, 02: 24 GMT", "11 / 09 / 2010",
                 "10: 24 AM, MON 22 JUL 2013", "Updated: May 16, 2005, 6:03 p.m. ET", "By JANE DOE, Associated Press"):
        assert is_dateline(line), line
    for line in ("Earthquake levels villages on Qeshm", "2,000 homes without power", "May Day marches end in clashes",
                 "Bystanders pull driver from burning car on Monday"):
        assert not is_dateline(line), line


def test_the_lead_sentence_skips_datelines_and_reads_past_abbreviations():
    text = ("16 September 2013 Last updated at 12: 42 GMT\nBy Jane Doe\n"
            "Gov. Sarah Palin's church in Wasilla, Alaska, burned on Dec. 12, U.S. officials said. Arson is suspected.")
    assert lead_sentence(text) == "Gov. Sarah Palin's church in Wasilla, Alaska, burned on Dec. 12, U.S. officials said."
    assert lead_sentence("John F. Kennedy Airport reopened. Flights resumed.") == "John F. Kennedy Airport reopened."
    assert lead_sentence('"We are safe." Residents returned home.') == '"We are safe."'
    long = "A " + "very " * 60 + "long sentence."
    cut = lead_sentence(long, limit=50)
    assert len(cut) <= 50 and cut.endswith("very…")
    assert lead_sentence("27 NOVEMBER, 2005") == "27 NOVEMBER, 2005"  # nothing better to offer


def test_the_lead_sentence_drops_a_wire_dateline():
    assert lead_sentence("(CNN) The Justice Department ramped up its threat. More.") == "The Justice Department ramped up its threat."
    assert lead_sentence("NEW YORK (Reuters) - Officials met on Tuesday. More.") == "Officials met on Tuesday."
    assert lead_sentence("LONDON, March 3 (AP) — Shares fell. More.") == "Shares fell."
    assert lead_sentence("WASHINGTON — The Senate passed the bill. More.") == "The Senate passed the bill."
    # a tokenized hyphen after capitals, or parentheses inside a sentence, are no dateline
    assert lead_sentence("A FIRE - BOMB attack killed three. More.") == "A FIRE - BOMB attack killed three."
    assert lead_sentence("Sessions (R-Ala.) spoke on Friday. More.") == "Sessions (R-Ala.) spoke on Friday."


def test_a_title_that_is_only_a_date_is_no_headline():
    assert headline_of(story("a", "27 NOVEMBER, 2005", "A quake hit Qeshm on Sunday. Ten died.")) == "A quake hit Qeshm on Sunday."
    assert headline_of(story("b", "Quake hits Qeshm", "27 NOVEMBER, 2005\nA quake hit Qeshm.")) == "Quake hits Qeshm"


def test_an_event_takes_the_headline_of_its_most_central_titled_story():
    axis = np.eye(4, dtype=np.float32)
    # "centre" is closest to the others but has no title; of the titled ones "near" is more central
    vectors = {"centre": axis[0], "near": (axis[0] + 0.6 * axis[1]), "far": (axis[0] + 1.5 * axis[2]), "untitled": axis[3]}
    vectors = {k: v / np.linalg.norm(v) for k, v in vectors.items()}
    articles = [story("centre", "", "Last updated at 12:42 GMT\nA quake hit Qeshm island on Sunday."),
                story("near", "Quake levels villages on Qeshm", "A quake hit Qeshm."),
                story("far", "Gulf states feel tremor", "Buildings shook in Dubai."),
                story("untitled", "", "Relief teams reached the island.")]
    dups = DuplicateResult([], {a.article_id: a.article_id for a in articles}, "only copy")
    one_event = EventResult({a.article_id: "e1" for a in articles}, {}, {"e1": "s1"})
    (row,) = event_rows(articles, dups, vectors, one_event, empty_table("events"))
    assert row["headline"] == "Quake levels villages on Qeshm" and row["representative_article_id"] == "near"
    # with no titled story at all, the most central story's lead sentence, its dateline skipped
    untitled = [story(a.article_id, "", a.text) for a in articles]
    (row,) = event_rows(untitled, dups, vectors, one_event, empty_table("events"))
    assert row["headline"] == "A quake hit Qeshm island on Sunday." and row["representative_article_id"] == "centre"


def test_keywords_are_names_that_set_a_group_apart_with_its_people_and_places():
    quake = ["A strong quake struck Ferndale on Nov. 8; officials in Humboldt County said power was out.",
             "Ferndale and Eureka lost power after the quake, Humboldt County sheriff Mike Downey said. "
             "Downey asked residents to stay home."]
    senate = ["The Senate passed the bill on Tuesday. Attorney General Jeff Sessions welcomed the vote.",
              "Sessions, who spoke in Washington, said the Senate had acted. Jun. 4 is the deadline."]
    quake_labels, senate_labels = event_labels([quake, senate])
    assert quake_labels.keywords[:2] == ["Humboldt County", "Ferndale"]
    assert "Mike Downey" in quake_labels.keywords and "Downey" not in quake_labels.keywords  # the surname folds in
    assert senate_labels.keywords[0] == "Jeff Sessions" and "Sessions" not in senate_labels.keywords
    assert senate_labels.people == ["Jeff Sessions"] and quake_labels.people == ["Mike Downey"]
    assert "Senate" in senate_labels.organisations and "Washington" in senate_labels.places
    assert "Humboldt County" in quake_labels.places and "Downey" not in quake_labels.places
    shown = {w.lower() for labels in (quake_labels, senate_labels) for w in labels.keywords}
    # no months, days, stop words or sentence openers
    assert not shown & {"nov", "jun", "tuesday", "the", "a", "officials", "attorney general"}
    assert keywords([quake, senate]) == [quake_labels.keywords, senate_labels.keywords]
