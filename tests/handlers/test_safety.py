"""Danger detection: the whole corpus, the keyword-file syntax, perturbed spellings, hostile input.

A missed positive fails the build: recall matters more than anything else in this module.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
import unicodedata
from pathlib import Path

import pytest

from handlers.safety import (
    DEFAULT_KEYWORDS_PATH,
    DangerHit,
    DangerKeywords,
    default_detector,
    default_keywords,
    detect_all,
    detect_danger,
)
from handlers.text import fold

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "data"


def _load(name: str) -> list[dict]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


CASES = _load("danger_cases.jsonl")
POSITIVES = [c for c in CASES if c["danger"]]
NEGATIVES = [c for c in CASES if not c["danger"]]
BAD_INPUT = _load("bad_input.jsonl")


def _bad_text(case: dict) -> str:
    repeat = case.get("text_repeat")
    return repeat["unit"] * repeat["times"] if repeat else case.get("text", "")


@pytest.fixture(scope="module")
def keywords() -> DangerKeywords:
    return default_keywords()


# --- the corpus --------------------------------------------------------------------------------


def test_corpus_is_big_and_well_formed() -> None:
    assert len(CASES) >= 60
    assert len(POSITIVES) >= 40
    assert len(NEGATIVES) >= 20
    for case in CASES:
        assert set(case) == {"text", "danger", "note"}, case
        assert isinstance(case["danger"], bool), case
        assert case["text"].strip() and case["note"].strip(), case
    texts = [c["text"] for c in CASES]
    assert len(texts) == len(set(texts)), "duplicate texts in danger_cases.jsonl"


@pytest.mark.parametrize("case", POSITIVES, ids=[f"pos{i:03d}" for i in range(len(POSITIVES))])
def test_every_positive_is_flagged(case: dict) -> None:
    found = default_detector()(case["text"])
    assert found is not None, f"MISSED danger: {case['text']!r} ({case['note']})"


@pytest.mark.parametrize("case", NEGATIVES, ids=[f"neg{i:03d}" for i in range(len(NEGATIVES))])
def test_listed_negatives_raise_no_alarm(case: dict) -> None:
    found = default_detector()(case["text"])
    assert found is None, f"false alarm {found} on {case['text']!r} ({case['note']})"


def test_every_category_is_exercised_by_the_corpus(keywords: DangerKeywords) -> None:
    hits = [detect_danger(c["text"], keywords) for c in POSITIVES]
    first_hits = {h.category for h in hits if h}
    assert set(keywords.categories) <= first_hits


# --- examples from the brief, with their category ----------------------------------------------

BRIEF = [
    ("chồng em hay đánh em", "bao_luc_gia_dinh"),
    ("bi chong danh", "bao_luc_gia_dinh"),
    ("ck e say rượu đánh e", "bao_luc_gia_dinh"),
    ("bị ép lấy chồng năm 14 tuổi", "tao_hon"),
    ("dọa giết", "de_doa"),
    ("muốn tự tử", "tu_tu"),
    ("muốn chết cho xong", "tu_tu"),
    ("bị lừa bán sang Trung Quốc", "mua_ban_nguoi"),
    ("bị hiếp", "xam_hai_tinh_duc"),
    ("bị sàm sỡ", "xam_hai_tinh_duc"),
    ("bố dượng sờ soạng con gái", "xam_hai_tinh_duc"),
    ("bị nhốt trong nhà", "de_doa"),
    ("bị đuổi ra khỏi nhà giữa đêm", "de_doa"),
    ("con bé 13 tuổi bị bắt về làm vợ", "tao_hon"),
    ("con em bị bắt cóc", "tre_em"),
]


@pytest.mark.parametrize(("text", "category"), BRIEF)
def test_brief_examples_hit_their_category(
    text: str, category: str, keywords: DangerKeywords
) -> None:
    hit = detect_danger(text, keywords)
    assert hit is not None and hit.category == category, (text, hit)
    assert re.fullmatch(r"[a-z0-9]+(?: [a-z0-9_]+)*", hit.matched), hit.matched
    assert hit.matched == fold(hit.matched)


@pytest.mark.parametrize("text", ["vay vốn chăn nuôi", "nước sạch", "học nghề", "đánh giá cán bộ"])
def test_brief_negatives(text: str, keywords: DangerKeywords) -> None:
    assert detect_danger(text, keywords) is None


# --- spelling robustness: every way a phone can mangle a positive ------------------------------

SEEDS = [
    "chồng em hay đánh em",
    "bị ép lấy chồng năm 14 tuổi",
    "nó dọa giết em",
    "em muốn tự tử",
    "chị em bị lừa bán sang Trung Quốc",
    "con gái em bị xâm hại",
    "bị đuổi ra khỏi nhà giữa đêm",
]


def _variants(text: str) -> dict[str, str]:
    words = text.split()
    return {
        "as_typed": text,
        "folded": fold(text),
        "upper": text.upper(),
        "nfd": unicodedata.normalize("NFD", text),
        "zero_width_in_words": "\u200b".join(text),
        "repeated_letters": " ".join(w + w[-1] * 4 if w[-1].isalpha() else w for w in words),
        "emoji_between_words": " 😭 ".join(words),
        "punctuation_glued": "...".join(words) + "!!!",
        "buried_mid_text": f"Cho em hỏi vay vốn nuôi bò. {text}. Em cảm ơn hội nhiều ạ.",
        "rtl_and_controls": "\u202e" + text + "\u0007\u0000",
        "full_width": "".join(chr(ord(c) + 0xFEE0) if "a" <= c <= "z" else c for c in text),
        "eth_for_d_stroke": text.replace("đ", "ð").replace("Đ", "Ð"),
    }


@pytest.mark.parametrize("seed", SEEDS)
def test_positives_survive_every_mangling(seed: str, keywords: DangerKeywords) -> None:
    missed = {name: v for name, v in _variants(seed).items() if detect_danger(v, keywords) is None}
    assert not missed, missed


def test_telex_typed_with_the_keyboard_off(keywords: DangerKeywords) -> None:
    assert detect_danger("chongf em ddanhs em", keywords) is not None
    assert detect_danger("em muoons tuwj tuwr", keywords) is not None


def test_stop_phrases_never_span_punctuation(keywords: DangerKeywords) -> None:
    assert detect_danger("việc đánh giá cán bộ", keywords) is None
    assert detect_danger("em bị đánh, giá mà có người giúp", keywords) is not None


def test_detect_all_lists_each_category_once_in_order(keywords: DangerKeywords) -> None:
    hits = detect_all("chồng đánh em và dọa giết, em muốn tự tử", keywords)
    categories = [h.category for h in hits]
    assert categories[0] == "tu_tu"
    assert {"bao_luc_gia_dinh", "de_doa"} <= set(categories)
    assert len(categories) == len(set(categories))
    order = list(keywords.categories)
    assert categories == sorted(categories, key=order.index)
    assert detect_all("vay vốn nuôi bò", keywords) == ()


# --- the keyword file and its syntax -----------------------------------------------------------


def test_default_path_is_the_repo_locales_file() -> None:
    assert DEFAULT_KEYWORDS_PATH == ROOT / "locales" / "danger_keywords.txt"
    assert DEFAULT_KEYWORDS_PATH.is_file()
    assert default_keywords() is default_keywords()  # compiled once


def test_shipped_file_documents_its_format() -> None:
    header = DEFAULT_KEYWORDS_PATH.read_text(encoding="utf-8").split("\n@", 1)[0]
    assert all(line.startswith("#") or not line.strip() for line in header.splitlines())
    for needle in ("category<TAB>pattern", "a|b|c", "a_b", "@name", "*N", "=...", 'category "-"'):
        assert needle in header, needle


def test_diacritic_vetoes_never_block_an_exact_danger_rule() -> None:
    vetoes: set[str] = set()
    exact_words: set[str] = set()
    for line in DEFAULT_KEYWORDS_PATH.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        category, pattern = line.split(None, 1)
        if not pattern.startswith("="):
            continue
        words = set(re.split(r"[\s|_]+", pattern[1:].strip()))
        if category == "-" and len(words) == 1:
            vetoes |= words
        elif category != "-" and not category.startswith("@"):
            exact_words |= words
    assert vetoes, "expected some single-word vetoes"
    assert not vetoes & exact_words


def test_from_file_reads_a_staff_edited_file(tmp_path: Path) -> None:
    path = tmp_path / "kw.txt"
    path.write_text("# mine\n\nnguy_co\tbi ba_la_ca\n", encoding="utf-8")
    keywords = DangerKeywords.from_file(path)
    assert detect_danger("em bị ba la cà", keywords) == DangerHit("nguy_co", "bi ba la ca")


def _kw(*lines: str) -> DangerKeywords:
    return DangerKeywords.from_lines(lines)


def test_alternatives_phrases_and_macros() -> None:
    keywords = _kw("@ck\tchong|ck|ong_xa", "x\t@ck dap|danh_dap em|con")
    assert detect_danger("ông xã đánh đập con", keywords) == DangerHit("x", "ong xa danh dap con")
    assert detect_danger("ck dap em", keywords) is not None
    assert detect_danger("ck dap", keywords) is None
    assert detect_danger("ck em dap em", keywords) is None  # no gap without *


def test_gap_default_and_explicit() -> None:
    keywords = _kw("a\tchong * danh", "b\tlay_chong *1 som")
    assert detect_danger("chong 1 2 3 4 danh", keywords) is not None
    assert detect_danger("chong 1 2 3 4 5 danh", keywords) is None
    assert detect_danger("lay chong rat som", keywords) is not None
    assert detect_danger("lay chong qua la som", keywords) is None


def test_whole_words_only() -> None:
    keywords = _kw("a\tdoa")
    assert detect_danger("dọa", keywords) is not None
    assert detect_danger("doanh nghiệp", keywords) is None


def test_exact_patterns_need_diacritics() -> None:
    keywords = _kw("a\t=tự vẫn")
    assert detect_danger("em muốn tự vẫn", keywords) is not None
    assert detect_danger("em muon tu van", keywords) is None
    assert detect_danger("em cần tư vấn", keywords) is None


def test_stop_phrases_and_vetoes() -> None:
    keywords = _kw("-\tdanh gia", "-\t=dưới", "a\tbi danh", "b\tbi duoi")
    assert detect_danger("bi danh gia thap", keywords) is None
    assert detect_danger("bi danh, gia ma", keywords) is not None
    assert detect_danger("bị dưới", keywords) is None
    assert detect_danger("bị đuổi", keywords) is not None
    assert detect_danger("bi duoi", keywords) is not None


def test_categories_are_tried_in_file_order() -> None:
    keywords = _kw("first\tgiet", "second\tdanh", "first\tchet")
    assert keywords.categories == ("first", "second")
    assert detect_danger("danh roi giet", keywords) == DangerHit("first", "giet")
    assert set(keywords.by_category()) == {"first", "second"}


def test_space_instead_of_tab_and_diacritics_in_patterns() -> None:
    keywords = _kw("a   bị   đánh|đập")
    assert detect_danger("bi dap", keywords) is not None


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("onlycategory", "expected"),
        ("Bad-Cat\tdanh", "bad category"),
        ("a\t@nope danh", "unknown macro"),
        ("a\t* danh", "gap"),
        ("a\tdanh *", "start and end"),
        ("a\tdanh * * em", "gap"),
        ("a\tdanh *11 em", "larger"),
        ("-\tdanh * gia", "stop phrases"),
        ("a\t14t", "not one word"),
        ("a\tdanh||dap", "empty alternative"),
        ("a\t!!!", "not one word"),
    ],
)
def test_bad_lines_fail_loudly_with_the_line_number(line: str, reason: str) -> None:
    with pytest.raises(ValueError, match=rf":2: .*{re.escape(reason)}"):
        DangerKeywords.from_lines(["# comment", line], source="kw.txt")


def test_a_file_without_rules_is_refused() -> None:
    with pytest.raises(ValueError, match="no danger patterns"):
        DangerKeywords.from_lines(["# nothing", "@x\ta|b", "-\tdanh gia"])


def test_results_are_frozen(keywords: DangerKeywords) -> None:
    hit = detect_danger("bị đánh", keywords)
    assert hit is not None
    with pytest.raises(dataclasses.FrozenInstanceError):
        hit.category = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        keywords.rules = ()  # type: ignore[misc]


# --- hostile input ----------------------------------------------------------------------------


@pytest.mark.parametrize("case", BAD_INPUT, ids=[c["name"] for c in BAD_INPUT])
def test_never_raises_on_bad_input(case: dict, keywords: DangerKeywords) -> None:
    for text in (_bad_text(case), case.get("action", "")):
        result = detect_danger(text, keywords)
        assert result is None or isinstance(result, DangerHit)
        assert isinstance(detect_all(text, keywords), tuple)


def test_hundred_thousand_characters_stay_fast(keywords: DangerKeywords) -> None:
    text = "chồng em " * 11_000 + "bị đánh"
    start = time.perf_counter()
    hit = detect_danger(text, keywords)
    assert hit is not None
    assert time.perf_counter() - start < 5.0
