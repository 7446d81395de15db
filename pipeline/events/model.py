"""The same-event model: how likely two stories of one window report the same event, learned
from labelled pairs.

Each pair of stories in a window is described by a few numbers (`FEATURES`): the cosine of
their sentence embeddings, the TF-IDF cosines of their lexical evidence (`lexical`: names,
places and numbers; names alone; content words; content-word pairs), how many rare names and
numbers they share and how many the shorter of them has. A logistic regression turns these into
p(same event). Stories are clustered on 1 - p, locally scaled (`similarity.local_scaling`), at
the cut learned with the model for the clusterer (`events.distance` overrides it for a run).

The coefficients, the feature scaling, the share of local scaling and the cuts are a small
JSON file (`MODEL_FILE`) written by `python -m bench.events_model` from the labelled dev set;
runs only read it (numpy and scipy; fitting needs scikit-learn).
"""
from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy import sparse

from pipeline.config import EventConfig
from pipeline.events import lexical, similarity
from pipeline.events.similarity import THREADS, story_document
from pipeline.records import Article

MODEL_FILE = Path(__file__).with_name("same_event_model.json")

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
    counts = lexical.term_counts(documents, names=True)  # evidence, words, word pairs, names
    fields = tuple(lexical.tfidf_rows(c) for c in counts)
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
    def load(cls, path: Path = MODEL_FILE) -> "SameEventModel":
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        model = cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
        if model.features != FEATURES:
            raise ValueError(f"{path}: the model's features are not this code's ({', '.join(FEATURES)}): "
                             "train it again (python -m bench.events_model)")
        return model

    def save(self, path: Path = MODEL_FILE) -> None:
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


def window_distance(stories: list[Article], vectors: np.ndarray, config: EventConfig,
                    model: SameEventModel | None = None, terms: WindowTerms | None = None) -> tuple[np.ndarray, float]:
    """Distances between the stories of one window, and the cut to cluster them at.

    1 - p(same event) (`model`, the committed one when None), stories published apart losing up
    to `events.time_weight` log-odds (in full from `events.time_scale_days` apart, when both
    times are known: the dev set is undated, so this prior is set, not learned), locally scaled
    as the model was fitted (`similarity.local_scaling`). The cut is `events.distance`, or the
    model's for the clusterer.
    """
    model = model or default_model()
    if terms is None:
        terms = window_terms(stories, vectors, config.common_line_share)
    days = np.array([a.published_at.timestamp() / 86400 if a.published_at else np.nan for a in stories])
    distance = model.probability(terms, days, config.time_scale_days, config.time_weight)
    np.subtract(1.0, distance, out=distance)
    similarity.local_scaling(distance, model.neighbours, model.scaling)
    return distance, model.cuts[config.clusterer] if config.distance is None else config.distance


_loaded: dict[Path, SameEventModel] = {}


def default_model() -> SameEventModel:
    """The committed model (`MODEL_FILE`), read once per process."""
    if MODEL_FILE not in _loaded:
        _loaded[MODEL_FILE] = SameEventModel.load(MODEL_FILE)
    return _loaded[MODEL_FILE]
