"""Clustering scores against gold labels: B-cubed and pairwise precision/recall/F1, ARI."""
from __future__ import annotations

from collections import Counter

from sklearn.metrics import adjusted_rand_score


def _prf(p: float, r: float) -> tuple[float, float, float]:
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def bcubed(gold: list, predicted: list) -> tuple[float, float, float]:
    """Per item: share of its predicted cluster in its gold class (P) and vice versa (R), averaged."""
    joint = Counter(zip(gold, predicted))
    gold_size, pred_size = Counter(gold), Counter(predicted)
    p = sum(joint[(g, c)] / pred_size[c] for g, c in zip(gold, predicted)) / len(gold)
    r = sum(joint[(g, c)] / gold_size[g] for g, c in zip(gold, predicted)) / len(gold)
    return _prf(p, r)


def pairwise(gold: list, predicted: list) -> tuple[float, float, float]:
    """Precision/recall over pairs of items placed together."""
    pairs = lambda counts: sum(n * (n - 1) // 2 for n in counts.values())  # noqa: E731
    together = pairs(Counter(zip(gold, predicted)))
    pred_pairs, gold_pairs = pairs(Counter(predicted)), pairs(Counter(gold))
    return _prf(together / pred_pairs if pred_pairs else 1.0, together / gold_pairs if gold_pairs else 1.0)


def scores(gold: list, predicted: list) -> dict[str, float]:
    bp, br, bf = bcubed(gold, predicted)
    pp, pr, pf = pairwise(gold, predicted)
    return {"bcubed_p": bp, "bcubed_r": br, "bcubed_f1": bf, "pair_p": pp, "pair_r": pr, "pair_f1": pf,
            "ari": adjusted_rand_score(gold, predicted)}
