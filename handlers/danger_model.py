"""A second reader for messages the danger rules leave silent: a logistic regression on folded
character n-grams and word n-grams, learned from the labelled sets in tests/data/danger_*.jsonl.

Its weights are data, like the keyword files: locales/danger_model.json, written by
`bench/train_danger_model.py --write` (which also says how well it does on writers it never
saw: `--cv`). Staff may lower or raise "threshold" there, or delete a feature; the file's
"about" says what each part means. A positive reading is only ever "maybe" (she is asked gently,
staff are alerted only if she says yes): the rules alone decide an alarm.

It reads the text the rules read (names and phone numbers neutralised, teencode spelled out),
folded: no diacritics, lower case, repeated letters squeezed. Pure Python at run time: a message
costs a few hundred dictionary look-ups.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from handlers.text import fold

__all__ = ["DEFAULT_MODEL_PATH", "MIN_WORDS", "DangerModel", "features", "words"]

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent.parent / "locales" / "danger_model.json"

_WORD = re.compile(r"[a-z0-9]+")
_REPEAT = re.compile(r"([a-z])\1+")
_LONG_NUMBER = re.compile(r"\d{3,}")
_LETTERS = re.compile(r"[^\W\d_]+")
CHARS = (3, 5)  # character n-grams of these lengths (inclusive), across word boundaries
# Fewer words than this: not read at all. A short cry is the rules' ("cứu em", "đánh nữa rồi"),
# and the labelled sets hold no greetings, thanks, names or contact details ("em ơi", "gọi em
# nhé"), which the model would read as the short cries it learned from.
MIN_WORDS = 8


def features(text: str, chars: tuple[int, int] = CHARS) -> set[str]:
    """The features of a text: "w:" words, "b:" word pairs, "c:" character n-grams of the
    words joined by single spaces (with a space at each end). Numbers of 3+ digits are one
    symbol ("#"): ages and classes (14, lớp 7) stay, phone fragments and amounts do not."""
    folded = _REPEAT.sub(r"\1", fold(text or "").lower())
    words = [_LONG_NUMBER.sub("#", w) for w in _WORD.findall(folded)]
    out = {f"w:{w}" for w in words}
    out.update(f"b:{a}_{b}" for a, b in itertools.pairwise(words))
    line = f" {' '.join(words)} "
    low, high = chars
    for n in range(low, high + 1):
        out.update(f"c:{line[i:i + n]}" for i in range(len(line) - n + 1))
    return out


def words(text: str) -> int:
    """Words of letters in `text` (digits are no word), as `min_words` counts them."""
    return len(_LETTERS.findall(text or ""))


@dataclass(frozen=True)
class DangerModel:
    """Weights by feature, a bias and the threshold a probability must reach for "maybe"."""

    weights: Mapping[str, float]
    bias: float
    threshold: float
    chars: tuple[int, int] = CHARS
    min_words: int = MIN_WORDS
    about: Mapping[str, object] = field(default_factory=dict, compare=False)

    @classmethod
    def from_file(cls, path: Path = DEFAULT_MODEL_PATH) -> DangerModel:
        stat = path.stat()
        return _loaded(str(path), stat.st_mtime_ns, stat.st_size)

    @classmethod
    def from_dict(cls, data: Mapping[str, object], source: str = "<dict>") -> DangerModel:
        """A model from its JSON form; a bad file raises ValueError naming it."""
        try:
            weights, chars_as_written = data["weights"], data.get("chars", list(CHARS))
            bias, threshold = float(str(data["bias"])), float(str(data["threshold"]))
            if not isinstance(weights, dict) or not 0 < threshold < 1:
                raise ValueError("weights must be an object, threshold between 0 and 1")
            if not isinstance(chars_as_written, list) or len(chars_as_written) != 2:
                raise ValueError("chars must be [shortest, longest]")
            table = {str(k): float(v) for k, v in weights.items()}
            chars = (int(chars_as_written[0]), int(chars_as_written[1]))
            min_words = int(str(data.get("min_words", MIN_WORDS)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{source}: not a danger model ({exc})") from exc
        about = data.get("about", {})
        return cls(table, bias, threshold, chars, min_words,
                   about if isinstance(about, dict) else {})

    def probability(self, text: str) -> float:
        """How likely the text tells of personal danger, 0..1."""
        found = features(text, self.chars)
        if not found:
            return 0.0
        weights = self.weights
        # The training script scales every message's features to unit length the same way.
        score = sum(weights.get(f, 0.0) for f in found) / math.sqrt(len(found)) + self.bias
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, score))))

    def __call__(self, text: str) -> bool:
        """Does it read as danger? Never for a text of fewer than `min_words` words."""
        if words(text) < self.min_words:
            return False
        return self.probability(text) >= self.threshold


@lru_cache(maxsize=8)
def _loaded(path: str, mtime_ns: int, size: int) -> DangerModel:
    """One version of a model file, read once per process (a staff edit changes the key)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON (line {exc.lineno}): {exc.msg}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a danger model (expected an object)")
    return DangerModel.from_dict(data, source=path)
