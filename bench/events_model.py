"""Fit the same-event model (`pipeline.events.model`) on labelled windows, and write the committed one.

    .venv/bin/python -m bench.events_model [--out pipeline/events/same_event_model.json]

Written file: both logistic regressions fitted on every pair within each window of the whole
dev set (the 23 topics dealt into 5 windows, fold seed 0, text with tokenization undone as runs
read it), the cut for each clusterer chosen by leaving one window out in turn (the model fitted
on the other four). `bench.events` calls the same `fit` on each split's training topics only.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from bench.scoring import bcubed  # noqa: E402
from pipeline.config import EventConfig  # noqa: E402
from pipeline.events import cluster  # noqa: E402
from pipeline.events.model import FEATURES, MODEL_FILE, SameEventModel, WindowTerms, pair_features, window_distance  # noqa: E402

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
    from pipeline.events.model import window_terms

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
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
