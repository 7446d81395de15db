"""The capitalisation-phrase name extractor: whole names, their kinds, no sentence openers or dates."""
from __future__ import annotations

from pipeline.events.names import ORGANISATION, OTHER, PERSON, PLACE, is_demonym, mentions, names_of


def found(text, ordinary=frozenset()):
    return [(m.name, m.kind) for m in mentions(text, ordinary)]


def test_runs_of_capitalised_words_are_whole_names_with_their_kind():
    text = ("Actress Lindsay Lohan checked into the Betty Ford Center in Rancho Mirage on Thursday. "
            "The Bank of America said the FBI was in Newport Beach, California.")
    assert found(text) == [("Lindsay Lohan", PERSON), ("Betty Ford Center", ORGANISATION), ("Rancho Mirage", OTHER),
                           ("Bank of America", ORGANISATION), ("FBI", ORGANISATION), ("Newport Beach", PLACE),
                           ("California", PLACE)]


def test_titles_dates_sentence_openers_and_demonyms_are_not_names():
    text = "But Police said Attorney General Jeff Sessions flew on Nov. 8. Officials on the Iranian island agreed."
    assert found(text, ordinary={"police", "officials"}) == [("Jeff Sessions", PERSON)]
    assert is_demonym("Iranian") and is_demonym("Chinese") and not is_demonym("Iran") and not is_demonym("Brian")
    # a line in title case or all capitals is a headline or a stamp: its capitals say nothing
    assert found("PUBLISHED : THURSDAY , MAY 2 , 2013\nLohan Checks Into Rehab At Betty Ford Clinic") == []


def test_a_surname_used_alone_is_the_person_and_folds_into_the_full_name():
    docs = ["Jeff Sessions spoke in Chicago. Sessions said the city must comply.",
            "Sessions threatened Chicago again.", "Mark Teixeira signed. The Boston Red Sox lost him; Teixeira smiled."]
    names = names_of(docs, ordinary={"the"})
    assert names.documents["Jeff Sessions"] == 2 and "Sessions" not in names.documents
    assert names.kind["Jeff Sessions"] == PERSON and names.kind["Mark Teixeira"] == PERSON
    assert names.kind["Boston Red Sox"] == ORGANISATION  # a team named after its city, not a person
    assert names.of_kind(PLACE, 5) == ["Chicago"]
    assert names.of_kind(PERSON, 1) == ["Jeff Sessions"]  # most named first


def test_capitalised_ordinary_words_are_dropped():
    docs = ["Rescue teams arrived. The rescue took hours in Qeshm."]
    names = names_of(docs)
    assert "Rescue" not in names.documents and "Qeshm" in names.documents
