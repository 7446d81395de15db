import random
from datetime import datetime, timedelta, timezone

import pytest

from pipeline.dedup import find_duplicates
from pipeline.dedup.quality import damage, length_step, vocabulary
from pipeline.events.assign import EventResult
from pipeline.ingest.normalize import normalize
from pipeline.records import RawStory
from pipeline.store.schema import to_table
from pipeline.store.tables import event_rows
from tests.support import synth
from tests.support.archive import load

T0 = datetime(2013, 5, 1, tzinfo=timezone.utc)


def test_damage_reads_scans_and_scrambles_as_worse_than_the_text(seed_stories):
    text = seed_stories[2].body
    rng = random.Random(3)
    scanned, scrambled = synth.ocr_noise(text, rng, 0.5), synth.garble(text, rng, 0.5)
    vocab = vocabulary([text, scanned, scrambled, seed_stories[1].body])
    assert damage(text, vocab) < 0.05
    assert damage(scanned, vocab) > damage(text, vocab) + 0.1
    assert damage(scrambled, vocab) > damage(text, vocab) + 0.1
    # a trimmed copy is no cleaner than its original: the tail it lost is no damage of the original's
    trimmed = synth.trim(text, rng, 0.5)
    assert damage(text, vocabulary([text, trimmed])) < 0.05


def test_a_scanned_copy_is_no_longer_than_its_original_for_misreading_a_passage_it_repeats():
    # a story that quotes one passage twice; the scanner misreads letters as digits in the second
    # quote only, so the copy's two quotes are no longer the same words
    passage = ("the minister said the port would stay open through the storm and that ferry crews "
               "were told to follow the harbour office on every crossing made before noon tomorrow")
    original = f"{passage}. Officials later repeated the statement: {passage}."
    misread = " ".join(w.replace("o", "0") if i % 3 == 0 else w for i, w in enumerate(passage.split()))
    scanned = f"{passage}. Officials later repeated the statement: {misread}."
    assert length_step(scanned) <= length_step(original)


@pytest.fixture(scope="module")
def dev_event():
    rows = load()
    by_event: dict = {}
    for r in rows:
        if r["title"].strip() and len(r["body"].split()) >= 150:
            by_event.setdefault(r["event"], []).append(r)
    return next(stories for _, stories in sorted(by_event.items()) if len(stories) >= 2)


def test_scrambled_and_scanned_copies_fold_under_the_clean_original_which_heads_the_event(dev_event):
    original, other = dev_event[:2]
    rng = random.Random(21)

    def story(sid, body, title, hours, source):
        return RawStory(source_id=sid, body=body, title=title, source=source, published_at=T0 + timedelta(hours=hours))
    stories = [
        story("original", original["body"], original["title"], 10, "wire"),
        # the damaged copies were published first, as scrapers and scans of an early edition are
        story("scrambled", synth.garble(original["body"], rng, 0.5, donor=other["body"]), original["title"], 1,
              "scraper"),
        story("scanned", synth.ocr_noise(original["body"], rng, 0.5), original["title"], 2, "archive"),
        # and the event's other story reached us only as a scrambled copy, published earliest of all
        story("orphan", synth.garble(other["body"], rng, 0.8, donor=original["body"]), other["title"], 0, "scraper"),
    ]
    articles = normalize(stories, T0)
    id_of = {a.source_id: a.article_id for a in articles}
    dups = find_duplicates(articles)
    assert dups.group_of[id_of["scrambled"]] == id_of["original"]
    assert dups.group_of[id_of["scanned"]] == id_of["original"]
    assert dups.group_of[id_of["original"]] == id_of["original"]
    assert dups.group_of[id_of["orphan"]] == id_of["orphan"]  # another story of the event

    events = EventResult({a.article_id: "e" for a in articles}, {}, {"e": "s"})
    (row,) = event_rows(articles, dups, {}, events, to_table("events", []))
    assert row["representative_article_id"] == id_of["original"]
    assert row["headline"] == next(a.title for a in articles if a.source_id == "original")


def test_the_original_leads_copies_published_before_it(seed_stories):
    # a trimmed and a re-wrapped copy, as clean as their original and both out before it: the
    # original, the one in the middle of them, heads the group
    original = seed_stories[2]
    rng = random.Random(5)
    stories = [original,
               copy_of_at(original, "trimmed", synth.trim(original.body, rng, 0.3), -5),
               copy_of_at(original, "wrapped", synth.rewrap(original.body, rng, 0.5), -4)]
    articles = normalize(stories)
    dups = find_duplicates(articles)
    lead = articles[0].article_id
    assert all(dups.group_of[a.article_id] == lead for a in articles)
    assert sorted(e.article_id for e in dups.edges) == sorted(a.article_id for a in articles[1:])
    assert all(e.duplicate_of == lead and e.rule for e in dups.edges)


def copy_of_at(story: RawStory, tag: str, body: str, hours: float) -> RawStory:
    return RawStory(source_id=f"{story.source_id}~{tag}", body=body, title=story.title, source="Copydesk",
                    published_at=story.published_at + timedelta(hours=hours))
