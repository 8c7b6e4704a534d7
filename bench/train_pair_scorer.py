"""Fit the pair scorer (bot/matching/pair_scorer.json): logistic regression on labelled pairs.

Pairs come from the labelled sets in tests/data/ EXCEPT the held-out part of cluster_train.jsonl
(bench/cluster_quality.split_train): for each question, every other stored wording of its set,
with the word statistics of an index holding the whole set. Label: same concern. Pairs that
share no word at all are left out (the index never scores them). Pairs keep their natural
balance (most candidates are other concerns, as in the bot), and pairs with the concern a
question is a hard negative of (`hard_negative_of`) weigh 4: they are the pairs that matter.

Prints ONE JSON line (weights, pairs, training log-loss and accuracy) and writes the model with
`--write`. Run from the repo root: `.venv/bin/python bench/train_pair_scorer.py [--write]`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench.cluster_quality import DEV_SETS, TRAIN_SET, load, split_train
from bot.matching import DEFAULT_SCORER, FEATURES, ClusterIndex, MatchSettings, PairScorer
from handlers.normalise import Normalizer

__all__ = ["fit", "pairs_of"]

L2 = 0.01


def training_sets() -> list[list[dict]]:
    sets = [load(p) for p in DEV_SETS if p.exists()]
    if TRAIN_SET.exists():
        sets.append(split_train(load(TRAIN_SET))[0])
    return sets


def pairs_of(records: list[dict], normalizer: Normalizer) -> tuple[np.ndarray, ...]:
    """(features, labels, weights) of every scored pair in one labelled set."""
    # Features only: any scorer will do (the shipped one may be for other features).
    index = ClusterIndex(MatchSettings(), normalizer, PairScorer((0.0,) * len(FEATURES), 0.0))
    for r in records:
        index.add(r["id"], r["text"], r["cluster"], r.get("topic"))
    cluster_of_entry = {}
    for r in records:
        entry = index._items[r["id"]].entry
        cluster_of_entry.setdefault(entry, r["cluster"])
    hard = {r["id"]: r.get("hard_negative_of") for r in records}
    xs, ys, ws = [], [], []
    for r in records:
        query = index._query(r["text"])
        if query is None:
            continue
        own = index._items[r["id"]].entry
        candidates = index._candidates(query.ids)
        candidates = candidates[candidates != own]
        if len(candidates) == 0:
            continue
        query.exact = None
        x = index.features(query, candidates)
        y = np.array([cluster_of_entry.get(e) == r["cluster"] for e in candidates.tolist()],
                     dtype=np.float64)
        w = np.ones(len(y))
        if hard[r["id"]]:
            w = w * np.where(np.array([cluster_of_entry.get(e) == hard[r["id"]]
                                       for e in candidates.tolist()]), 4.0, 1.0)
        xs.append(x)
        ys.append(y)
        ws.append(w)
    return np.vstack(xs), np.concatenate(ys), np.concatenate(ws)


def fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, steps: int = 3000) -> tuple[np.ndarray,
                                                                                float]:
    """Weighted logistic regression by Newton steps (few features: exact and fast)."""
    xb = np.column_stack([x, np.ones(len(x))])
    beta = np.zeros(xb.shape[1])
    reg = L2 * np.eye(xb.shape[1])
    reg[-1, -1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-(xb @ beta)))
        grad = xb.T @ (w * (p - y)) + reg @ beta
        hess = (xb * (w * p * (1 - p))[:, None]).T @ xb + reg
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    return beta[:-1], float(beta[-1])


def main(argv: list[str]) -> None:
    normalizer = Normalizer.from_files()
    parts = [pairs_of(records, normalizer) for records in training_sets()]
    x = np.vstack([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    w = np.concatenate([p[2] for p in parts])
    weights, bias = fit(x, y, w)
    p = 1 / (1 + np.exp(-(x @ weights + bias)))
    loss = float(-(w * (y * np.log(p + 1e-12) + (1 - y) * np.log(1 - p + 1e-12))).sum() / w.sum())
    model = {"features": list(FEATURES), "weights": [round(float(v), 4) for v in weights],
             "bias": round(bias, 4),
             "trained_on": "tests/data cluster_dev, cluster_holdout, cluster_blind and the "
                           "tuning part of cluster_train (bench/train_pair_scorer.py)",
             "pairs": len(y), "positives": int(y.sum())}
    if "--write" in argv:
        DEFAULT_SCORER.write_text(json.dumps(model, ensure_ascii=False, indent=1) + "\n",
                                  encoding="utf-8")
    print(json.dumps({**model, "log_loss": round(loss, 4),
                      "accuracy": round(float(((p > 0.5) == (y > 0)).mean()), 4)}))


if __name__ == "__main__":
    main(sys.argv[1:])
