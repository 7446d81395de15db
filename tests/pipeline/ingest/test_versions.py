from datetime import datetime, timedelta, timezone

from pipeline.ingest.normalize import normalize
from pipeline.ingest.versions import Stamp, Withdrawal, merge_versions, take_down
from pipeline.records import RawStory

T0 = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)


def story(guid, body, version=None, updated=None):
    return RawStory(source_id=guid, body=body, version=version, updated_at=updated)


def test_the_newest_version_is_current_whatever_the_arrival_order():
    v1, v2, v3 = normalize([story("g", "First draft.", 1), story("g", "Second draft.", 2), story("g", "Third.", 3)])
    current, shelved = merge_versions([v2], [v3, v1])  # v1 arrives late
    assert current == [v3]
    assert {(s.article.article_id, s.superseded_by) for s in shelved} == {(v2.article_id, v3.article_id), (v1.article_id, v3.article_id)}


def test_update_time_orders_versions_without_numbers_and_other_stories_are_untouched():
    old, new, other = normalize([story("g", "Old text.", updated=T0), story("g", "New text.", updated=T0 + timedelta(hours=1)),
                                 story("h", "Other story.")])
    current, shelved = merge_versions([new, other], [old])
    assert current == [new, other] and shelved[0].article is old


def test_same_text_in_a_new_version_is_a_new_article():
    a, b = normalize([story("g", "Same words.", 1), story("g", "Same words.", 2)])
    assert a.content_hash == b.content_hash and a.article_id != b.article_id


def notice(guid, version=None, updated=None, status="withheld"):
    return Withdrawal(guid, status, version, updated)


def test_a_notice_takes_down_what_it_covers_and_holds_for_later_arrivals():
    v1, v2, v3, other = normalize([story("g", "First.", 1), story("g", "Second.", 2), story("g", "Third.", 3),
                                   story("h", "Other story.")])
    kept, down, recorded = take_down([v2, other], [notice("g", 2)], [], {})
    assert (kept, down) == ([other], [v2]) and recorded[0].taken_down == v2.article_id
    # stored notice in force: an older version arriving later stays down, a newer one is back
    kept, down, recorded = take_down([v1, other], [notice("g", 2)], recorded, {})
    assert (kept, down, recorded) == ([other], [v1], [])  # the repeated notice is not recorded twice
    kept, down, _ = take_down([v3, other], [], [notice("g", 2)], {})
    assert (kept, down) == ([v3, other], [])


def test_a_notice_covers_versions_not_known_newer_and_an_unversioned_one_stands_for_what_it_took_down():
    old, new = normalize([story("g", "Old text.", updated=T0), story("g", "New text.", updated=T0 + timedelta(hours=2))])
    kept, down, _ = take_down([new], [notice("g", updated=T0 + timedelta(hours=1))], [], {})
    assert (kept, down) == ([new], [])  # the notice is older than the version held
    kept, down, recorded = take_down([old], [notice("g", status="canceled")], [], {})
    assert down == [old] and recorded[0].taken_down == old.article_id
    shelved = {old.article_id: Stamp(None, T0)}
    assert take_down([new], [], recorded, shelved)[:2] == ([new], [])  # newer than what it took down
    assert take_down([new], [], [notice("g")], {})[:2] == ([], [new])  # took nothing down: holds for all
