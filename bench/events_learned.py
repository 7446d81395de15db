"""A learned same-event similarity, judged by `bench.events`' held-out protocol (not in the pipeline).

    .venv/bin/python -m bench.events_learned [--repeats 0 1 2] [--configs NAME ...] [--text given detok]

Per pair of stories in a window: the embedding cosine, TF-IDF cosines of evidence terms, of
names only, of content words, of content-word pairs and of headline words, whether both have
a headline, shared rare evidence terms, the shorter story's number of evidence terms, the
pipeline's plain and locally scaled distances, and the pair's place in each story's
neighbourhood (rank among its nearest others, distance against its reach). A scikit-learn
classifier (gradient-boosted trees or logistic regression) is trained on the pairs of the
training folds' windows; stories are clustered by average linkage on 1 - p(same event)
(optionally blended with the pipeline's distance) at a cut chosen by an inner k-fold over the
training windows (the model trained without the window it cuts). Incremental runs cluster
each window from scratch on the learned distance and keep ids by `update_events`' remapping.
The first configuration, the pipeline as configured, is the paired baseline.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # tree fitting on a shared machine: threads oversubscribe

import argparse  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from bench import dev_set  # noqa: E402
from bench import events as bench_events  # noqa: E402
from pipeline.config import Settings  # noqa: E402
from pipeline.events import assign as events  # noqa: E402
from pipeline.events import cluster, lexical, similarity  # noqa: E402

CONFIG = Settings().events
WINDOW_DISTANCE = events.window_distance  # the pipeline's, also while a run is pointed at the learned one


def _cosines(rows) -> np.ndarray:
    return (rows @ rows.T).toarray().astype(np.float32)


def _ranks(distance: np.ndarray) -> np.ndarray:
    """Rank of j among i's nearest stories (0: i itself)."""
    order = np.argsort(distance, axis=1, kind="stable")
    ranks = np.empty_like(order)
    ranks[np.arange(len(distance))[:, None], order] = np.arange(len(distance))[None, :]
    return ranks.astype(np.float32)


def pair_features(stories, vectors) -> dict[str, np.ndarray]:
    """n x n matrices of per-pair features for one window."""
    documents = lexical.without_common_lines([similarity.story_document(a) for a in stories],
                                             CONFIG.common_line_share)
    counts = lexical.term_counts(documents, True)
    f = {"emb": (vectors @ vectors.T).astype(np.float32)}
    for name, c in zip(("evidence", "words", "pairs"), counts):
        f[name] = _cosines(lexical.tfidf_rows(c))
    f["names"] = _cosines(lexical.tfidf_rows(lexical.name_counts(documents)))
    titles = [a.title or "" for a in stories]
    f["title_words"] = _cosines(lexical.tfidf_rows(lexical.term_counts(titles, False)[1]))
    has_title = np.array([bool(t.strip()) for t in titles], dtype=np.float32)
    f["both_titles"] = has_title[:, None] * has_title[None, :]
    present = (counts[0] > 0).astype(np.float32).tocsc()
    df = np.asarray(present.sum(axis=0)).ravel()
    rare = present[:, (df >= 2) & (df <= 3)].tocsr()
    f["shared_rare"] = np.log1p((rare @ rare.T).toarray()).astype(np.float32)
    n_terms = np.asarray(present.sum(axis=1)).ravel().astype(np.float32)
    f["min_len"] = np.log1p(np.minimum(n_terms[:, None], n_terms[None, :]))
    plain, _ = WINDOW_DISTANCE(stories, vectors, CONFIG.model_copy(update={"scaling_weight": 0.0}))
    f["d0"] = plain
    f["d1"], _ = WINDOW_DISTANCE(stories, vectors, CONFIG)
    ranks = _ranks(plain)
    f["rank_max"] = np.log1p(np.maximum(ranks, ranks.T))
    f["rank_min"] = np.log1p(np.minimum(ranks, ranks.T))
    n = len(plain)
    k = min(5, n - 1)
    reach = np.partition(plain, k, axis=1)[:, k] if n > 2 else np.ones(n, dtype=np.float32)
    f["rel"] = plain / np.sqrt(np.maximum(reach[:, None] * reach[None, :], 1e-6))
    nearest = np.partition(plain + np.eye(n, dtype=np.float32) * 9, 0, axis=1)[:, 0] if n > 1 else np.ones(n)
    f["rel1"] = plain - np.maximum(nearest[:, None], nearest[None, :])
    return f


ALL = ["emb", "evidence", "words", "pairs", "names", "title_words", "both_titles", "shared_rare", "min_len",
       "d0", "d1", "rank_max", "rank_min", "rel", "rel1"]
NO_NEIGHBOURHOOD = ALL[:10]
CUTS = np.round(np.arange(0.3, 0.951, 0.025), 3)


class Learned:
    """A pair model on `features`, its cut chosen by an inner k-fold over the training windows."""

    def __init__(self, model: str, features: list[str], blend: float = 1.0):
        self.model, self.features, self.blend = model, features, blend
        self.cache: dict[int, tuple] = {}

    def classifier(self):
        if self.model == "hgb":
            return HistGradientBoostingClassifier(max_iter=150, learning_rate=0.1, max_leaf_nodes=15,
                                                  l2_regularization=1.0, min_samples_leaf=40, random_state=0)
        return LogisticRegression(C=1.0, max_iter=2000)

    def matrices(self, stories, vectors) -> tuple[np.ndarray, np.ndarray]:
        f = pair_features(stories, vectors)
        return np.stack([f[k] for k in self.features], axis=-1), f["d1"]

    def window_matrices(self, window):
        if id(window) not in self.cache:
            self.cache[id(window)] = self.matrices(window.articles, window.vectors)
        return self.cache[id(window)]

    def train(self, windows):
        x, y = [], []
        for w in windows:
            features, _ = self.window_matrices(w)
            upper = np.triu_indices(len(w.gold), 1)
            gold = np.array(w.gold)
            x.append(features[upper])
            y.append(gold[upper[0]] == gold[upper[1]])
        return self.classifier().fit(np.concatenate(x), np.concatenate(y))

    def distance(self, model, features: np.ndarray, scaled: np.ndarray) -> np.ndarray:
        n = features.shape[0]
        p = model.predict_proba(features.reshape(n * n, -1))[:, 1].reshape(n, n)
        distance = 1 - (p + p.T) / 2
        if self.blend < 1:
            distance = self.blend * distance + (1 - self.blend) * scaled
        np.fill_diagonal(distance, 0)
        return distance.astype(np.float32)

    def fit(self, training):
        score = np.zeros(len(CUTS))
        for k, held in enumerate(training):
            model = self.train([w for j, w in enumerate(training) if j != k])
            distance = self.distance(model, *self.window_matrices(held))
            score += [bench_events.f1(held.gold, cluster.cluster_labels(distance.copy(), c)) for c in CUTS]
        return FittedLearned(self, self.train(training), float(CUTS[int(np.argmax(score))]))


@dataclass
class FittedLearned:
    method: Learned
    model: object
    cut: float

    def describe(self) -> str:
        return f"cut {self.cut:.3f}"

    def window_distance(self, stories, vectors, config=None, placed=None):
        return self.method.distance(self.model, *self.method.matrices(stories, vectors)), self.cut

    def labels(self, window) -> np.ndarray:
        return cluster.cluster_labels(*self.window_distance(window.articles, window.vectors))

    def update(self, stories, vectors, previous, known):
        events.window_distance = self.window_distance
        try:
            return events.update_events(stories, vectors, previous, known, CONFIG)
        finally:
            events.window_distance = WINDOW_DISTANCE


CONFIGS = {
    "pipeline": lambda: bench_events.CurrentPipeline(),
    "gradient boosting": lambda: Learned("hgb", ALL),
    "gradient boosting, no neighbourhood": lambda: Learned("hgb", NO_NEIGHBOURHOOD),
    "logistic regression": lambda: Learned("lr", ALL),
    "gradient boosting, half blended": lambda: Learned("hgb", ALL, blend=0.5),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, nargs="+", default=[0, 1, 2], help="fold seeds")
    parser.add_argument("--configs", nargs="+", default=list(CONFIGS), help=f"of {list(CONFIGS)}")
    parser.add_argument("--text", nargs="+", default=["given", "detok"], choices=["given", "detok"])
    parser.add_argument("--one-run-only", action="store_true", help="skip the incremental runs")
    args = parser.parse_args()
    settings = Settings()
    rows = dev_set.load()
    for text in args.text:
        articles = dev_set.articles(rows, detokenize=text == "detok")
        keep = [i for i, a in enumerate(articles) if a.text.strip()]
        data = bench_events.Window([articles[i] for i in keep],
                                   bench_events.embeddings([articles[i] for i in keep], settings),
                                   [rows[i]["event"] for i in keep])
        topic_of = [rows[i]["topic"] for i in keep]
        print(f"\n== text {'as given' if text == 'given' else 'with tokenization undone'} ({len(keep)} stories)")
        baseline = None
        for name in args.configs:
            t0 = time.perf_counter()
            results = bench_events.evaluate(CONFIGS[name], data, topic_of, args.folds, args.repeats, 5,
                                            not args.one_run_only)
            print(f"  {name:36s} {bench_events.summary(results, baseline)}   [{time.perf_counter() - t0:.0f} s]",
                  flush=True)
            baseline = baseline or results


if __name__ == "__main__":
    main()
