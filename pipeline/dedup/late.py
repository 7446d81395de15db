"""Late folding: copies the sketches missed, found among the embedding neighbours of new stories.

A copy with most neighbouring words swapped or mistyped keeps few of its original's character
9-grams across word boundaries, so MinHash seldom makes the pair a candidate; its embedding
still lies near the original's. Once the event stage has embedded the canonical stories (it does
anyway), each story of the run that found no copy and no original gets its
`dedup.embedding_neighbours` nearest canonical stories within `dedup.window_days` as candidates,
verified as any other pair (`verify`: the rules, then the learned verifier). A story that
verifies joins its neighbour's group before events are clustered; of two new stories the less
damaged leads (`canonical_key`), a stored story keeps leading its group. Only stories alone in
their group move, so every member still verified against its canonical story directly.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipeline.config import DedupConfig
from pipeline.dedup import quality
from pipeline.dedup.groups import DuplicateResult, canonical_key, edge
from pipeline.dedup.index import seen_times
from pipeline.dedup.verify import Rarity, fingerprints, verify
from pipeline.records import Article

METHOD = "embedding"


def neighbour_pairs(alone: list[str], canonical: list[Article], vectors: dict[str, np.ndarray],
                    config: DedupConfig) -> list[tuple[float, str, str]]:
    """(cosine, story, neighbour) for each of the `alone` stories' nearest canonical stories within
    the window, most similar first."""
    ids = [a.article_id for a in canonical]
    position = {aid: i for i, aid in enumerate(ids)}
    matrix = np.stack([vectors[aid] for aid in ids]).astype(np.float32)
    times = seen_times(canonical).astype(np.int64)
    window = int(config.window_days * 86400e6)
    k = min(config.embedding_neighbours, len(ids) - 1)
    pairs = []
    for first in range(0, len(alone), 1024):  # bounded memory against a large window
        rows = np.array([position[aid] for aid in alone[first:first + 1024]])
        cosine = matrix[rows] @ matrix.T
        cosine[np.arange(len(rows)), rows] = -np.inf
        cosine[np.abs(times[rows][:, None] - times[None, :]) > window] = -np.inf
        nearest = np.argpartition(-cosine, k - 1, axis=1)[:, :k] if k > 0 else np.empty((len(rows), 0), int)
        for r, row in enumerate(rows):
            pairs += [(float(cosine[r, j]), ids[row], ids[j]) for j in nearest[r] if np.isfinite(cosine[r, j])]
    return sorted(pairs, key=lambda p: (-p[0], p[1], p[2]))


def fold_late(new: list[Article], canonical: list[Article], dups: DuplicateResult, vectors: dict[str, np.ndarray],
              config: DedupConfig) -> DuplicateResult:
    """`dups` with the run's lone stories folded into the group of an embedding neighbour they
    verify against (method `embedding`); `canonical` are the current canonical stories, all in
    `vectors`."""
    led = {e.duplicate_of for e in dups.edges}
    fresh = {a.article_id for a in new}
    alone = [a.article_id for a in new if dups.group_of.get(a.article_id) == a.article_id and a.article_id not in led]
    if not alone or len(canonical) < 2 or config.embedding_neighbours == 0:
        return dups
    by_id = {a.article_id: a for a in canonical}
    pairs = neighbour_pairs(alone, canonical, vectors, config)
    involved = sorted({aid for _, a, b in pairs for aid in (a, b)})
    prints = dict(zip(involved, fingerprints([by_id[aid] for aid in involved], config.shingle_words)))
    rarity = Rarity(list(prints.values()))
    vocab = quality.vocabulary(by_id[aid].text for aid in involved)
    moved: set[str] = set()  # folded into another group: no longer a canonical story
    leading: set[str] = set()  # took a folded story in: stays the canonical story it is
    edges = []
    for _, story, neighbour in pairs:
        if story in moved or neighbour in moved or story in leading:
            continue
        scores, rule = verify(prints[story], prints[neighbour], config, rarity)
        if not rule:
            continue
        copy, lead = story, neighbour
        if neighbour in fresh and neighbour not in leading and neighbour not in led and \
                canonical_key(by_id[story], vocab) < canonical_key(by_id[neighbour], vocab):
            copy, lead = neighbour, story  # two new stories: the less damaged leads
        edges.append(edge(copy, lead, scores, METHOD, rule))
        moved.add(copy)
        leading.add(lead)
    if not edges:
        return dups
    group_of = dict(dups.group_of)
    group_of.update((e.article_id, e.duplicate_of) for e in edges)
    index = dups.index
    if index is not None:
        new_group = {e.article_id: e.duplicate_of for e in edges}
        groups = [new_group.get(aid, g) for aid, g in zip(index["article_id"].to_pylist(),
                                                          index["dup_group_id"].to_pylist())]
        index = index.set_column(index.schema.get_field_index("dup_group_id"), "dup_group_id",
                                 pa.array(groups, pa.string()))
    return DuplicateResult(dups.edges + edges, group_of, dups.canonical_reason, index, dups.n_candidates + len(pairs))

