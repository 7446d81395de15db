from dataclasses import replace
from datetime import timedelta

import pytest

from pipeline import synth
from pipeline.near_duplicates import MinHasher, find_duplicates, fingerprint, verify, DuplicateRules
from pipeline.normalize import normalize
from pipeline.records import RawStory


def copy_of(story: RawStory, kind: str, body: str) -> RawStory:
    # copies arrive later than their original, from another outlet
    return replace(story, source_id=f"{story.source_id}~{kind}", body=body, source="Copydesk",
                   published_at=story.published_at + timedelta(hours=3))


def damaged_copies(seeds, rng, strength=0.3):
    garbled_donor = seeds[0].body  # names and spans from another story, as in seed 000
    copies = []
    for original in seeds[1:]:
        copies.append(copy_of(original, "garble", synth.garble(original.body, rng, strength, donor=garbled_donor)))
        copies.append(copy_of(original, "trim", synth.trim(original.body, rng, 0.5)))
        copies.append(copy_of(original, "rewrap", synth.rewrap(original.body, rng, 0.5)))
        copies.append(copy_of(original, "ocr", synth.ocr_noise(original.body, rng, strength)))
    return copies


def test_no_two_seeds_are_duplicates(seed_stories):
    result = find_duplicates(normalize(seed_stories))
    assert result.edges == []
    assert all(result.group_of[k] == k for k in result.group_of)


def test_damaged_copies_fold_under_their_own_original(seed_stories, rng):
    copies = damaged_copies(seed_stories, rng)
    articles = normalize(seed_stories + copies)
    original_of = {a.article_id: a.source_id.split("~")[0] for a in articles}
    result = find_duplicates(articles)

    assert len(result.edges) == len(copies)
    for edge in result.edges:
        # every copy points at its own original, which is the canonical story
        assert original_of[edge.article_id] == original_of[edge.duplicate_of]
        assert "~" not in next(a.source_id for a in articles if a.article_id == edge.duplicate_of)
        assert edge.rule and edge.method in ("minhash", "exact")
    # the originals stay apart from each other
    assert len(set(result.group_of.values())) == len(seed_stories)


def test_exact_copy_is_found_by_hash(seed_stories):
    original = seed_stories[3]
    twin = replace(original, source_id="twin", body=original.body.replace("  ", " ") + "\n\n",
                   published_at=original.published_at + timedelta(days=1))
    result = find_duplicates(normalize([original, twin]))
    (edge,) = result.edges
    assert edge.method == "exact" and edge.similarity == 1.0


def test_same_event_articles_sharing_quotes_are_not_duplicates(seed_stories):
    a, b = normalize(seed_stories[1:3])
    scores, rule = verify(fingerprint(a, 3), fingerprint(b, 3), DuplicateRules())
    assert rule is None and scores.jaccard < 0.1


def test_batch_minhash_estimates_jaccard():
    hasher = MinHasher(num_perm=256, seed=3)
    a = {f"w{i}" for i in range(300)}
    b = {f"w{i}" for i in range(150, 450)}  # true Jaccard 1/3
    estimate = hasher.minhash(a).jaccard(hasher.minhash(b))
    assert estimate == pytest.approx(1 / 3, abs=0.08)
