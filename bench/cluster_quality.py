"""Clustering quality on hand-labelled sets, beside a plain rapidfuzz baseline from the same run.

Sets (tests/data/cluster_*.jsonl): every one of them has been read, tuned on and trained on (the
pair scorer learns from all of them), so the figures here are IN-SAMPLE. How the matcher does on
questions and concerns it never saw is estimated by leave-concerns-out cross-validation:
`bench/train_pair_scorer.py --cv`. The sets: cluster_dev, cluster_holdout, cluster_blind (the
first three rounds), cluster_train (a helper who never saw the code: concerns with hard
negatives, field `hard_negative_of`), cluster_blind2 (a fresh blind set, written after the
locales/ tables, measured once blind, then kept as a dev set).

For each set it runs `cluster_records` (the `python -m bot cluster` code path) and reports:
- pairwise precision/recall/F1 (over pairs of questions: same predicted cluster vs same concern);
- B-cubed precision/recall/F1 (Bagga & Baldwin 1998, averaged over questions);
- hard_negatives_alone: share of questions marked `hard_negative_of: X` that share no predicted
  cluster with any question of concern X (null when the set marks none);
- the same figures for `rapidfuzz_baseline`: single-link clustering with
  fuzz.token_set_ratio ≥ 70 on folded text (each question joins the cluster of its best match);
- similar: how the "someone asked this already" offer behaves when each question arrives in
  turn against the gold clusters: how often the right cluster is among the (≤ 3) offers, and
  how often a brand-new concern is offered something anyway.

Run from the repo root: `.venv/bin/python bench/cluster_quality.py [SET.jsonl ...]` (any paths;
without one, every set in tests/data). Prints ONE JSON line to stdout.
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
from rapidfuzz import fuzz, process

from bot.matching import ClusterIndex, MatchSettings, cluster_records
from handlers.normalise import Normalizer
from handlers.text import fold

__all__ = ["bcubed", "evaluate", "load", "main", "pairwise", "report"]

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
BASELINE_THRESHOLD = 70.0


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def bcubed(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> dict[str, float]:
    """B-cubed precision/recall/F1, averaged over items."""
    pred_members: dict[Hashable, set[int]] = defaultdict(set)
    gold_members: dict[Hashable, set[int]] = defaultdict(set)
    for i, (p, g) in enumerate(zip(predicted, gold, strict=True)):
        pred_members[p].add(i)
        gold_members[g].add(i)
    precision = recall = 0.0
    for p, g in zip(predicted, gold, strict=True):
        common = len(pred_members[p] & gold_members[g])
        precision += common / len(pred_members[p])
        recall += common / len(gold_members[g])
    precision, recall = precision / len(gold), recall / len(gold)
    return {"precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(_f1(precision, recall), 4), "clusters": len(pred_members)}


def pairwise(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> dict[str, float]:
    """Pairwise precision/recall/F1: of the question pairs put together, how many are one
    concern; of the pairs that are one concern, how many were put together."""
    def pairs(counts: Counter) -> int:
        return sum(n * (n - 1) // 2 for n in counts.values())

    together = pairs(Counter(zip(predicted, gold, strict=True)))
    predicted_pairs, gold_pairs = pairs(Counter(predicted)), pairs(Counter(gold))
    precision = together / predicted_pairs if predicted_pairs else 1.0
    recall = together / gold_pairs if gold_pairs else 1.0
    return {"precision": round(precision, 4), "recall": round(recall, 4),
            "f1": round(_f1(precision, recall), 4)}


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def hard_negatives_alone(predicted: Sequence[Hashable], records: list[dict]) -> float | None:
    by_concern: dict[Hashable, set[Hashable]] = defaultdict(set)
    for p, r in zip(predicted, records, strict=True):
        by_concern[r["cluster"]].add(p)
    marked = [(p, r["hard_negative_of"]) for p, r in zip(predicted, records, strict=True)
              if r.get("hard_negative_of")]
    if not marked:
        return None
    alone = sum(p not in by_concern.get(of, set()) for p, of in marked)
    return round(alone / len(marked), 4)


def scores(predicted: Sequence[Hashable], records: list[dict]) -> dict:
    gold = [r["cluster"] for r in records]
    return {"pairwise": pairwise(predicted, gold), "bcubed": bcubed(predicted, gold),
            "hard_negatives_alone": hard_negatives_alone(predicted, records)}


def rapidfuzz_baseline(records: list[dict], threshold: float = BASELINE_THRESHOLD) -> list[str]:
    """Single link: each question joins the cluster of its best earlier match if it scores at
    least `threshold` (token_set_ratio on folded text), else starts one."""
    texts = [fold(r["text"]) for r in records]
    sims = process.cdist(texts, texts, scorer=fuzz.token_set_ratio, dtype=np.float32,
                         workers=1)
    labels: list[str] = []
    for i in range(len(texts)):
        best = int(np.argmax(sims[i, :i])) if i else -1
        labels.append(labels[best] if i and sims[i, best] >= threshold else f"c{i}")
    return labels


def evaluate(records: list[dict], settings: MatchSettings, normalizer: Normalizer) -> dict:
    predicted = [label for _, label in cluster_records(records, settings, normalizer)]
    return scores(predicted, records)


def _offer_quality(records: list[dict], settings: MatchSettings,
                   normalizer: Normalizer) -> dict[str, float]:
    index = ClusterIndex(settings, normalizer)
    seen: set[str] = set()
    hits = repeats = offered_new = new = shown = wrong = 0
    for r in records:
        matches = index.similar(r["text"], r.get("topic"))
        shown += len(matches)
        wrong += sum(m.cluster_id != r["cluster"] for m in matches)
        if r["cluster"] in seen:
            repeats += 1
            hits += any(m.cluster_id == r["cluster"] for m in matches)
        else:
            new += 1
            offered_new += bool(matches)
        index.add(r["id"], r["text"], r["cluster"], r.get("topic"))
        seen.add(r["cluster"])
    return {"right_cluster_offered": round(hits / max(repeats, 1), 4),
            "repeat_questions": repeats,
            "new_concern_offered_something": round(offered_new / max(new, 1), 4),
            "new_concerns": new, "offers_shown": shown, "offers_wrong": wrong}


def report(name: str, records: list[dict], settings: MatchSettings,
           normalizer: Normalizer) -> dict:
    return {
        "set": name,
        "records": len(records),
        "gold_clusters": len({r["cluster"] for r in records}),
        "matcher": evaluate(records, settings, normalizer),
        "rapidfuzz_baseline": scores(rapidfuzz_baseline(records), records),
        "similar": _offer_quality(records, settings, normalizer),
    }


def _named_sets(paths: list[str]) -> list[tuple[str, list[dict]]]:
    if paths:
        return [(p, load(Path(p))) for p in paths]
    return [(p.stem.removeprefix("cluster_"), load(p))
            for p in sorted(DATA.glob("cluster_*.jsonl"))]


def main(argv: list[str]) -> None:
    normalizer = Normalizer.from_files()
    settings = MatchSettings()
    result: dict = {"bench": "cluster_quality", "settings": asdict(settings),
                    "baseline": f"rapidfuzz token_set_ratio single-link >= {BASELINE_THRESHOLD:g}",
                    "note": "in-sample: the pair scorer was trained on these sets"}
    result["sets"] = [report(name, records, settings, normalizer)
                      for name, records in _named_sets(argv)]
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
