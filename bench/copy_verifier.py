"""Train the learned copy verifier (`pipeline/dedup/verifier.py`) from the dev set, and judge it held out.

    .venv/bin/python -m bench.copy_verifier [--folds 5] [--write]

Labelled pairs: every dev story gets one copy per in-house damage kind and strength
(`tests/support/synth.py`: trims, re-wraps, garbling, OCR noise, typos and mixes); a copy and its
original, and two real wire copies, are copies; any story or copy against another story of the
same event (another outlet's rewrite) is not. The model is fitted on all of them; the probability
from which it calls a copy is chosen on the pairs no rule of `verify.decide` proves (the only
ones it decides): the lowest at which those pairs, scored by models fitted without their topics
(an inner grouped k-fold over the training topics), reach `PRECISION`.

Printed: per held-out fold of topics (grouped k-fold, the model and its threshold fitted on the
other folds), the verifier's pairwise precision and recall on the held-out pairs no rule proves. `--write` fits on
every dev topic and writes the committed model file.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.copies import inhouse  # noqa: E402
from bench.near_duplicates import T0, default_data, read_dev, real_copy_groups  # noqa: E402
from pipeline.config import DedupConfig  # noqa: E402
from pipeline.dedup.verifier import FEATURES, MODEL_FILE, CopyVerifier  # noqa: E402
from pipeline.dedup.verify import Rarity, decide, fingerprints, plain_scores, verifier_values  # noqa: E402
from pipeline.ingest.normalize import normalize  # noqa: E402
from pipeline.records import RawStory  # noqa: E402
from tests.support import synth  # noqa: E402

PRECISION = 0.995  # of the pairs the verifier calls copies, on topics its model never saw
KINDS = [(k, s) for k in synth.KINDS for s in synth.STRENGTHS]
SEED = 11  # of the copies the committed model is fitted on


def labelled_pairs(rows: list[dict], seed: int,
                   damages: list | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(features in `FEATURES` order, is a copy, topic, no rule proves it, word-bag cosine) of
    labelled pairs from `rows` and one copy of each per damage in `damages` (default: every in-house
    kind at every strength); the cosine weighs words by TF-IDF over all those stories, as
    `neighbours` does over a run's window."""
    rng = random.Random(seed)
    random.seed(seed)  # nlpaug draws from the global generators
    np.random.seed(seed)
    damages = damages or inhouse(KINDS)
    truth = real_copy_groups(rows)[0]
    by_event: dict[str, list[dict]] = {}
    for r in rows:
        by_event.setdefault(r["event"], []).append(r)
    stories, origin = [], {}
    for i, r in enumerate(rows):
        original = RawStory(source_id=r["id"], body=r["body"], title=r["title"], source=r["source"] or "wire",
                            published_at=T0 + timedelta(minutes=10 * i))
        stories.append(original)
        origin[r["id"]] = r
        others = [d for d in by_event[r["event"]] if d["id"] != r["id"]] or rows
        for name, fn in damages:
            sid = f"{r['id']}~{name}"
            stories.append(replace(original, source_id=sid, body=fn(r["body"], rng, rng.choice(others)["body"]),
                                   source="copydesk"))
            origin[sid] = r
    articles = [a for a in normalize(stories, T0) if a.text.strip()]
    prints = dict(zip((a.source_id for a in articles), fingerprints(articles, DedupConfig().shingle_words)))
    rarity = Rarity(list(prints.values()))
    position = {sid: i for i, sid in enumerate(prints)}
    rows_tfidf = word_bag_rows([a.text for a in articles if a.source_id in prints])
    items: dict[str, list[str]] = {}
    for sid in prints:
        items.setdefault(origin[sid]["id"], []).append(sid)

    pairs: list[tuple[str, str, bool]] = []
    for rid, copies in items.items():
        r = origin[rid]
        own = [c for c in copies if c != rid]
        pairs += [(c, rid, True) for c in own if rid in prints]
        for other in by_event[r["event"]]:
            if other["id"] <= rid or other["id"] not in prints:
                continue
            same = truth[other["id"]] == truth[rid]
            pairs += [(c, other["id"], same) for c in copies]  # rewrites, or real wire copies
    config = DedupConfig(verifier="none")
    x, y, topic, free, cosine = [], [], [], [], []
    for a, b, label in pairs:
        fa, fb = prints[a], prints[b]
        small = min(fa.n_tokens, fb.n_tokens)
        if small < config.min_tokens:
            continue
        scores = plain_scores(fa, fb)
        values = verifier_values(fa, fb, scores, rarity.scores(fa, fb))
        x.append([values[f] for f in FEATURES])
        y.append(label)
        topic.append(origin[a]["topic"])
        free.append(not decide(config, scores, small, rarity.scores(fa, fb)))
        cosine.append(rows_tfidf[position[a]].multiply(rows_tfidf[position[b]]).sum() if rows_tfidf is not None else 0.0)
    return (np.array(x, dtype=np.float64), np.array(y, dtype=bool), np.array(topic), np.array(free, dtype=bool),
            np.array(cosine, dtype=np.float64))


def word_bag_rows(texts: list[str]):
    """The texts' word bags as TF-IDF rows (`pipeline.dedup.neighbours`); None for a stage without
    word-bag neighbours (a baseline ref)."""
    try:
        from pipeline.dedup.neighbours import tfidf_rows, word_bags
    except ImportError:
        return None
    return tfidf_rows(word_bags(texts))


def threshold_for(p: np.ndarray, y: np.ndarray, precision: float = PRECISION) -> float:
    """The lowest probability at which the pairs scored that high or higher reach `precision`."""
    order = np.argsort(-p, kind="stable")
    reached = np.cumsum(y[order]) / np.arange(1, len(order) + 1) >= precision
    if not reached.any():
        return 1.0
    return float(p[order][len(reached) - 1 - int(np.argmax(reached[::-1]))])


def fit(x: np.ndarray, y: np.ndarray, topic: np.ndarray, free: np.ndarray, cosine: np.ndarray,
        folds: int = 3) -> CopyVerifier:
    """The model on all pairs, its threshold from out-of-fold probabilities (grouped by topic) of
    the pairs no rule proves, which are the ones it decides; and the lowest word-bag cosine of the
    copies it or a rule then calls."""
    topics = sorted(set(topic))
    p = np.zeros(len(y))
    for k in range(folds):
        held = np.isin(topic, topics[k::folds])
        p[held] = CopyVerifier.fit(x[~held], y[~held], 0.5).probabilities(x[held])
    model = CopyVerifier.fit(x, y, threshold_for(p[free], y[free]))
    if not hasattr(model, "min_word_cosine"):  # a baseline ref's verifier
        return model
    called = y & (~free | (model.probabilities(x) >= model.threshold))
    return replace(model, min_word_cosine=float(cosine[called].min(initial=1.0)))


def fit_on(rows: list[dict], seed: int) -> CopyVerifier:
    return fit(*labelled_pairs(rows, seed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=default_data())
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--write", action="store_true", help=f"fit on every dev topic and write {MODEL_FILE.name}")
    args = parser.parse_args()
    rows = read_dev(args.data)
    x, y, topic, free, cosine = labelled_pairs(rows, args.seed)
    print(f"{len(y)} labelled pairs, {int(y.sum())} of them copies; {int(free.sum())} no rule proves, "
          f"{int((free & y).sum())} of them copies")
    topics = sorted(set(topic))
    precision, recall = [], []
    for k in range(args.folds):
        train = ~np.isin(topic, topics[k::args.folds])
        held = ~train & free
        model = fit(x[train], y[train], topic[train], free[train], cosine[train])
        called = model.probabilities(x[held]) >= model.threshold
        precision.append(float((y[held] & called).sum() / max(1, called.sum())))
        recall.append(float((y[held] & called).sum() / max(1, y[held].sum())))
        print(f"  fold {k}: threshold {model.threshold:.3f}  word cosine from {model.min_word_cosine:.3f}  "
              f"precision {precision[-1]:.4f}  recall {recall[-1]:.3f}")
    print(f"held out: precision {statistics.mean(precision):.4f} ± {statistics.pstdev(precision):.4f}  "
          f"recall {statistics.mean(recall):.3f} ± {statistics.pstdev(recall):.3f}")
    if args.write:
        model = fit(x, y, topic, free, cosine)
        model.save(MODEL_FILE)
        print(f"wrote {MODEL_FILE} (threshold {model.threshold:.3f}, word cosine from {model.min_word_cosine:.4f}):",
              ", ".join(f"{f} {c:+.2f}" for f, c in zip(model.features, model.coef)))


if __name__ == "__main__":
    main()
