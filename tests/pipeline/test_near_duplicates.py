import random
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest
from datasketch import MinHash

from pipeline import job, store, synth
from pipeline.near_duplicates import (
    DuplicateParams, DuplicateRules, MinHasher, candidate_pairs, find_duplicates, fingerprint, gram_codes,
    update_duplicates, verify, words_and_paragraphs,
)
from pipeline.normalize import normalize
from pipeline.records import RawStory


def copy_of(story: RawStory, tag: str, body: str, hours: float = 3) -> RawStory:
    # copies arrive later than their original, from another outlet
    return replace(story, source_id=f"{story.source_id}~{tag}", body=body, source="Copydesk",
                   published_at=story.published_at + timedelta(hours=hours))


def test_no_two_seeds_are_duplicates(seed_stories):
    result = find_duplicates(normalize(seed_stories))
    assert result.edges == []
    assert all(result.group_of[k] == k for k in result.group_of)


@pytest.mark.parametrize("strength", list(synth.STRENGTHS))
@pytest.mark.parametrize("kind", synth.KINDS)
def test_each_kind_of_damage_folds_under_its_own_original(seed_stories, kind, strength):
    # donor: seed 000, same event as 001 and 002 (shared names and quotes), as hard as it gets
    rng = random.Random(f"{kind}/{strength}")
    originals = seed_stories[1:]
    copies = [copy_of(o, kind, synth.damage(o.body, kind, strength, rng, donor=seed_stories[0].body))
              for o in originals]
    articles = normalize(seed_stories + copies)
    original_of = {a.article_id: a.source_id.split("~")[0] for a in articles}
    result = find_duplicates(articles)

    found = sorted(original_of[e.article_id] for e in result.edges)
    assert len(set(found)) == len(found)
    # heavy damage may cost one of four copies (heavy garble recall is about 0.84, heavy mixed 0.92 on
    # ECB+ dev, see bench/near_duplicates.py); lighter damage none
    assert len(found) >= len(originals) - (strength == "heavy")
    for edge in result.edges:
        assert original_of[edge.duplicate_of] == original_of[edge.article_id]  # its own original...
        assert edge.duplicate_of in {a.article_id for a in articles if "~" not in a.source_id}  # ...as canonical
        assert edge.rule and edge.method == "minhash"
    seeds = [a.article_id for a in articles if "~" not in a.source_id]
    assert len({result.group_of[k] for k in seeds}) == len(seed_stories)  # the originals stay apart


def test_exact_copy_is_found_by_hash(seed_stories):
    original = seed_stories[3]
    twin = replace(original, source_id="twin", body=original.body.replace("  ", " ") + "\n\n",
                   published_at=original.published_at + timedelta(days=1))
    result = find_duplicates(normalize([original, twin]))
    (edge,) = result.edges
    assert edge.method == "exact" and edge.similarity == 1.0


def test_same_event_articles_sharing_quotes_are_not_duplicates(seed_stories):
    a, b, c = (fingerprint(x) for x in normalize(seed_stories[:3]))
    for x, y in ((a, b), (a, c), (b, c)):
        scores, rule = verify(x, y, DuplicateRules())
        assert rule is None and scores.containment < 0.25 and scores.char_containment < 0.35
        assert scores.paragraph_containment < 0.35


def test_paragraphs_drop_short_lines():
    text = "Top story\nLONDON (AFP) -\n" + "One two three four five six seven eight nine ten eleven twelve.\nAdvertisement"
    text_words, body = words_and_paragraphs(text, 12)
    assert body == "one two three four five six seven eight nine ten eleven twelve."
    assert text_words[:5] == ["top", "story", "london", "afp", "one"] and len(text_words) == 17
    assert words_and_paragraphs(text, 13)[1] == ""


def test_a_rewrapped_copy_is_found_by_its_paragraphs(seed_stories):
    # two scanned paragraphs under a new headline, furniture and a long block of related links
    # from a story of the same event: the wrapping outweighs the copy as a whole
    original, donor = seed_stories[1], seed_stories[0]
    kept = synth.ocr_noise("\n".join(synth.SENTENCE_END.split(original.body)[:3]), random.Random(3), 0.6)
    related = [" ".join(s.split()[:10]) for s in synth.SENTENCE_END.split(donor.body)[:12]]
    body = "\n".join(["Top story", "WASHINGTON (AP) —", kept, *synth.BOILERPLATE[:4], "Related stories", *related])
    articles = normalize([original, donor, copy_of(original, "wrapped", body)])
    scores, rule = verify(fingerprint(articles[2]), fingerprint(articles[0]), DuplicateRules())
    assert scores.char_containment < 0.6 and scores.containment < 0.55  # the older rules miss it
    assert rule.startswith("paragraph containment") and scores.paragraph_containment >= 0.7
    assert verify(fingerprint(articles[2]), fingerprint(articles[1]), DuplicateRules())[1] is None  # not the donor
    (edge,) = find_duplicates(articles).edges
    assert (edge.article_id, edge.duplicate_of) == (articles[2].article_id, articles[0].article_id)
    assert edge.rule == rule


def test_a_text_of_short_lines_has_no_paragraph_to_match(seed_stories):
    headlines = "\n".join(" ".join(s.split()[:8]) for s in synth.SENTENCE_END.split(seed_stories[3].body)[:10])
    a, b = normalize([seed_stories[3], replace(seed_stories[3], source_id="headlines", body=headlines)])
    assert fingerprint(b).paragraph_grams.size == 0
    assert verify(fingerprint(a), fingerprint(b), DuplicateRules())[0].paragraph_containment == 0.0


def test_a_copy_cut_shorter_than_the_long_lead_is_found_by_the_short_one(seed_stories):
    original = seed_stories[2]
    cut = copy_of(original, "cut", original.body.split("\n")[0])  # one paragraph, about 190 letters
    articles = normalize([original, cut])
    (edge,) = find_duplicates(articles).edges
    assert (edge.article_id, edge.duplicate_of) == (articles[1].article_id, articles[0].article_id)
    # with the long lead alone the pair is never proposed
    assert find_duplicates(articles, DuplicateParams(lead_chars=(600,))).edges == []


def test_a_patchwork_of_two_stories_does_not_chain_them(seed_stories):
    # half of one story, then half of another: it may match either, but must not join them
    one, two = seed_stories[3].body, seed_stories[4].body
    patch = RawStory(source_id="patch", body=one[: len(one) // 2] + "\n" + two[len(two) // 2:],
                     published_at=seed_stories[4].published_at + timedelta(days=1))
    result = find_duplicates(normalize([seed_stories[3], seed_stories[4], patch]))
    groups = result.group_of
    ids = [a.article_id for a in normalize([seed_stories[3], seed_stories[4]])]
    assert groups[ids[0]] != groups[ids[1]]


def test_batch_minhash_is_datasketch_minhash_and_estimates_jaccard():
    hasher = MinHasher(num_perm=256, seed=3)
    rng = random.Random(5)
    words = [f"{rng.choice('bdgkmpt')}{rng.choice('aeiou')}{rng.choice('lnrsv')}" * 2 for _ in range(600)]
    a, b = " ".join(words[:400]), " ".join(words[200:])  # about a third shared
    sig = hasher.signatures([a, b])

    codes, owner = gram_codes([a])
    mine = codes[hasher.sampled(codes)]
    reference = MinHash(num_perm=256, seed=3, scheme="affine32", hashfunc=int)
    reference.update_batch([int(x) for x in hasher.input_hashes(mine)])
    np.testing.assert_array_equal(reference.hashvalues, sig[0])

    ga, gb = (set(gram_codes([t])[0][hasher.sampled(gram_codes([t])[0])].tolist()) for t in (a, b))
    exact = len(ga & gb) / len(ga | gb)
    assert hasher.minhash(sig[0]).jaccard(hasher.minhash(sig[1])) == pytest.approx(exact, abs=0.08)


def stored_run(data_dir, new, params):
    """One run the way the flow does it: load state, fold duplicates, commit tables."""
    state = job.load_state(data_dir)
    result = update_duplicates(new, state.articles, state.group_of, state.duplicate_edges, state.minhash_index, params)
    articles = state.articles + new
    events = job.EventResult({a.article_id: "e" for a in articles}, merged_into={}, storyline_of={"e": "s"})
    tables = job.output_tables(job.RunContext(), "test", {}, state, articles, result, events, {}, [], {})
    store.commit(data_dir, tables)
    return result


def test_a_copy_in_a_later_run_is_found_against_the_stored_original(seed_stories, tmp_path):
    params = DuplicateParams(window_days=7)
    first = normalize(seed_stories)
    stored_run(tmp_path, first, params)
    # the index holds what is within a week of the newest story (004, 2017-08-16): 004 only
    assert store.read_table(tmp_path, "minhash_index")["article_id"].to_pylist() == [first[4].article_id]
    original = seed_stories[4]
    late = normalize([copy_of(original, "ocr", synth.damage(original.body, "ocr", "heavy", random.Random(1)), hours=48)])
    result = stored_run(tmp_path, late, params)

    (edge,) = result.edges
    assert edge.article_id == late[0].article_id and edge.duplicate_of == first[4].article_id
    rows = {r["article_id"]: r for r in store.read_table(tmp_path, "articles").to_pylist()}
    assert rows[late[0].article_id]["dup_group_id"] == first[4].article_id
    assert all(rows[a.article_id]["dup_group_id"] == a.article_id for a in first)  # stored groups unchanged
    assert store.read_table(tmp_path, "duplicates").num_rows == 1


def test_stories_outside_the_window_are_not_compared_and_expire(seed_stories, tmp_path):
    params = DuplicateParams(window_days=7)
    first = normalize(seed_stories)
    stored_run(tmp_path, first, params)
    original = seed_stories[4]  # published 2017-08-16, the newest seed
    late = normalize([copy_of(original, "trim", synth.damage(original.body, "trim", "light", random.Random(2)),
                              hours=24 * 8)])
    result = stored_run(tmp_path, late, params)

    assert result.edges == []  # eight days later: a new story, not a copy
    index_ids = set(store.read_table(tmp_path, "minhash_index")["article_id"].to_pylist())
    assert index_ids == {late[0].article_id}  # every seed is over a week older than the newest story
    assert store.read_table(tmp_path, "articles").num_rows == 6  # expiry drops index entries, never articles


def test_index_survives_a_crash_during_commit(seed_stories, tmp_path, monkeypatch):
    import os

    params = DuplicateParams(window_days=365)  # the seeds span months
    first = normalize(seed_stories[:3])
    stored_run(tmp_path, first, params)
    real_replace, calls = os.replace, []

    def die_after_journal(src, dst):
        calls.append(dst)
        if len(calls) == 2:  # the journal is in place; die renaming the first table
            raise OSError("killed")
        return real_replace(src, dst)

    second = normalize(seed_stories[3:])
    monkeypatch.setattr(store.os, "replace", die_after_journal)
    with pytest.raises(OSError):
        stored_run(tmp_path, second, params)
    monkeypatch.undo()

    # the next open rolls the commit forward: index and articles agree
    articles = set(store.read_table(tmp_path, "articles")["article_id"].to_pylist())
    index = set(store.read_table(tmp_path, "minhash_index")["article_id"].to_pylist())
    assert articles == index == {a.article_id for a in first + second}


def test_a_run_that_dies_before_commit_changes_nothing_and_reruns_the_same(seed_stories, tmp_path, monkeypatch):
    params = DuplicateParams()
    stored_run(tmp_path, normalize(seed_stories[:4]), params)
    before = store.read_table(tmp_path, "minhash_index")
    original = seed_stories[1]
    copy = normalize([copy_of(original, "garble", synth.damage(original.body, "garble", "medium", random.Random(3)))])

    def die(*args, **kwargs):
        raise OSError("disk gone")

    monkeypatch.setattr(store.os, "replace", die)
    with pytest.raises(OSError):
        stored_run(tmp_path, copy, params)
    monkeypatch.undo()
    assert store.read_table(tmp_path, "minhash_index").equals(before)
    (edge,) = stored_run(tmp_path, copy, params).edges
    assert edge.duplicate_of == normalize([original])[0].article_id


def test_index_written_with_other_parameters_is_rebuilt(seed_stories, tmp_path):
    stored_run(tmp_path, normalize(seed_stories[:4]), DuplicateParams(num_perm=64))
    original = seed_stories[2]
    copy = normalize([copy_of(original, "rewrap", synth.damage(original.body, "rewrap", "heavy", random.Random(4)))])
    (edge,) = stored_run(tmp_path, copy, DuplicateParams()).edges
    assert edge.duplicate_of == normalize([original])[0].article_id
    assert set(store.read_table(tmp_path, "minhash_index")["sketch"].to_pylist()) == {DuplicateParams().sketch}


def test_candidates_of_a_few_queries_are_those_of_the_whole_batch_that_involve_them():
    # the screened path (few queries against a large index) must find what a full sort finds
    rng = np.random.default_rng(11)
    params = DuplicateParams()
    signatures = rng.integers(0, 50, size=(3000, params.width), dtype=np.uint32)  # few values: many shared bands
    signatures[2990:] = signatures[:10]  # ten exact copies among the queries
    keys = params.band_keys(signatures)
    queries = np.arange(2950, 3000)
    few = candidate_pairs(keys, queries, max_bucket=10_000)
    every = candidate_pairs(keys, np.arange(3000), max_bucket=10_000)
    involved = every[np.isin(every, queries).any(axis=1)]
    np.testing.assert_array_equal(few, involved)
    assert {(i, 2990 + i) for i in range(10)} <= set(map(tuple, few.tolist()))


def test_the_stage_sketch_is_the_minhash_of_sampled_grams():
    params = DuplicateParams()
    texts = ["Officials said the bridge would reopen on Monday after repairs. " * 12, "short text", ""]
    sig = params.sketch_texts(texts, texts_per_pass=2)  # a pass boundary inside the batch
    np.testing.assert_array_equal(sig[:, : params.num_perm], MinHasher(params.num_perm, params.seed).signatures(texts))
    assert (sig[2] == np.iinfo(np.uint32).max).all()  # no grams, no minima


def test_a_copy_quoting_a_short_story_whole_joins_the_story_it_copies(seed_stories):
    # the copy holds all of a one-sentence story (a related link) and so verifies against it at
    # containment 1.0, but most of its text is its own original: that group is the closer one
    original, other = seed_stories[3], seed_stories[2]
    sentence = synth.SENTENCE_END.split(other.body)[0]
    short = replace(other, source_id="short", body=sentence, published_at=original.published_at - timedelta(hours=1))
    kept = synth.ocr_noise("\n".join(original.body.split("\n")[:4]), random.Random(5), 0.5)
    articles = normalize([original, short, copy_of(original, "quoting", f"{kept}\nRelated stories\n{sentence}")])
    prints = [fingerprint(a) for a in articles]
    assert verify(prints[2], prints[1], DuplicateRules())[1]  # it does verify against the short story...
    assert verify(prints[2], prints[0], DuplicateRules())[1]
    assert verify(prints[0], prints[1], DuplicateRules())[1] is None
    (edge,) = find_duplicates(articles).edges
    assert (edge.article_id, edge.duplicate_of) == (articles[2].article_id, articles[0].article_id)  # ...but joins its own


FOOTER = ("The Lakeside Herald is an independent newspaper serving the county since 1921. To report a news tip, "
          "email tips@lakesideherald.example or call 555-0100. Subscribe for unlimited digital access starting at $1 "
          "a week.")
BRIEFS = [
    "The council approved a new bus route linking the hospital to the northern suburbs on Monday.",
    "A fire destroyed a warehouse on Dock Street overnight; nobody was hurt, the fire brigade said.",
    "The Lakers beat the Kings 102-99 after a late three-pointer by their rookie guard.",
    "Police closed the Elm Avenue bridge after a lorry struck its railings in the morning rush.",
    "The library will stay open until nine on weekdays from next month, the mayor announced.",
    "Heavy snow delayed flights at the regional airport for a second day running.",
    "A local bakery won the national sourdough prize for the third year in a row.",
    "The school board voted to hire forty more teaching assistants for the autumn term.",
]


def test_a_footer_many_stories_carry_makes_none_of_them_copies():
    # each brief is shorter than the outlet's footer, so most of its text is the footer: the
    # plain scores call every pair a copy; weighed by rarity, the footer proves nothing
    stories = [RawStory(source_id=f"brief{i}", body=f"{text}\n{FOOTER}") for i, text in enumerate(BRIEFS)]
    copy = replace(stories[0], source_id="brief0~copy", body=f"{BRIEFS[0]} It opens in May.\n{FOOTER}")
    articles = normalize(stories + [copy])
    plain = verify(fingerprint(articles[1]), fingerprint(articles[2]), DuplicateRules())[1]
    assert plain is not None  # the footer alone passes a rule
    result = find_duplicates(articles)
    groups = [result.group_of[a.article_id] for a in articles]
    assert len(set(groups[:len(BRIEFS)])) == len(BRIEFS)  # no brief folded into another
    assert groups[-1] == groups[0]  # the real copy still is
