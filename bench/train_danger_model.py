"""Train the danger screen's second reader (handlers/danger_model.py) and estimate it honestly.

The model: L2-regularised logistic regression on binary features (folded character 3-5-grams
across word boundaries, words, word pairs) of the text as the rules read it (names and phones
neutralised, teencode spelt out), each message's features scaled to unit length; a message of
fewer than MIN_WORDS words is never read (handlers/danger_model.py says why). Trained with
plain numpy (full-batch gradient descent with momentum), weights kept for features seen in at
least MIN_DF messages, the TOP strongest kept. Its positive reading counts only where the rules
are silent (and did not read fear for animals, of a flood, or an illness:
`DangerDetector.framed`), and only as "maybe".

Every tests/data/danger_*.jsonl file is one writer. `--cv`: leave one writer out - train on the
other files, score the one left out - and pool the left-out readings. Two baselines:
- "rules": the rules as they are now. They were tuned on every one of these sets, so their own
  figures here are optimistic, and they miss almost nothing they were tuned on: this
  measures mainly what the model COSTS (false alarms added on policy questions the rules leave
  alone, from writers it never saw).
- "rules_first_seen": for each blind set, the rules as they were when that set was first
  measured blind (the commit in FIRST_SEEN; read out of git history into a temporary folder),
  before anyone read it. Their misses are real misses on unseen text: this measures what the
  model ADDS. The model is still trained without that writer's file; where it may read is
  decided by today's rules (their frames), an approximation.
The threshold is picked on these left-out readings only (see `pick_threshold`), never on the
messages the shipped model is trained on.

Run from the repo root:
  .venv/bin/python bench/train_danger_model.py --cv      # one JSON line: CV figures
  .venv/bin/python bench/train_danger_model.py --write   # CV, then train on all sets, write
                                                         # locales/danger_model.json
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from handlers.danger_model import (  # noqa: E402
    CHARS,
    DEFAULT_MODEL_PATH,
    MIN_WORDS,
    DangerModel,
    features,
    words,
)
from handlers.safety import DANGER, DangerDetector  # noqa: E402

DATA = ROOT / "tests" / "data"
MIN_DF = 2  # a feature seen in fewer training messages is dropped
TOP = 6000  # strongest weights kept in the shipped file
LAMBDA = 3e-4  # L2 strength on the mean log-loss; of 1e-4, 3e-4, 1e-3, 3e-3 the best on CV
ITERATIONS = 400
# Pooled false alarms the model may add on left-out writers. At 0.02 (threshold 0.67: blind
# recall 0.917 -> 0.971) it overruled six hand-written "stays quiet" promises in tests/ (a
# backache "mấy hôm nay", "Vì sao người chồng đánh vợ..."): 0.01 was chosen after seeing that.
FA_BUDGET = 0.01
# The commit each blind set was first measured on, blind (docs/benchmarks.md; the figures
# they give back are checked in `first_seen`).
FIRST_SEEN = {
    "danger_blind1": "68cb7cf^",
    "danger_blind3": "41a7706",
    "danger_blind4": "8dd3584",
    "danger_blind5": "d783ab4",
    "danger_blind7": "b31cf40",
}
THRESHOLDS = [round(0.5 + 0.01 * i, 2) for i in range(50)]


def writers() -> dict[str, list[tuple[str, bool]]]:
    """{file stem: [(text, is_danger)]}, one entry per tests/data/danger_*.jsonl file."""
    out: dict[str, list[tuple[str, bool]]] = {}
    for path in sorted(DATA.glob("danger_*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()]
        out[path.stem] = [(r["text"], bool(r["danger"]) if "danger" in r
                           else r["label"] == "danger") for r in rows]
    return out


class Vectors:
    """Feature sets of messages as a sparse row matrix (indptr, columns), unit-length rows."""

    def __init__(self, feats: list[set[str]], vocabulary: dict[str, int]) -> None:
        rows, cols = [], []
        for i, found in enumerate(feats):
            for f in found:
                j = vocabulary.get(f)
                if j is not None:
                    rows.append(i)
                    cols.append(j)
        self.n = len(feats)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.cols = np.asarray(cols, dtype=np.int64)
        # scaled by the message's own feature count (known or not), as DangerModel does
        sizes = np.asarray([max(1, len(f)) for f in feats], dtype=np.float64)
        self.values = 1.0 / np.sqrt(sizes[self.rows])

    def scores(self, w: np.ndarray, b: float) -> np.ndarray:
        return np.bincount(self.rows, weights=w[self.cols] * self.values, minlength=self.n) + b

    def back(self, residual: np.ndarray, size: int) -> np.ndarray:
        return np.bincount(self.cols, weights=residual[self.rows] * self.values, minlength=size)


def vocabulary_of(feats: list[set[str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for found in feats:
        for f in found:
            counts[f] = counts.get(f, 0) + 1
    kept = sorted(f for f, c in counts.items() if c >= MIN_DF)
    return {f: i for i, f in enumerate(kept)}


def fit(feats: list[set[str]], labels: list[bool]) -> DangerModel:
    """Logistic regression on `feats`; threshold 0.5 until one is picked."""
    vocabulary = vocabulary_of(feats)
    x = Vectors(feats, vocabulary)
    y = np.asarray(labels, dtype=np.float64)
    size = len(vocabulary)
    w, b = np.zeros(size), 0.0
    vw, vb = np.zeros(size), 0.0
    rate, momentum = 2.0, 0.9
    for _ in range(ITERATIONS):
        # Nesterov: the gradient at the look-ahead point
        lw, lb = w + momentum * vw, b + momentum * vb
        p = 1.0 / (1.0 + np.exp(-np.clip(x.scores(lw, lb), -50, 50)))
        residual = (p - y) / x.n
        gw = x.back(residual, size) + LAMBDA * lw
        gb = float(residual.sum())
        vw = momentum * vw - rate * gw
        vb = momentum * vb - rate * gb
        w, b = w + vw, b + vb
    names = list(vocabulary)
    strongest = np.argsort(-np.abs(w))[:TOP]
    weights = {names[j]: round(float(w[j]), 4) for j in sorted(strongest) if abs(w[j]) >= 1e-4}
    return DangerModel(weights, round(b, 4), 0.5, CHARS, MIN_WORDS)


def rules_verdicts(detector: DangerDetector, texts: list[str]) -> list[str | None]:
    out = []
    for text in texts:
        found = detector(text)
        out.append(None if found is None else getattr(found, "level", DANGER))
    return out


def first_seen(sets: dict[str, list[tuple[str, bool]]]) -> dict[str, list[str | None]]:
    """Each blind set's verdicts from the rules of the commit it was first measured on (read
    from git history into a temporary folder, run in a separate process); {} without git."""
    out: dict[str, list[str | None]] = {}
    for name, commit in FIRST_SEEN.items():
        if name not in sets:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            try:
                archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit,
                                          "handlers", "locales"], capture_output=True,
                                         check=True).stdout
                subprocess.run(["tar", "-x", "-C", tmp], input=archive, check=True)
            except (OSError, subprocess.CalledProcessError):
                return {}
            script = ("import json, sys\nsys.path.insert(0, sys.argv[1])\n"
                      "from handlers.safety import default_detector\nd = default_detector()\n"
                      "texts = json.load(sys.stdin)\n"
                      "print(json.dumps([None if (v := d(t)) is None else "
                      "getattr(v, 'level', 'danger') for t in texts]))\n")
            done = subprocess.run([sys.executable, "-c", script, tmp], capture_output=True,
                                  check=True, cwd=tmp, text=True,
                                  input=json.dumps([t for t, _ in sets[name]]))
            out[name] = json.loads(done.stdout)
    return out


def _rates(rows: list[tuple[bool, bool]]) -> dict[str, float]:
    """rows: (is_danger, flagged)."""
    danger = [f for d, f in rows if d]
    policy = [f for d, f in rows if not d]
    return {"recall": round(sum(danger) / max(1, len(danger)), 3),
            "false_alarm": round(sum(policy) / max(1, len(policy)), 3),
            "n_danger": len(danger), "n_policy": len(policy)}


def combined(labels: list[bool], rules: list[str | None], probs: list[float],
             threshold: float | None) -> list[tuple[bool, bool]]:
    """(is_danger, flagged) by the rules, and by the model where the rules are silent."""
    return [(d, r is not None or (threshold is not None and p >= threshold))
            for d, r, p in zip(labels, rules, probs, strict=True)]


def pick_threshold(labels: list[bool], rules: list[str | None], probs: list[float],
                   old: list[tuple[bool, str | None, float]]) -> float:
    """The lowest threshold at which the model adds at most FA_BUDGET pooled false alarms on
    left-out writers, with the rules as they are now AND with the rules as first seen; the
    model's recall only grows as the threshold falls, so that is the best one allowed."""
    base_now = _rates(combined(labels, rules, probs, None))["false_alarm"]
    old_labels = [d for d, _, _ in old]
    old_rules = [r for _, r, _ in old]
    old_probs = [p for _, _, p in old]
    base_old = _rates(combined(old_labels, old_rules, old_probs, None))["false_alarm"]
    best = THRESHOLDS[-1]
    for t in sorted(THRESHOLDS, reverse=True):
        now = _rates(combined(labels, rules, probs, t))["false_alarm"] - base_now
        then = (_rates(combined(old_labels, old_rules, old_probs, t))["false_alarm"] - base_old
                if old else 0.0)
        if now > FA_BUDGET + 1e-9 or then > FA_BUDGET + 1e-9:
            break
        best = t
    return best


def cross_validate() -> tuple[dict, float]:
    sets = writers()
    detector = DangerDetector.from_files(model=None)  # the rules alone
    readings = {name: [detector.reading(t) for t, _ in rows] for name, rows in sets.items()}
    feats = {name: [features(r) for r in rs] for name, rs in readings.items()}
    rules = {name: rules_verdicts(detector, [t for t, _ in rows]) for name, rows in sets.items()}
    # as DangerDetector does: the model reads only where the rules saw no frame
    asked = {name: [not detector.framed(t) for t, _ in rows] for name, rows in sets.items()}
    probs: dict[str, list[float]] = {}
    for name in sets:
        train = [(f, d) for other, rows in sets.items() if other != name
                 for f, (_, d) in zip(feats[other], rows, strict=True)]
        model = fit([f for f, _ in train], [d for _, d in train])
        # as DangerModel.__call__: a text shorter than MIN_WORDS is never read
        probs[name] = [model.probability(r) if words(r) >= MIN_WORDS and read else 0.0
                       for r, read in zip(readings[name], asked[name], strict=True)]
    old = first_seen(sets)
    labels = [d for name in sets for _, d in sets[name]]
    flat_rules = [v for name in sets for v in rules[name]]
    flat_probs = [p for name in sets for p in probs[name]]
    old_rows = [(d, v, p) for name in old
                for (_, d), v, p in zip(sets[name], old[name], probs[name], strict=True)]
    threshold = pick_threshold(labels, flat_rules, flat_probs, old_rows)
    report: dict = {"bench": "train_danger_model --cv", "threshold": threshold,
                    "fa_budget": FA_BUDGET, "features": "char 3-5 + words + word pairs",
                    "min_df": MIN_DF, "top": TOP, "lambda": LAMBDA, "min_words": MIN_WORDS}
    report["pooled"] = {
        "rules": _rates(combined(labels, flat_rules, flat_probs, None)),
        "rules+model": _rates(combined(labels, flat_rules, flat_probs, threshold)),
        "model_alone": _rates([(d, p >= threshold) for d, p in zip(labels, flat_probs,
                                                                    strict=True)]),
    }
    if old_rows:
        report["pooled_first_seen"] = {
            "sets": sorted(old),
            "rules": _rates([(d, v is not None) for d, v, _ in old_rows]),
            "rules+model": _rates([(d, v is not None or p >= threshold)
                                   for d, v, p in old_rows]),
        }
    per: dict = {}
    for name, rows in sets.items():
        lab = [d for _, d in rows]
        entry = {"rules": _rates(combined(lab, rules[name], probs[name], None)),
                 "rules+model": _rates(combined(lab, rules[name], probs[name], threshold))}
        if name in old:
            entry["first_seen"] = _rates(combined(lab, old[name], probs[name], None))
            entry["first_seen+model"] = _rates(combined(lab, old[name], probs[name],
                                                        threshold))
        per[name] = entry
    report["per_writer"] = per
    curve = []
    for t in (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95):
        point = {"threshold": t,
                 "rules+model": _rates(combined(labels, flat_rules, flat_probs, t))}
        if old_rows:
            point["first_seen+model"] = _rates([(d, v is not None or p >= t)
                                                for d, v, p in old_rows])
        curve.append(point)
    report["curve"] = curve
    return report, threshold


def write(threshold: float, cv: dict) -> Path:
    sets = writers()
    detector = DangerDetector.from_files(model=None)
    rows = [(features(detector.reading(t)), d) for name in sets for t, d in sets[name]]
    model = fit([f for f, _ in rows], [d for _, d in rows])
    pooled = cv["pooled"]
    data = {
        "about": {
            "what": "Danger screen's second reader (handlers/danger_model.py): logistic "
                    "regression on folded text. Where the rules are silent, a probability at "
                    "or above threshold makes the verdict 'maybe' (asked gently), never an "
                    "alarm. Raise threshold for fewer gentle questions, lower it for more.",
            "min_words": "a text of fewer words is not read by the model (the rules only)",
            "weights": "feature -> weight. c:<3-5 characters> (spaces included), w:<word>, "
                       "b:<word>_<word>; text folded (no diacritics, lower case), numbers of "
                       "3+ digits written #. A message's score: sum of its features' weights "
                       "/ sqrt(number of its features) + bias.",
            "trained_on": sorted(sets),
            "written_by": "bench/train_danger_model.py --write",
            "cv_left_out_writers": {"threshold": threshold, **pooled,
                                    "first_seen": cv.get("pooled_first_seen", {})},
        },
        "threshold": threshold,
        "bias": model.bias,
        "chars": list(CHARS),
        "min_words": MIN_WORDS,
        "weights": dict(model.weights),
    }
    DEFAULT_MODEL_PATH.write_text(json.dumps(data, ensure_ascii=False, indent=0,
                                             sort_keys=False) + "\n", encoding="utf-8")
    return DEFAULT_MODEL_PATH


def main() -> None:
    args = set(sys.argv[1:])
    if not args & {"--cv", "--write"}:
        print(__doc__)
        sys.exit(2)
    report, threshold = cross_validate()
    if "--write" in args:
        report["written"] = str(write(threshold, report).relative_to(ROOT))
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    if not math.isfinite(LAMBDA):
        raise SystemExit("LAMBDA must be finite")
    main()
