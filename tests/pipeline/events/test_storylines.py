from datetime import datetime, timezone

import numpy as np
import pytest

from pipeline.config import StorylineConfig
from pipeline.events.storylines import assign_storylines
from pipeline.ingest.normalize import normalize
from pipeline.records import RawStory
from pipeline.store.tables import storyline_rows


def test_related_events_share_a_storyline_and_ids_carry_over():
    s = StorylineConfig()
    topic_a, topic_b = np.array([1.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    near_a = np.array([0.9, 0.1, 0.0]) / np.linalg.norm([0.9, 0.1, 0.0])
    vectors = {"a1": topic_a, "a2": near_a, "b1": topic_b}
    event_of = {"a1": "e1", "a2": "e2", "b1": "e3"}
    when = dict.fromkeys(["e1", "e2", "e3"], datetime(2020, 1, 1, tzinfo=timezone.utc))
    first = assign_storylines(event_of, vectors, when, {}, set(), s)
    assert first["e1"] == first["e2"] != first["e3"]
    # a later run with a new event on topic b keeps both storyline ids
    vectors["b2"], event_of["b2"], when["e4"] = topic_b, "e4", when["e3"]
    second = assign_storylines(event_of, vectors, when, first, set(first.values()), s)
    assert second["e1"] == first["e1"] and second["e4"] == second["e3"] == first["e3"]


def test_a_run_groups_again_only_the_events_near_its_new_ones_in_time():
    tight = StorylineConfig(window_days=30, distance=0.05)
    topic = np.array([1.0, 0.0, 0.0])
    vectors = {"old": topic, "recent": topic}
    event_of = {"old": "e_old", "recent": "e_recent"}
    day = datetime(2020, 6, 1, tzinfo=timezone.utc)
    when = {"e_old": day.replace(month=1), "e_recent": day}
    first = assign_storylines(event_of, vectors, when, {}, set(), tight)
    assert first["e_old"] != first["e_recent"]  # 150 days apart: the time penalty keeps them apart at this cut
    # a new event on the same topic, a day after the recent one: grouped with it; the old event is
    # not looked at again (it would join at a looser cut), and keeps its storyline
    vectors["new"], event_of["new"], when["e_new"] = topic, "e_new", day.replace(day=2)
    loose = StorylineConfig(window_days=30, distance=0.99)
    second = assign_storylines(event_of, vectors, when, first, set(first.values()), loose)
    assert second["e_new"] == second["e_recent"] == first["e_recent"] and second["e_old"] == first["e_old"]
    everything = assign_storylines(event_of, vectors, when, first, set(first.values()),
                                   StorylineConfig(window_days=365, distance=0.99))
    assert everything["e_old"] == everything["e_new"]  # within reach, the old event is grouped again
    # a run with no new event groups nothing again
    assert assign_storylines(event_of, vectors, when, second, set(second.values()), loose) == second


def test_storyline_keywords_put_shared_terms_first_then_the_largest_events_own():
    when = datetime(2020, 1, 1, tzinfo=timezone.utc)

    def event(event_id, size, keywords):
        return {"event_id": event_id, "storyline_id": "s1", "headline": f"headline {event_id}", "size": size,
                "first_seen": when, "last_seen": when, "keywords": keywords}

    events = [event("big", 9, ["tallgrass", "fanning", "vancouver", "shooting"]),
              event("mid", 5, ["kraft", "hiller", "shooting"]),
              event("small", 2, ["accounting", "advisors", "shooting"])]
    (row,) = storyline_rows(events)
    assert row["keywords"] == ["shooting", "tallgrass", "fanning", "vancouver", "kraft", "hiller", "accounting", "advisors"]
    assert row["headline"] == "headline big" and row["n_events"] == 3 and row["size"] == 16


def embedded(articles):
    from pipeline.config import EmbeddingConfig
    from pipeline.events import embed

    return dict(zip((a.article_id for a in articles), embed.embed(articles, EmbeddingConfig())))


def storylines_of(groups: list[list], vectors: dict, with_names: bool = True) -> list[str]:
    """Storyline of each group of articles (one event per group), in group order."""
    from pipeline.events.similarity import story_document

    event_of = {a.article_id: f"e{k}" for k, group in enumerate(groups) for a in group}
    when = {f"e{k}": min(a.published_at or a.ingested_at for a in group) for k, group in enumerate(groups)}
    documents = {a.article_id: story_document(a) for group in groups for a in group} if with_names else None
    storyline = assign_storylines(event_of, vectors, when, {}, set(), StorylineConfig(), documents)
    return [storyline[f"e{k}"] for k in range(len(groups))]


@pytest.mark.slow
def test_the_seeds_three_events_are_one_storyline(seed_stories):
    articles = normalize(seed_stories)
    by_seed = {a.source_id[:3]: a for a in articles}
    groups = [[by_seed["000"], by_seed["001"], by_seed["002"]], [by_seed["003"]], [by_seed["004"]]]
    assert len(set(storylines_of(groups, embedded(articles)))) == 1


QUAKES = {
    "japan": ["A magnitude 6.8 earthquake struck near Sendai on Tuesday, shaking homes and cutting power; "
              "Miyagi officials said two people were hurt and no tsunami was expected.",
              "The 6.8 earthquake near Sendai cracked roads and cut power to homes in Miyagi on Tuesday; "
              "two people were hurt, officials said, and no tsunami was expected."],
    "chile": ["A magnitude 6.5 earthquake struck near Antofagasta on Tuesday, shaking homes and cutting power; "
              "Calama officials said three people were hurt and no tsunami was expected.",
              "The 6.5 earthquake near Antofagasta cracked roads and cut power to homes in Calama on Tuesday; "
              "three people were hurt, officials said, and no tsunami was expected."],
}


@pytest.mark.slow
def test_two_earthquakes_in_different_countries_are_two_storylines():
    when = datetime(2024, 3, 5, tzinfo=timezone.utc)
    groups = [normalize([RawStory(source_id=f"{place}{i}", body=text, published_at=when)
                         for i, text in enumerate(texts)], when) for place, texts in QUAKES.items()]
    vectors = embedded([a for group in groups for a in group])
    japan, chile = storylines_of(groups, vectors)
    assert japan != chile
    # what keeps them apart is the names: on embeddings alone the two quakes are one storyline
    assert len(set(storylines_of(groups, vectors, with_names=False))) == 1
