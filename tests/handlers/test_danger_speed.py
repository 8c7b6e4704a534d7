"""The fast danger screen says exactly what trying every rule on every word would say.

Speed itself is measured in bench/danger_speed.py (no timed assertions here). What a woman
would notice is a different verdict: so the shortcuts (the first-word prefilter, spelling all
words at once, one tokenisation for both tables, the verdict remembered per text) are each
switched off and the verdicts compared on every labelled set and on odd Unicode.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from handlers import safety
from handlers.safety import DangerDetector, default_keywords, detect_all

DATA = Path(__file__).resolve().parents[1] / "data"


def _texts() -> list[str]:
    out: list[str] = []
    for path in sorted(DATA.glob("danger_*.jsonl")) + sorted(DATA.glob("cluster_*.jsonl")):
        out += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()]
    return out


def _odd(count: int) -> list[str]:
    """Strings built from what breaks normalisation: decomposed marks, full-width letters,
    ligatures that NFKC turns into several words, final sigma, eth, telex leftovers."""
    pieces = ["chồng", "đánh", "e", "bị", "ck", "dh", "ddanhs", "tuwj", "tuwr", "\u0301", "ð",
              "ｃｈồｎｇ", "𝐜𝐡𝐨𝐧𝐠", "\ufdfa", "ΣΑΣ", "İ", "ǆ", "½", "²", "１４", "14t", "...",
              "😡", "\u0483x", "_", "nhốt", "con", "gả", "trẻ em", "xã em", "  ", "\n", "ﬁ",
              "đánhhhh", "ĐÁNH", "tự vẫn", "tư vấn", "bj", "k", "giết", "ẩn danh", "em"]
    rng = random.Random(18)
    return [" ".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(count)]


def _slow_candidates(rules: tuple, index: object, words: object) -> list:  # every rule, in order
    return list(rules)


def _slow_tokens(text: str, memo: object = None) -> tuple[list[str], list[str]]:
    exact: list[str] = []
    folded: list[str] = []
    for token in safety._TOKEN.findall(safety.clean(text).lower()):
        if token[0].isalnum() or safety.unicodedata.category(token[0]) == "Mn":
            exact.append(safety._exact_token(token))
            folded.append(safety._folded_token(token))
        elif not exact or exact[-1] != safety._BREAK:
            exact.append(safety._BREAK)
            folded.append(safety._BREAK)
    return exact, folded


SAMPLE = _texts()[::3] + _odd(300)


def _verdicts(detector: DangerDetector) -> list[object]:
    return [(a.level, a.category, a.signals) if (a := detector._assess(t)) else None
            for t in SAMPLE]


def test_spelling_all_words_at_once_is_spelling_each_word() -> None:
    for text in SAMPLE:
        assert safety._tokens(text) == _slow_tokens(text), text


def test_the_fast_screen_gives_the_same_verdict_as_trying_every_rule(
        monkeypatch: pytest.MonkeyPatch) -> None:
    detector = DangerDetector.from_files()
    keywords = default_keywords()
    fast = _verdicts(detector)
    fast_hits = [detect_all(t, keywords) for t in SAMPLE]
    monkeypatch.setattr(safety, "_candidates", _slow_candidates)
    monkeypatch.setattr(safety, "_tokens", _slow_tokens)
    assert _verdicts(detector) == fast
    assert [detect_all(t, keywords) for t in SAMPLE] == fast_hits
    assert sum(v is not None for v in fast) > 100  # the sample holds real danger


def test_a_text_is_assessed_once_and_her_words_are_not_kept(
        monkeypatch: pytest.MonkeyPatch) -> None:
    detector = DangerDetector.from_files()
    text = "Chồng em say rượu đánh em, số 0912345678"
    calls: list[str] = []
    assess = DangerDetector._assess
    monkeypatch.setattr(DangerDetector, "_assess",
                        lambda self, t: calls.append(t) or assess(self, t))
    first = detector(text)
    assert detector(text) == first and first is not None
    assert detector("vay vốn nuôi bò") is None
    assert len(calls) == 2  # the second screening of the same text is remembered
    remembered = repr(list(detector._recent))
    assert "0912345678" not in remembered and "rượu" not in remembered
    assert all(isinstance(key, bytes) for key in detector._recent)
    for n in range(safety._RECENT + 10):
        detector(f"câu hỏi {n}")
    assert len(detector._recent) == safety._RECENT  # bounded
