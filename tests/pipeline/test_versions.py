from datetime import datetime, timedelta, timezone

from pipeline.normalize import normalize
from pipeline.records import RawStory
from pipeline.versions import merge_versions

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
