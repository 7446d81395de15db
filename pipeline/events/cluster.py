"""Cluster: group stories into events on a distance matrix, and keep event ids stable across runs.

Two clusterers (`events.clusterer`), both cut at a distance:
- "average": average-linkage clustering cut where the mean distance inside a cluster would pass
  the cut: a story joins a group only if it is close to the group on average, which resists the
  chaining between same-kind events that single-linkage methods show;
- "hdbscan": scikit-learn's HDBSCAN on the same distances (clusters of two or more), clusters
  and stories within the cut of each other joined (`cluster_selection_epsilon` at the cut).
Every story ends in a cluster; a story close to nothing is an event of one. Fresh clusters are
named after the ids their members had before.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.sparse.csgraph import connected_components

CLUSTERERS = ("average", "hdbscan")
HDBSCAN_REACH = 0.05  # how far above the cut HDBSCAN may join stories into one cluster


def cluster_labels(distance: np.ndarray, max_distance: float, clusterer: str = "average") -> np.ndarray:
    """Cluster labels 0.. for a symmetric distance matrix, cut at `max_distance` by `clusterer`."""
    if clusterer == "average":
        return average_labels(distance, max_distance)
    if clusterer == "hdbscan":
        return hdbscan_labels(distance, max_distance)
    raise ValueError(f"unknown event clusterer {clusterer!r}; one of {', '.join(CLUSTERERS)}")


def hdbscan_labels(distance: np.ndarray, max_distance: float) -> np.ndarray:
    """HDBSCAN clusters (of two stories or more, excess-of-mass selection) on the precomputed
    distances, clusters and stories within `max_distance` of each other joined: HDBSCAN with
    `cluster_selection_epsilon` at the cut (Malzer and Baum 2019), which is DBSCAN* below the cut
    and HDBSCAN above it. The join is done here: scikit-learn 1.9's own epsilon selection
    raises a TypeError (with numpy 2.4). Each connected part of the graph of pairs within `HDBSCAN_REACH` above the cut is
    clustered on its own: a window's unrelated topics are never one HDBSCAN cluster. A story
    HDBSCAN calls noise and close to nothing is an event of one."""
    from sklearn.cluster import HDBSCAN  # imported on first use: the average clusterer needs none of it

    def part_labels(distance: np.ndarray, members: np.ndarray) -> np.ndarray:
        part = distance if len(members) == len(distance) else distance[np.ix_(members, members)]
        n = len(part)
        within = sparse.csr_matrix(part <= max_distance)
        # a float64 copy of our own for HDBSCAN to work in: no second copy of it (copy=False)
        found = HDBSCAN(min_cluster_size=2, min_samples=1, metric="precomputed", allow_single_cluster=True,
                        copy=False).fit_predict(part.astype(np.float64))
        members = np.flatnonzero(found >= 0)
        # each story of an HDBSCAN cluster linked to the cluster's first story, plus every pair within the cut
        first = np.full(int(found.max()) + 1 if len(members) else 0, -1)
        for i in members[::-1]:
            first[found[i]] = i
        links = sparse.csr_matrix((np.ones(len(members)), (members, first[found[members]])), shape=(n, n))
        return connected_components(links + within, directed=False)[1]

    return _by_part(distance, max_distance + HDBSCAN_REACH, part_labels)


def _by_part(distance: np.ndarray, max_distance: float, part_labels) -> np.ndarray:
    """Labels from `part_labels` (the distances and the positions of one part -> labels 0..) run
    on each connected part of the graph of pairs within `max_distance`, numbered apart."""
    n = len(distance)
    labels = np.zeros(n, dtype=int)
    if n < 2:
        return labels
    n_parts, part = connected_components(sparse.csr_matrix(distance <= max_distance), directed=False)
    order = np.argsort(part, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(part[order]) != 0])
    next_label = 0
    for members in np.split(order, starts[1:]):
        found = np.zeros(1, dtype=int) if len(members) == 1 else part_labels(distance, members)
        labels[members] = found + next_label
        next_label += int(found.max()) + 1
    return labels


def average_labels(distance: np.ndarray, max_distance: float) -> np.ndarray:
    """Average-linkage clusters whose mean inner distance stays within `max_distance`.

    Two stories with no chain of pairs within `max_distance` between them can never share a
    cluster (every pair across would be farther), so each connected part of that graph is
    linked on its own: far cheaper than one linkage over the window when topics are many.
    """

    def part_labels(distance: np.ndarray, members: np.ndarray) -> np.ndarray:
        return fcluster(linkage(condensed(distance, members), method="average"), t=max_distance,
                        criterion="distance") - 1

    return _by_part(distance, max_distance, part_labels)


def condensed(distance: np.ndarray, members: np.ndarray) -> np.ndarray:
    """The upper triangle of the symmetric `distance` among `members` (sorted positions), row by
    row as float64: the form `linkage` takes. Built straight from the rows, with no square block
    of the part and no float32 copy of it in between: a part can be most of a 10,000-story window."""
    k = len(members)
    out = np.empty(k * (k - 1) // 2, dtype=np.float64)
    whole = k == len(distance)  # members are sorted and distinct: all of them, in order
    at = 0
    for i in range(k - 1):
        row = distance[i, i + 1:] if whole else distance[members[i], members[i + 1:]]
        out[at:at + k - 1 - i] = row
        at += k - 1 - i
    return out


def new_id(prefix: str, founder: str, taken: set[str]) -> str:
    """A fresh id derived from the founding member, never one already used."""
    salt = 0
    while True:
        key = founder if salt == 0 else f"{founder}\x00{salt}"
        candidate = prefix + hashlib.blake2b(key.encode(), digest_size=6).hexdigest()
        if candidate not in taken:
            return candidate
        salt += 1


@dataclass(slots=True)
class Assignment:
    event_of: dict[str, str]  # member -> id
    merged_into: dict[str, str] = field(default_factory=dict)  # absorbed id -> surviving id


def _groups(member_ids: list[str], labels: np.ndarray) -> list[list[str]]:
    clusters: dict[int, list[str]] = {}
    for mid, label in zip(member_ids, labels):
        clusters.setdefault(int(label), []).append(mid)
    return sorted(clusters.values(), key=lambda m: (-len(m), min(m)))


def remap_ids(
    member_ids: list[str],
    labels: np.ndarray,
    previous: dict[str, str],
    known: set[str] = frozenset(),
    prefix: str = "e_",
) -> Assignment:
    """Name fresh clusters after the previous ids their members had (a rebuild).

    Each previous id goes to the cluster holding most of its old members, so it keeps its
    meaning and as many stories as possible keep their id: (cluster, id) pairs are taken by
    how many members they share, most first, each cluster and each id at most once (ties: the
    larger cluster, then the id). A cluster that took no id gets a new one. A previous id no
    cluster took was absorbed: it is merged into the id now held by most of its old members.
    Why not let the largest cluster choose first: where one event's stories split, a large
    cluster of new stories holding a few of them took the id from the cluster holding most of
    them, so the new stories joined the event.
    """
    taken: set[str] = set(known) | set(previous.values())
    groups = _groups(member_ids, labels)  # largest first
    shared = sorted((-n, position, eid) for position, members in enumerate(groups)
                    for eid, n in Counter(previous[m] for m in members if m in previous).items())
    name: dict[int, str] = {}
    reused: set[str] = set()
    for _, position, eid in shared:
        if position not in name and eid not in reused:
            name[position] = eid
            reused.add(eid)
    event_of: dict[str, str] = {}
    for position, members in enumerate(groups):
        chosen = name.get(position) or new_id(prefix, min(members), taken)
        taken.add(chosen)
        event_of.update(dict.fromkeys(members, chosen))
    merged_into = {}
    for old in set(previous[m] for m in member_ids if m in previous) - reused:
        heirs = Counter(event_of[m] for m in member_ids if previous.get(m) == old)
        merged_into[old] = min(heirs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return Assignment(event_of, merged_into)
