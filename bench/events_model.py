"""A learned same-event similarity, judged by `bench.events`' held-out protocol (not in the pipeline).

    .venv/bin/python -m bench.events --configs average learned learned-hdbscan   (held out)
    .venv/bin/python -m bench.events_model --out FILE                           (fit on the whole dev set)

Each pair of stories in a window is described by seven numbers (`FEATURES`): the cosine of
their sentence embeddings, the TF-IDF cosines of their lexical evidence (`pipeline.events.lexical`:
names, places and numbers; names alone; content words; content-word pairs), how many rare names
and numbers they share (held by 2 or 3 stories of the window) and how many the shorter of them
has. A logistic regression, fitted on every pair within each training window, turns them into
p(same event). Stories are clustered on 1 - p, locally scaled (`similarity.local_scaling`), at a
cut; the share of local scaling and each clusterer's cut are chosen by leaving each training
window out in turn (the regression fitted on the others). Nothing here reads a setting the
pipeline's blended distance uses, except `events.common_line_share` and the time scale.

The fitted model is a small JSON text (coefficients, feature scaling, scaling share, cuts),
evaluated with numpy in row blocks (a 10,000-story window: about 9 s on 2 shared cores).
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from dataclasses import asdict, dataclass, replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy import sparse  # noqa: E402

from bench.scoring import bcubed  # noqa: E402
from pipeline.config import EventConfig  # noqa: E402
from pipeline.events import cluster, lexical, similarity  # noqa: E402
from pipeline.events.similarity import THREADS, story_document  # noqa: E402
from pipeline.records import Article  # noqa: E402

LOG_ODDS_PER_GAP = 10.0  # log-odds two stories events.time_scale_days or more apart lose (set, not learned)

FEATURES = ("embedding", "evidence", "words", "word_pairs", "names", "shared_rare", "fewest_terms")
BLOCK = 512  # row block of the n x n steps: features of one block are BLOCK x n x len(FEATURES) floats


@dataclass(frozen=True, slots=True)
class WindowTerms:
    """What a window's pair features are computed from: unit rows per field, one row per story."""

    vectors: np.ndarray
    fields: tuple[sparse.csr_matrix, ...]  # evidence, words, word pairs, names (TF-IDF rows)
    rare: sparse.csr_matrix  # evidence terms held by 2 or 3 stories of the window, as 0/1
    n_terms: np.ndarray  # distinct evidence terms per story

    def __len__(self) -> int:
        return len(self.vectors)


def window_terms(stories: list[Article], vectors: np.ndarray, common_line_share: float) -> WindowTerms:
    documents = lexical.without_common_lines([story_document(a) for a in stories], common_line_share)
    counts = lexical.term_counts(documents)
    fields = tuple(lexical.tfidf_rows(c) for c in counts + (lexical.name_counts(documents),))
    present = (counts[0] > 0).astype(np.float32).tocsc()
    df = np.asarray(present.sum(axis=0)).ravel()
    return WindowTerms(np.ascontiguousarray(vectors, dtype=np.float32), fields,
                       present[:, (df >= 2) & (df <= 3)].tocsr(),
                       np.asarray(present.sum(axis=1)).ravel().astype(np.float32))


def block_features(terms: WindowTerms, rows: slice, first_column: int = 0) -> np.ndarray:
    """Features (`FEATURES`) of the pairs (i, j), i in `rows`, j from `first_column` on:
    features x rows x columns."""
    n = len(terms)
    rows = slice(rows.start, min(rows.stop, n))
    columns = slice(first_column, n)
    out = np.empty((len(FEATURES), rows.stop - rows.start, n - first_column), dtype=np.float32)
    np.matmul(terms.vectors[rows], terms.vectors[columns].T, out=out[0])
    for k, field in enumerate(terms.fields, start=1):
        out[k] = (field[rows] @ field[columns].T).toarray()
    out[5] = (terms.rare[rows] @ terms.rare[columns].T).toarray()
    np.log1p(out[5], out=out[5])
    np.minimum(terms.n_terms[rows, None], terms.n_terms[None, columns], out=out[6])
    np.log1p(out[6], out=out[6])
    return out


def pair_features(terms: WindowTerms) -> np.ndarray:
    """n x n x features: every pair's features (`FEATURES`), for fitting."""
    return np.moveaxis(block_features(terms, slice(0, len(terms))), 0, -1)


@dataclass(frozen=True)
class SameEventModel:
    """A logistic regression on the pair features, the local scaling of its distances and the
    cut per clusterer."""

    features: tuple[str, ...]  # `FEATURES`
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float
    neighbours: int
    scaling: float  # share of each distance rescaled by the two stories' local reach (`similarity.local_scaling`)
    cuts: dict[str, float]  # clusterer -> cut on the scaled 1 - p
    trained_on: str = ""

    @classmethod
    def load(cls, path: Path) -> "SameEventModel":
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        model = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
        if model.features != FEATURES:
            raise ValueError(f"{path}: the model's features are not this code's ({', '.join(FEATURES)}): "
                             "fit it again (python -m bench.events_model)")
        return model

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1) + "\n", encoding="utf-8")

    def probability(self, terms: WindowTerms, days: np.ndarray | None = None, scale_days: float = 1.0,
                    gap_log_odds: float = 0.0) -> np.ndarray:
        """n x n p(same event), float32, symmetric, 1 on the diagonal.

        With `days` (each story's publication time in days, NaN where unknown), two stories
        `scale_days` or more apart lose `gap_log_odds` of their log-odds, closer ones in
        proportion; a pair with an unknown time loses nothing.
        """
        n = len(terms)
        dated = days is not None and gap_log_odds > 0 and int(np.isfinite(days).sum()) > 1
        if dated:
            known = np.isfinite(days)
            all_known = bool(known.all())
            days = np.where(known, days - np.nanmin(days), 0.0).astype(np.float32) / np.float32(scale_days)
        weights = np.asarray(self.coef, dtype=np.float64) / np.asarray(self.scale, dtype=np.float64)
        offset = np.float32(self.intercept - float(np.dot(weights, self.mean)))
        weights = weights.astype(np.float32)
        p = np.empty((n, n), dtype=np.float32)

        def fill(start: int) -> None:
            # every feature is symmetric: a block of rows is computed from its diagonal on and mirrored
            stop = min(start + BLOCK, n)
            x = block_features(terms, slice(start, stop), start)
            score = np.tensordot(weights, x, axes=1)
            score += offset
            if dated:
                gap = np.abs(days[start:stop, None] - days[None, start:])
                np.minimum(gap, 1.0, out=gap)
                gap *= np.float32(gap_log_odds)
                if not all_known:
                    gap *= known[start:stop, None] & known[None, start:]
                score -= gap
            np.negative(score, out=score)
            np.clip(score, -30, 30, out=score)
            np.exp(score, out=score)
            score += 1
            np.reciprocal(score, out=score)
            p[start:stop, start:] = score
            p[stop:, start:stop] = score[:, stop - start:].T

        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(fill, range(0, n, BLOCK)))
        np.fill_diagonal(p, 1.0)
        return p


def window_distance(stories: list[Article], vectors: np.ndarray, config: EventConfig, model: SameEventModel,
                    terms: WindowTerms | None = None) -> tuple[np.ndarray, float]:
    """1 - p(same event) between the stories of one window, stories published apart losing up to
    `LOG_ODDS_PER_GAP` log-odds (in full from `events.time_scale_days` apart when both times are
    known: the dev set is undated, this is not learned), locally scaled as the model was fitted;
    and the model's cut for `events.clusterer`."""
    if terms is None:
        terms = window_terms(stories, vectors, config.common_line_share)
    days = np.array([a.published_at.timestamp() / 86400 if a.published_at else np.nan for a in stories])
    distance = model.probability(terms, days, config.time_scale_days, LOG_ODDS_PER_GAP)
    np.subtract(1.0, distance, out=distance)
    similarity.local_scaling(distance, model.neighbours, model.scaling)
    return distance, model.cuts[config.clusterer]


# ---------------------------------------------------------------------------------------------
# Fitting (scikit-learn)

CUTS = tuple(float(c) for c in np.round(np.arange(0.025, 0.951, 0.025), 3))
SCALINGS = (0.0, 0.25, 0.5, 0.75)
NEIGHBOURS = 5  # which nearest other story sets a story's local reach


def _pairs(features: np.ndarray, gold: list) -> tuple[np.ndarray, np.ndarray]:
    upper = np.triu_indices(len(gold), 1)
    labels = np.asarray(gold)
    return features[upper], labels[upper[0]] == labels[upper[1]]


def fit_regression(windows: list[WindowTerms], golds: list[list]) -> SameEventModel:
    """The regression fitted on every pair within each window, features standardized (scaling
    0, cuts 0.5: `fit` sets them)."""
    from sklearn.linear_model import LogisticRegression

    xs, ys = zip(*(_pairs(pair_features(t), g) for t, g in zip(windows, golds)))
    x, y = np.concatenate(xs).astype(np.float64), np.concatenate(ys)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    regression = LogisticRegression(C=1.0, max_iter=5000).fit((x - mean) / scale, y)
    return SameEventModel(FEATURES, tuple(map(float, mean)), tuple(map(float, scale)),
                          tuple(map(float, regression.coef_[0])), float(regression.intercept_[0]), NEIGHBOURS, 0.0,
                          {c: 0.5 for c in cluster.CLUSTERERS})


def fit(windows: list[WindowTerms], golds: list[list], trained_on: str = "",
        scalings: tuple = SCALINGS) -> SameEventModel:
    """The regression fitted on all `windows`; the local scaling and each clusterer's cut are
    those with the best mean B-cubed F1 over the windows, each left out in turn (the regression
    fitted on the others)."""
    config = EventConfig()
    score = {(c, s): np.zeros(len(CUTS)) for c in cluster.CLUSTERERS for s in scalings}
    for k in range(len(windows)):
        model = fit_regression([w for j, w in enumerate(windows) if j != k], [g for j, g in enumerate(golds) if j != k])
        for scaling in scalings:
            scaled = replace(model, scaling=scaling)
            distance, _ = window_distance([], None, config, scaled, windows[k])
            for clusterer in cluster.CLUSTERERS:
                score[clusterer, scaling] += [
                    bcubed(golds[k], list(cluster.cluster_labels(distance.copy(), cut, clusterer)))[2] for cut in CUTS]
    # the scaling the default clusterer scores best with; each clusterer's best cut at it
    scaling = max(scalings, key=lambda s: (score[config.clusterer, s].max(), -s))
    cuts = {c: CUTS[int(np.argmax(score[c, scaling]))] for c in cluster.CLUSTERERS}
    return replace(fit_regression(windows, golds), scaling=scaling, cuts=cuts, trained_on=trained_on)


def main() -> None:
    from bench import dev_set
    from bench.events import embeddings, topic_folds
    from pipeline.config import Settings
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    settings = Settings()
    rows = dev_set.load()
    articles = dev_set.articles(rows, detokenize=True)
    keep = [i for i, a in enumerate(articles) if a.text.strip()]  # a run rejects a story without text
    vectors = embeddings([articles[i] for i in keep], settings)
    topics = sorted({rows[i]["topic"] for i in keep})
    windows, golds = [], []
    for fold in topic_folds(topics, 5, 0):
        inside = [n for n, i in enumerate(keep) if rows[i]["topic"] in fold]
        windows.append(window_terms([articles[keep[n]] for n in inside], vectors[inside],
                                    settings.events.common_line_share))
        golds.append([rows[keep[n]]["event"] for n in inside])
    fitted = fit(windows, golds, trained_on=f"{dev_set.DEV_SET.name}: {len(keep)} stories, {len(topics)} topics in "
                                             "5 windows (fold seed 0), tokenization undone")
    fitted.save(args.out)
    print(f"wrote {args.out}: local scaling {fitted.scaling}, cuts {fitted.cuts}")


if __name__ == "__main__":
    main()
