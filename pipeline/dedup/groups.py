"""Groups: fold copies of one story under a canonical story, across runs.

Stories are taken in canonical order (least damaged by `quality`, most distinct body text,
earliest published, cleanest) and each joins the group whose canonical story it verifies
against directly (`verify`), or starts its own; once the run's stories are placed, a group the
run made is handed to its most central least damaged member (`central_member`). Verifying
against the canonical itself (not any member) stops chains A~B~C from merging different
stories; stored groups keep their canonical and id. Candidates come from the sketches
(`sketch`) of the new stories against the index of stored ones (`index`) and the batch itself,
plus equal content hashes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from typing import Callable

import numpy as np
import pyarrow as pa

from pipeline.config import DedupConfig
from pipeline.dedup import quality
from pipeline.dedup.index import DuplicateIndex, seen_times
from pipeline.dedup.neighbours import neighbour_pairs, tfidf_rows, word_bags
from pipeline.dedup.sketch import MAX_BUCKET, Sketcher, candidate_pairs
from pipeline.dedup.verifier import load_verifier
from pipeline.dedup.verify import (
    Fingerprint,
    Rarity,
    Scores,
    fingerprint,
    fingerprints,
    overlap,
    plain_scores,
    share_found,
    verify,
)
from pipeline.records import Article, DuplicateEdge

FAR_FUTURE = datetime.max.replace(tzinfo=timezone.utc)

DETACHED = re.compile(r"\s[^\w\s]+(?=\s)")  # a token of punctuation only (text padded with spaces)


def cleanliness(article: Article) -> float:
    """Share of original tokens that are not detached punctuation: tokenized copies score lower."""
    n_tokens = len(article.original_text.split())
    if not n_tokens:
        return 0.0
    return 1.0 - len(DETACHED.findall(f" {article.original_text} ")) / n_tokens


def canonical_key(article: Article, vocab: quality.Vocabulary | None = None) -> tuple:
    """Least damaged (`quality.damage_step`, misread words counted against the run's vocabulary
    where given), then most distinct body text (`quality.length_step`: an original before its
    trimmed copies), then earliest published, then cleanest, then longest, then id: a scanned or
    scrambled copy never leads a group that holds a clean one."""
    return (
        quality.damage_step(article, vocab),
        -quality.length_step(article.text),
        article.published_at or FAR_FUTURE,
        -round(cleanliness(article), 2),
        -len(article.text),
        article.article_id,
    )


VIA = "via member "
CANONICAL_REASON = ("least damaged text (OCR-like, misread and repeated words), then most central among its copies, "
                    "then most distinct body text, earliest published, cleanest text (a stored one gives way to a "
                    "story that outranks it and copies it)")


@dataclass(slots=True)
class DuplicateResult:
    edges: list[DuplicateEdge]  # one per non-canonical article
    group_of: dict[str, str]  # article_id -> dup_group_id (the canonical's id)
    canonical_reason: str
    index: pa.Table | None = None  # the index to store with this run's tables
    n_candidates: int = 0  # candidate pairs verified this run


def update_duplicates(
    new: list[Article],
    stored: list[Article],
    previous_group: dict[str, str],
    previous_edges: list[DuplicateEdge],
    index_table: pa.Table | None,
    config: DedupConfig,
    new_signatures: np.ndarray | None = None,
) -> DuplicateResult:
    """Fold `new` articles into the duplicate groups of `stored` ones.

    New stories are compared with each other and with every indexed story within
    `config.window_days` of them; a stored group changes only when a new story takes it over
    (a story that outranks its canonical story and copies it: `take_over`). Index entries older
    than the window (counted back from the newest story seen) expire. Stored articles
    missing from the index but inside the window (an older store, another sketch) are
    indexed again from their text. `new_signatures` are those of the `new` stories' texts
    (`Sketcher.signatures`), when computed elsewhere.
    """
    sketcher, window = Sketcher.of(config), np.timedelta64(int(config.window_days * 86400e6), "us")
    index = (DuplicateIndex.from_table(index_table, sketcher) if index_table is not None
             else DuplicateIndex.empty(sketcher.width))
    stored_by_id = {a.article_id: a for a in stored}
    by_id = {**stored_by_id, **{a.article_id: a for a in new}}
    indexed = set(index.article_id)
    missing = [a for a in stored if a.article_id not in indexed]
    missing_times, new_times = seen_times(missing), seen_times(new)
    # the newest story seen: every stored one is indexed unless missing, and none expires before it
    newest = max(np.concatenate([index.seen_at, missing_times, new_times, [np.datetime64(0, "us")]]))
    backfill = [a for a, t in zip(missing, missing_times) if t >= newest - window]
    index = index.extend(backfill, [previous_group.get(a.article_id, a.article_id) for a in backfill],
                         sketcher.signatures([a.text for a in backfill]))
    index = index.select(index.seen_at >= newest - window)

    # candidates among index + new: LSH bands, equal content hashes, and time within the window
    new_sigs = sketcher.signatures([a.text for a in new]) if new_signatures is None else new_signatures
    n_old = len(index.article_id)
    ids = index.article_id + [a.article_id for a in new]
    times = np.concatenate([index.seen_at, new_times])
    all_sigs = np.concatenate([index.signatures, new_sigs])
    keys = sketcher.band_keys(all_sigs)
    pairs = candidate_pairs(keys, np.arange(n_old, len(ids)), MAX_BUCKET)
    pairs = pairs[np.abs(times[pairs[:, 0]] - times[pairs[:, 1]]) <= window]
    step = 1 << 16  # pairs per screening pass: bounded memory on a first build of a large index
    pairs = pairs[np.concatenate([sketcher.plausible(all_sigs[pairs[lo:lo + step, 0]], all_sigs[pairs[lo:lo + step, 1]])
                                  for lo in range(0, len(pairs), step)] or [np.zeros(0, bool)])]
    partners: dict[str, set[str]] = {}
    for i, j in pairs.tolist():
        partners.setdefault(ids[i], set()).add(ids[j])
        partners.setdefault(ids[j], set()).add(ids[i])
    same_text: dict[str, list[str]] = {}
    for aid, digest in zip(ids, index.content_hash + [a.content_hash for a in new]):
        same_text.setdefault(digest, []).append(aid)

    group_of = {a.article_id: previous_group.get(a.article_id) or a.article_id for a in stored}
    group_of.update(zip(index.article_id, index.group_id))
    # fingerprint, in one batch, every story that may be verified: candidates and their canonicals
    needed = {aid for aid in partners if aid in by_id} | {aid for twins in same_text.values() if len(twins) > 1
                                                        for aid in twins if aid in by_id}
    needed |= {group_of[aid] for aid in needed if group_of.get(aid) in by_id}
    needed = sorted(needed)
    needed += rarity_sample([aid for aid in ids if aid in by_id and group_of.get(aid, aid) == aid], set(needed))
    prints = dict(zip(needed, fingerprints([by_id[aid] for aid in needed], config.shingle_words)))
    rarity = Rarity(list(prints.values()))

    def fp(aid: str) -> Fingerprint:
        if aid not in prints:
            prints[aid] = fingerprint(by_id[aid], config.shingle_words)
        return prints[aid]

    # members that verified against their canonical directly: a copy may reach a group through them
    direct = {e.article_id for e in previous_edges if not e.rule.startswith(VIA)}
    edges: list[DuplicateEdge] = []
    n_verified = 0
    # only stories with a candidate can join a group; the rest start their own, in any order
    alone = {a.article_id for a in new if a.article_id not in partners and len(same_text[a.content_hash]) < 2}
    group_of.update((aid, aid) for aid in alone)
    grouped = [a for a in new if a.article_id not in alone]
    vocab = quality.vocabulary(by_id[aid].text for aid in needed)  # misread words are damage
    order = {a.article_id: canonical_key(a, vocab) for a in grouped}

    def key(aid: str) -> tuple:
        if aid not in order:  # a stored story
            order[aid] = canonical_key(by_id[aid], vocab)
        return order[aid]

    def leads(a: str, b: str) -> bool:
        return comes_before(by_id[a], by_id[b], key(a), key(b), vocab)

    fresh = {a.article_id for a in new}
    stored_edges = [e for e in previous_edges if e.article_id in stored_by_id]

    def identical(a: str, b: str) -> bool:
        return by_id[a].content_hash == by_id[b].content_hash

    def rehomed_method(e: DuplicateEdge, lead: str) -> str:
        return "exact" if identical(e.article_id, lead) else "minhash" if e.method == "exact" else e.method

    def take_over(lead: str, heads: list[tuple[str, Scores, str]]) -> int:
        """Stored groups whose canonical story `lead`, less damaged, verified against directly move
        under it: a copy stored before its original no longer heads the original's group. Each
        member verifies against `lead` or joins through its old canonical story (one step); a
        group with a member that can do neither stays as it is. Returns how many groups moved."""
        nonlocal edges, stored_edges, n_verified
        taken = 0
        for head, scores, rule in heads:
            if group_of.get(head) != head:
                continue  # taken over already
            members = [e for e in stored_edges + edges if e.duplicate_of == head]
            moved = [edge(head, lead, scores, "exact" if identical(head, lead) else "minhash", rule)]  # verified directly
            for e in members:
                n_verified += 1
                member_scores, member_rule = verify(fp(e.article_id), fp(lead), config, rarity)
                if member_rule:
                    moved.append(edge(e.article_id, lead, member_scores, rehomed_method(e, lead), member_rule))
                elif not e.rule.startswith(VIA):
                    moved.append(replace(e, duplicate_of=lead, rule=f"{VIA}{head}: {e.rule}"))
                else:
                    break
            else:
                stored_edges = [e for e in stored_edges if e.duplicate_of != head]
                edges = [e for e in edges if e.duplicate_of != head] + moved
                group_of.update((e.article_id, lead) for e in moved)
                for e in moved:
                    (direct.discard if e.rule.startswith(VIA) else direct.add)(e.article_id)
                taken += 1
        return taken

    for article in sorted(grouped, key=lambda a: order[a.article_id]):
        aid = article.article_id
        cleaner_than: list[tuple[str, Scores, str]] = []  # stored canonical stories it outranks and verified against
        outranked = False  # by a stored canonical story it copies: it joins that group as before
        twins = {group_of[t] for t in same_text[article.content_hash] if t in group_of and t != aid}
        members: dict[str, list[str]] = {}
        for other in sorted(partners.get(aid, ())):
            if other in group_of:
                members.setdefault(group_of[other], []).append(other)
        best: tuple[tuple, str, Scores, str, str] | None = None  # (rank, group, scores, method, rule)
        for canon in sorted(twins | set(members)):
            if canon not in by_id or canon == aid:
                continue  # the canonical's text is no longer stored, or its group was handed to this story
            n_verified += 1
            scores, rule = verify(fp(aid), fp(canon), config, rarity)
            verified = rule  # against the canonical story itself
            method = "exact" if canon in twins else "minhash"
            if method == "exact":
                rule = rule or "exact: same text as a member of the group"
            closest = canon
            reachable = not rule and scores.char_containment >= config.via_support
            for member in members.get(canon, []) if reachable else []:
                # a copy of a copy: one step through a member that verified against the canonical
                if member in direct and member in by_id:
                    n_verified += 1
                    member_rule = verify(fp(aid), fp(member), config, rarity)[1]
                    if member_rule:
                        rule, closest = f"{VIA}{member}: {member_rule}", member
                        break
            if rule and canon not in fresh:
                if leads(canon, aid):
                    outranked = True
                elif verified:
                    cleaner_than.append((canon, scores, verified))
            if rule:
                # the group whose story (the canonical, or the member it reached the group through)
                # explains most of its text: a short story quoted whole in it explains little
                rank = (method == "exact", share_found(fp(aid).grams, fp(closest).grams))
                if best is None or rank > best[0]:
                    best = (rank, canon, scores, method, rule)
        if cleaner_than and not outranked:  # it leads those groups from now on, where they can move
            group_of[aid] = aid
            if take_over(aid, cleaner_than):
                direct.add(aid)
                continue
        if best is None:
            group_of[aid] = aid
            continue
        _, canon, scores, method, rule = best
        group_of[aid] = canon
        if not rule.startswith(VIA):
            direct.add(aid)
        edges.append(edge(aid, canon, scores, method, rule))

    def hand_over(edges: list[DuplicateEdge], key: Callable[[str], tuple], heads: set[str]) -> list[DuplicateEdge]:
        """The cleanest member leads: each group this run made with a canonical story in `heads` is
        handed to its most central least damaged member (by `key`)."""
        nonlocal n_verified
        led: dict[str, dict[str, DuplicateEdge]] = {}
        for e in edges:
            if e.duplicate_of in heads:
                led.setdefault(e.duplicate_of, {})[e.article_id] = e
        for head, copies in led.items():
            eligible = [head] + [aid for aid, e in copies.items() if not e.rule.startswith(VIA)]
            lead = central_member(eligible, list(copies), key, fp)
            if lead == head:
                continue
            moved = [replace(copies[lead], article_id=head, duplicate_of=lead)]  # verified once, either way round
            for aid, e in copies.items():
                if aid == lead:
                    continue
                n_verified += 1
                scores, rule = verify(fp(aid), fp(lead), config, rarity)
                if rule:
                    moved.append(edge(aid, lead, scores, rehomed_method(e, lead), rule))
                elif not e.rule.startswith(VIA):  # one step through the old head, which verified against the lead
                    moved.append(replace(e, duplicate_of=lead, rule=f"{VIA}{head}: {e.rule}"))
                else:
                    break  # it would be two steps from the lead: the group stays as it is
            else:
                edges = [e for e in edges if e.duplicate_of != head] + moved
                group_of.update((aid, lead) for aid in [head, *copies])
        return edges

    edges = hand_over(edges, key, fresh)
    lead_keys: dict[str, tuple] = {}
    lead_vocab: list[quality.Vocabulary] = []

    def lead_key(aid: str) -> tuple:
        """`canonical_key`, misread words counted against every story compared this run, once the
        groups the word bags fold together are known."""
        if aid not in lead_keys:
            if not lead_vocab:
                lead_vocab.append(quality.vocabulary(by_id[other].text for other in sorted(prints) if other in by_id))
            lead_keys[aid] = canonical_key(by_id[aid], lead_vocab[0])
        return lead_keys[aid]

    def lead_leads(a: str, b: str) -> bool:
        return comes_before(by_id[a], by_id[b], lead_key(a), lead_key(b), lead_vocab[0])

    stored_edges, edges, n_pairs = fold_by_word_bag(new, by_id, group_of, stored_edges, edges, prints, config,
                                                    newest - window, lead_leads)
    n_verified += n_pairs
    edges = hand_over(edges, lead_key, {e.duplicate_of for e in edges if e.method == WORD_BAG} & fresh)

    index.group_id = [group_of.get(aid, group) for aid, group in zip(index.article_id, index.group_id)]  # taken over
    index = index.extend(new, [group_of[a.article_id] for a in new], new_sigs)
    index = index.select(index.seen_at >= newest - window)  # new stories can be old too
    return DuplicateResult(
        edges=stored_edges + edges, group_of=group_of, canonical_reason=CANONICAL_REASON,
        index=index.to_table(sketcher), n_candidates=n_verified,
    )


def comes_before(a: Article, b: Article, key_a: tuple, key_b: tuple, vocab: quality.Vocabulary) -> bool:
    """Whether copy `a` comes before copy `b` of one story: by their `canonical_key`s, but of two
    in one damage step and body length step the one with less damage of its own
    (`quality.own_damage`), then the one whose body lines include all of the other's and more
    (`quality.body_lines`): a copy trimmed by a paragraph is in its original's length step, where
    the earlier published would lead. A line any damage or a dateline touched differs, so then
    neither holds the other; then the one with fewer short lines of its own
    (`quality.furniture_lines`): a re-wrapped copy's headline, dateline and page furniture."""
    if key_a[:2] == key_b[:2]:
        own_a, own_b = quality.own_damage(a.text, b.text, vocab), quality.own_damage(b.text, a.text, vocab)
        if own_a != own_b:
            return own_a < own_b
        body_a, body_b = quality.body_lines(a.text), quality.body_lines(b.text)
        if body_a > body_b or body_b > body_a:  # one holds all of the other and more
            return body_a > body_b
        lines_a, lines_b = quality.furniture_lines(a.text), quality.furniture_lines(b.text)
        if len(lines_a - lines_b) != len(lines_b - lines_a):  # furniture of its own: a re-wrapped copy
            return len(lines_a - lines_b) < len(lines_b - lines_a)
    return key_a < key_b


WORD_BAG = "word_bag"  # the method of a copy found among its word-bag neighbours


def fold_by_word_bag(new: list[Article], by_id: dict[str, Article], group_of: dict[str, str],
                     stored_edges: list[DuplicateEdge], edges: list[DuplicateEdge], prints: dict[str, Fingerprint],
                     config: DedupConfig, oldest: np.datetime64,
                     leads: Callable[[str, str], bool]) -> tuple[list[DuplicateEdge], list[DuplicateEdge], int]:
    """`stored_edges` and `edges` (this run's) with the groups this run made (a lone story, or a group of
    copies that found each other but not their original) folded together with the group of one of
    their canonical story's `dedup.neighbours` nearest canonical stories by word bag (`neighbours`)
    that it verifies against, most similar pairs first; `group_of` is updated. Of the two groups,
    the one whose canonical story `leads` (`comes_before`) leads, a stored one included: a new
    story takes over a stored group as it does in placement (`take_over`), where heavy damage
    left no shingle to find the pair by. A folded group's members join through its old canonical
    story (which verified against the new one directly), or by verifying against the new one
    themselves; a group where neither holds stays as it is. A lone story also joins a group through
    one of its `dedup.neighbours` nearest members (each joined to its canonical story directly) that
    it verifies against, as placement joins one through a member, where its word bag is no farther
    from the group's canonical story than the verifier's copies ever were. `prints` holds the
    fingerprints made so far and gains those of the stories compared here. Also: how many pairs
    were verified."""
    fresh = {a.article_id for a in new}
    members: dict[str, list[DuplicateEdge]] = {}
    for e in edges:
        members.setdefault(e.duplicate_of, []).append(e)
    heads = [a.article_id for a in new if group_of[a.article_id] == a.article_id]
    canonical = sorted(aid for aid, group in group_of.items() if aid == group and aid in by_id)  # any run, one order
    if not heads or len(canonical) < 2 or config.neighbours == 0:
        return stored_edges, edges, 0
    # a lone story may also be a copy of a story that is itself a copy in another group (real
    # wire copies of one report): such members, joined to their canonical story directly, are
    # neighbours too, and a lone story joins their group through them as placement joins it
    direct = sorted({e.article_id for e in [*stored_edges, *edges] if not e.rule.startswith(VIA)
                     and e.article_id in by_id and group_of.get(e.article_id) == e.duplicate_of != e.article_id})
    pool = canonical + direct
    times = seen_times([by_id[aid] for aid in pool]).astype(np.int64)
    kept = [i for i, (aid, t) in enumerate(zip(pool, times)) if aid in fresh or t >= oldest.astype(np.int64)]
    pool, times = [pool[i] for i in kept], times[kept]
    is_head = np.array(kept) < len(canonical)  # the canonical stories come first in the pool
    position = {aid: i for i, aid in enumerate(pool)}
    # words weighed among the canonical stories only: a story copied many times is not common
    rows = tfidf_rows(word_bags([by_id[aid].text for aid in pool]), int(is_head.sum()))
    verifier = load_verifier(config.verifier)  # its copies, and the rules', were never farther than this
    min_cosine = verifier.min_word_cosine if verifier else 0.0
    # the nearest canonical stories and, apart, the nearest members: a story's own original
    # is not crowded out of its neighbours by that original's damaged copies
    pairs = sorted((pair for candidates in (np.flatnonzero(is_head), np.flatnonzero(~is_head))
                    for pair in neighbour_pairs([position[aid] for aid in heads], rows, times, candidates,
                                                config.neighbours, int(config.window_days * 86400e6), min_cosine)),
                   key=lambda pair: (-pair[0], pair[1], pair[2]))
    involved = sorted({aid for _, a, b in pairs for aid in (pool[a], pool[b], group_of[pool[b]])})
    todo = [aid for aid in involved if aid not in prints]
    prints.update(zip(todo, fingerprints([by_id[aid] for aid in todo], config.shingle_words)))
    rarity = Rarity(list(prints.values()))  # weighed among every story compared this run

    def regrouped(head: str, lead: str) -> list[DuplicateEdge] | None:
        out = []
        stored = [] if head in fresh else [e for e in stored_edges if e.duplicate_of == head]
        for e in members.get(head, []) + stored:
            if not e.rule.startswith(VIA):
                out.append(replace(e, duplicate_of=lead, rule=f"{VIA}{head}: {e.rule}"))
                continue
            if e.article_id not in prints:
                prints[e.article_id] = fingerprint(by_id[e.article_id], config.shingle_words)
            scores, rule = verify(prints[e.article_id], prints[lead], config, rarity)
            if not rule:
                return None  # two steps from the new canonical story: the group stays as it is
            out.append(edge(e.article_id, lead, scores, WORD_BAG, rule))
        return out

    moved: set[str] = set()  # folded into another group: no longer a canonical story
    leading: set[str] = set()  # took a group in: stays the canonical story it is
    verified: set[tuple[int, int]] = set()  # two groups nearest each other come as two pairs: verified once
    for _, i, j in pairs:
        story, neighbour = pool[i], pool[j]
        if story in moved or neighbour in moved or (min(i, j), max(i, j)) in verified:
            continue
        verified.add((min(i, j), max(i, j)))
        if not is_head[j]:
            if story in leading or members.get(story) or group_of[neighbour] == story:
                continue  # a group of its own, or its own member: joins nothing through a member
            group = group_of[neighbour]
            if group in moved or group not in position or leads(story, group):
                continue
            if rows[position[story]].multiply(rows[position[group]]).sum() < min_cosine:
                continue  # nothing like the group's own story (a short story a member quotes whole)
            member_rule = verify(prints[story], prints[neighbour], config, rarity)[1]
            if not member_rule:
                continue
            scores = plain_scores(prints[story], prints[group])
            edges = [*edges, edge(story, group, scores, WORD_BAG, f"{VIA}{neighbour}: {member_rule}")]
            group_of[story] = group
            moved.add(story)
            leading.add(group)
            continue
        scores, rule = verify(prints[story], prints[neighbour], config, rarity)
        if not rule:
            continue
        head, lead = story, neighbour
        if neighbour not in leading and leads(story, neighbour):
            head, lead = neighbour, story  # the less damaged leads: a stored group is taken over
        if head in leading:
            continue
        joined = regrouped(head, lead)
        if joined is None:
            continue
        if head not in fresh:  # a stored group taken over
            stored_edges = [e for e in stored_edges if e.duplicate_of != head]
        edges = [e for e in edges if e.duplicate_of != head] + [edge(head, lead, scores, WORD_BAG, rule), *joined]
        group_of.update((aid, lead) for aid in [head, *(e.article_id for e in joined)])
        moved.add(head)
        leading.add(lead)
    return stored_edges, edges, len(verified)


RARITY_SAMPLE = 256  # canonical stories of the window weighed along with those a run compares


def rarity_sample(canonical: list[str], compared: set[str]) -> list[str]:
    """Up to `RARITY_SAMPLE` of the window's `canonical` stories not in `compared`, evenly spread
    over them in id order, to weigh rarity among (`Rarity`) along with the stories compared. Why:
    in a small run the stories compared are a handful, often copies of one another, and words
    that only they and their original share then look common: a copy's damage outweighed what it
    shares with its original, and it stayed alone because a second copy came in the same run."""
    pool = sorted(set(canonical) - compared)
    return pool[::max(1, -(-len(pool) // RARITY_SAMPLE))]


def edge(aid: str, canon: str, scores: Scores, method: str, rule: str) -> DuplicateEdge:
    return DuplicateEdge(
        article_id=aid, duplicate_of=canon, similarity=round(max(scores.jaccard, scores.containment), 4),
        method=method, jaccard=round(scores.jaccard, 4), containment=round(scores.containment, 4),
        char_containment=round(scores.char_containment, 4), rule=rule,
    )


CENTRAL_SAMPLE = 20  # members a candidate lead is compared with: a wire story may have hundreds of copies


def central_member(eligible: list[str], others: list[str], key: Callable[[str], tuple],
                   fp: Callable[[str], Fingerprint]) -> str:
    """Of the `eligible` members least damaged (the first field of `key`), the one whose folded char
    grams overlap the rest of the group's most (Jaccard, summed over up to `CENTRAL_SAMPLE` of
    them), ties to the first of `eligible` (the group's canonical story: two stories alone are
    equally central, and the one that outranked the other leads), then by `key`: each scanned,
    scrambled, trimmed or re-wrapped copy departs from the original its own way, so the original
    sits in the middle of its copies."""
    keys = {aid: key(aid) for aid in {*eligible, *others}}
    least = min(keys[aid][0] for aid in eligible)
    ranked = sorted((aid for aid in eligible if keys[aid][0] == least), key=lambda aid: (aid != eligible[0], keys[aid]))
    if len(ranked) == 1:
        return ranked[0]
    group = sorted(keys, key=keys.__getitem__)[:CENTRAL_SAMPLE]
    return max(ranked, key=lambda aid: round(sum(overlap(fp(aid).grams, fp(o).grams)[0] for o in group if o != aid), 3))


def find_duplicates(articles: list[Article], config: DedupConfig | None = None) -> DuplicateResult:
    """Duplicate groups within one batch of articles, with no stored state."""
    return update_duplicates(articles, [], {}, [], None, config or DedupConfig())

