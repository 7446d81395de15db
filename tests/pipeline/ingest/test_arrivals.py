"""Arrivals: new stories, versions and withdrawal notices applied to a stored state, without touching it."""
import copy
import dataclasses
from datetime import datetime, timezone

from pipeline.ingest.arrivals import arrive, split_notices
from pipeline.ingest.normalize import normalize
from pipeline.records import DuplicateEdge, RawStory
from pipeline.store.state import StoredState

T0 = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)


def stored(*stories):
    """A state holding `stories`, each its own event; "copy" stories are copies of "orig"."""
    articles = normalize(list(stories), T0)
    by_guid = {a.source_id: a for a in articles}
    group_of = {a.article_id: a.article_id for a in articles}
    edges = []
    if "copy" in by_guid and "orig" in by_guid:
        group_of[by_guid["copy"].article_id] = by_guid["orig"].article_id
        edges.append(DuplicateEdge(by_guid["copy"].article_id, by_guid["orig"].article_id, 0.9, "minhash", 0.9, 0.9, 0.9, "r"))
    state = dataclasses.replace(StoredState.empty(), articles=articles, group_of=group_of, duplicate_edges=edges,
                                event_of={a.article_id: f"e_{a.source_id}" for a in articles})
    return state, by_guid


def test_a_new_version_takes_over_the_event_and_the_state_given_is_untouched():
    state, by_guid = stored(RawStory("g", "First draft of the story.", version=1), RawStory("h", "Another story."))
    before = copy.deepcopy(state)
    arrivals = arrive(state, [RawStory("g", "Second draft of the story.", version=2), RawStory("h", "Another story.")],
                      [], T0)
    assert state == before  # a retried stage starts from the same input
    (new,) = arrivals.new
    assert new.version == 2 and arrivals.state.event_of[new.article_id] == "e_g"
    assert by_guid["g"].article_id not in arrivals.state.event_of
    assert arrivals.n_known == 1 and arrivals.n_superseded == 1
    assert [s.article.article_id for s in arrivals.shelved] == [by_guid["g"].article_id]


def test_a_withdrawn_canonical_hands_its_group_and_event_to_its_copy():
    state, by_guid = stored(RawStory("orig", "The original wire story."), RawStory("copy", "The original wire story, copied."))
    before = copy.deepcopy(state)
    stories, notices = split_notices([RawStory("orig", "", pubstatus="canceled")])
    arrivals = arrive(state, stories, notices, T0)
    assert state == before
    heir = by_guid["copy"].article_id
    assert [a.article_id for a in arrivals.current] == [heir]
    assert arrivals.state.group_of == {heir: heir} and arrivals.state.duplicate_edges == []
    assert arrivals.state.event_of == {heir: "e_copy"}  # its own event kept (in a store, its canonical's)
    (notice,) = arrivals.notices
    assert notice.taken_down == by_guid["orig"].article_id and notice.event_id == "e_orig"
    assert arrivals.n_withdrawn == 1 and arrivals.shelved[0].superseded_by is None


def test_text_emptied_by_normalization_is_a_reject_with_its_origin():
    arrivals = arrive(StoredState.empty(), [RawStory("x", "Advertisement\nSkip to content", origin="feed.xml#x")], [], T0)
    assert arrivals.new == [] and [(r.origin, r.reason) for r in arrivals.rejects] == [
        ("feed.xml#x", "no story text left after removing boilerplate")]
