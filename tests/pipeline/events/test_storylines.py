from datetime import datetime, timezone

import numpy as np

from pipeline.config import StorylineConfig
from pipeline.events.storylines import assign_storylines
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
