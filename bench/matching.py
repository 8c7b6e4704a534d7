"""Speed and memory of question matching on a synthetic Vietnamese corpus.

Measures `ClusterIndex.similar` latency (p50/p95) with 10k and 100k stored questions, the full
`cluster_records` run over 100k questions (the `bot cluster` code path), peak RSS, and a naive
pure-Python baseline (difflib.SequenceMatcher over every stored question) timed on a subset and
scaled to the same index size, all in one run. Prints ONE JSON line to stdout; progress goes to
stderr. Run from the repo root: `.venv/bin/python bench/matching.py [--quick]`.

The corpus: question frames × slot vocabulary (livestock, crops, places, schools, ...) with the
spelling variation members produce: no diacritics, teencode, repeated letters, emoji, typos. It is
harsher than real questions for speed (small vocabulary → long posting lists) but has ~70% exact
duplicates after normalisation, which the clustering shortcut benefits from.

Figures: normalize_us = one `Normalizer` call (teencode, concept table, stopwords);
speedup_vs_difflib_* = estimated difflib full-scan time per lookup at the largest size ÷ our
`similar` p50 / p95. bcubed_vs_generated_concern compares the clustering with the generating
(frame, slot) pairs: a strict and partly artificial notion (nonsense combinations; "nuôi bò" vs
"nuôi lợn" count as different concerns here but as one in the hand-labelled dev set), so it shows
the known weakness — same frame, different object merges — rather than expected real quality.
"""

from __future__ import annotations

import argparse
import difflib
import json
import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cluster_quality import bcubed
from bot.matching import ClusterIndex, MatchSettings, cluster_records
from handlers.normalise import Normalizer
from handlers.text import fold

__all__ = ["make_corpus", "run"]

SEED = 20260514

# (topic, frame); {x} is the slot that makes different concerns, {p} a place name.
FRAMES: list[tuple[int, str]] = [
    (1, "em muốn vay vốn để {x} thì cần thủ tục gì ạ"),
    (1, "hộ nghèo có được vay vốn {x} không"),
    (1, "đề nghị hỗ trợ giống và kỹ thuật {x} cho chị em {p}"),
    (1, "sản phẩm {x} của bà con {p} không có đầu ra, bị ép giá"),
    (1, "mong được tập huấn {x} cho hội viên"),
    (2, "{p} chưa có nước sạch, {x}"),
    (2, "rác thải ở {p} không có ai thu gom, {x}"),
    (2, "nhà em ở {p} có nguy cơ sạt lở, {x}"),
    (2, "lũ quét làm hỏng {x} ở {p}, bao giờ được hỗ trợ"),
    (3, "tỷ lệ cán bộ nữ ở {p} còn thấp, {x}"),
    (3, "làm sao để nam giới chia sẻ {x}"),
    (4, "ở {p} vẫn còn tình trạng {x}, chính quyền xử lý thế nào"),
    (4, "trạm y tế {p} thiếu {x}"),
    (4, "điểm trường {p} thiếu {x}, các cháu học rất khó khăn"),
    (4, "chồng uống rượu say {x}, em phải làm sao"),
    (5, "mong được hướng dẫn {x} trên điện thoại"),
    (5, "{p} không có sóng điện thoại, {x}"),
    (6, "kiến nghị về {x} từ năm trước vẫn chưa được trả lời"),
    (6, "đường vào {p} bị {x}, kiến nghị mãi chưa sửa"),
    (7, "bao giờ {p} có {x}"),
]
SLOTS = [
    "nuôi lợn nái", "nuôi bò sinh sản", "nuôi gà đồi", "nuôi dê", "nuôi cá ruộng", "trồng chè",
    "trồng quế", "trồng thảo quả", "trồng dong riềng", "trồng lúa nương", "làm homestay",
    "mở cửa hàng tạp hóa", "dệt thổ cẩm", "học nghề may", "cho con đi học", "làm nhà",
    "phải đi gánh nước xa", "nước giếng nhiễm phèn", "mùi hôi thối lắm", "vứt rác xuống suối",
    "cần di dời gấp", "chưa được tái định cư", "ruộng bậc thang", "cầu treo", "mương thủy lợi",
    "cần đào tạo quy hoạch", "ít được bầu trưởng bản", "việc nhà", "chăm sóc con cái",
    "tảo hôn", "hôn nhân cận huyết", "mua bán người", "bạo lực gia đình", "bác sĩ", "thuốc",
    "phòng học", "nhà vệ sinh", "đánh vợ con", "chửi bới vợ", "bán hàng online", "livestream",
    "cài VNeID", "dịch vụ công trực tuyến", "không gọi được cấp cứu", "học trực tuyến",
    "bảo hiểm y tế", "phụ cấp chi hội trưởng", "sạt lở", "xuống cấp", "lầy lội", "điện lưới",
    "chợ phiên", "nhà văn hóa", "sân chơi cho trẻ em", "lớp mầm non", "trạm phát sóng",
]
SYLLABLES = [
    "nậm", "pa", "huổi", "lả", "tà", "sìn", "hồ", "mường", "khoen", "ma", "thàng", "then", "bum",
    "tở", "phìn", "ngan", "chu", "lùng", "sán", "chải", "séo", "phình", "giàng", "sù", "hua",
    "quài", "tung", "qua", "mù", "cang", "nà", "tăm", "hằng", "lang", "khun", "há", "sang", "lao",
    "tủa", "sin", "pu", "sam", "dào", "san", "thèn", "vàng", "pheo", "phong", "thổ", "nùng",
    "bản", "lếch", "hỏa",
]
PLACE_KINDS = ["bản", "thôn", "xã", "xóm"]
TEENCODE = {"không": "ko", "được": "dc", "gì": "j", "chồng": "ck", "em": "e", "cũng": "cx",
            "như thế nào": "ntn", "phụ nữ": "pn", "với": "vs", "người": "ng", "bao nhiêu": "bn"}
OPENERS = ["", "", "", "cho em hỏi ", "chị ơi ", "xin hỏi ", "em xin hỏi ", "dạ "]
ENDINGS = ["", "", "", " ạ", " ạ?", "?", " 🙏", " ạ 😭", "!!!", " nhé"]


def _place(rng: random.Random) -> str:
    return f"{rng.choice(PLACE_KINDS)} {rng.choice(SYLLABLES)} {rng.choice(SYLLABLES)}"


def _vary(text: str, rng: random.Random) -> str:
    if rng.random() < 0.3:
        for full, short in TEENCODE.items():
            text = text.replace(full, short)
    if rng.random() < 0.4:
        text = fold(text)
    if rng.random() < 0.1:  # emphasis: "nhiềuuuu"
        words = text.split()
        i = rng.randrange(len(words))
        words[i] += words[i][-1] * rng.randint(2, 4)
        text = " ".join(words)
    if rng.random() < 0.1:  # one typo: drop a character
        i = rng.randrange(len(text))
        text = text[:i] + text[i + 1:]
    return rng.choice(OPENERS) + text + rng.choice(ENDINGS)


def make_corpus(n: int, seed: int = SEED) -> list[dict]:
    """n records {"id", "text", "topic", "concern"}; `concern` is the generating (frame, slot)."""
    rng = random.Random(seed)
    # A few thousand concerns with a long tail: popular concerns are asked many times, and a
    # concern is usually about one place.
    concerns = [(f, s, _place(rng)) for f in range(len(FRAMES)) for s in range(len(SLOTS))]
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(concerns))]
    rng.shuffle(concerns)
    records = []
    for i, (f, s, place) in enumerate(rng.choices(concerns, weights=weights, k=n)):
        topic, frame = FRAMES[f]
        p = place if rng.random() < 0.7 else _place(rng)
        text = _vary(frame.format(x=SLOTS[s], p=p), rng)
        records.append({"id": i, "text": text, "topic": topic if rng.random() > 0.1 else None,
                        "concern": f"{f}:{s}"})
    return records


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _percentiles(samples_ms: list[float]) -> dict[str, float]:
    q = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return {"p50_ms": round(q[49], 3), "p95_ms": round(q[94], 3),
            "max_ms": round(max(samples_ms), 3)}


def _lookup_latency(index: ClusterIndex, queries: list[dict]) -> dict[str, float]:
    samples = []
    for q in queries:
        t0 = time.perf_counter()
        index.similar(q["text"], q["topic"])
        samples.append((time.perf_counter() - t0) * 1000)
    return _percentiles(samples)


def _difflib_ms_per_lookup(stored: list[str], queries: list[str], scale_to: int) -> float:
    """Naive baseline: ratio() against every stored (normalised) question, keep the best 3."""
    t0 = time.perf_counter()
    for q in queries:
        matcher = difflib.SequenceMatcher(None, q)
        best = []
        for s in stored:
            matcher.set_seq1(s)
            best.append(matcher.ratio())
        best.sort(reverse=True)
        del best[3:]
    per_pair = (time.perf_counter() - t0) / (len(queries) * len(stored))
    return per_pair * scale_to * 1000


def run(quick: bool = False) -> dict:
    normalizer = Normalizer.from_files()
    settings = MatchSettings()
    sizes = (2_000, 10_000) if quick else (10_000, 100_000)
    corpus = make_corpus(sizes[-1])
    queries = make_corpus(300 if quick else 1_000, seed=SEED + 1)
    sample = corpus[:200]
    t0 = time.perf_counter()
    for r in sample * 10:
        normalizer(r["text"])
    norm_us = (time.perf_counter() - t0) / (len(sample) * 10) * 1e6
    result: dict = {"seed": SEED, "normalize_us": round(norm_us, 2),
                    "mean_chars": round(statistics.mean(len(r["text"]) for r in corpus), 1)}

    index = ClusterIndex(settings, normalizer)
    adding = 0.0
    for size in sizes:
        _log(f"indexing up to {size} questions")
        t0 = time.perf_counter()
        for r in corpus[len(index):size]:
            index.add(r["id"], r["text"], r["concern"], r["topic"])
        adding += time.perf_counter() - t0
        _log(f"timing similar() at {size}")
        result[f"similar_{size}"] = _lookup_latency(index, queries)
    result[f"index_add_{sizes[-1]}_s"] = round(adding, 2)

    _log("naive difflib scan on a subset")
    subset = [normalizer(r["text"]) for r in corpus[:2_000]]
    baseline_ms = _difflib_ms_per_lookup(subset, [normalizer(q["text"]) for q in queries[:10]],
                                         sizes[-1])
    result[f"difflib_scan_ms_at_{sizes[-1]}"] = round(baseline_ms, 1)
    ours = result[f"similar_{sizes[-1]}"]
    result["speedup_vs_difflib_p50"] = round(baseline_ms / ours["p50_ms"], 1)
    result["speedup_vs_difflib_p95"] = round(baseline_ms / ours["p95_ms"], 1)
    del index

    _log(f"cluster_records over {sizes[-1]} questions")
    t0 = time.perf_counter()
    labels = cluster_records(corpus, settings, normalizer)
    result[f"cluster_records_{sizes[-1]}_s"] = round(time.perf_counter() - t0, 2)
    result["concerns_generated"] = len({r["concern"] for r in corpus})
    # Synthetic concerns differ only by a short slot inside a shared frame (and nonsense
    # combinations), so this is a harsh, not a realistic, quality figure.
    result["bcubed_vs_generated_concern"] = bcubed([label for _, label in labels],
                                                   [r["concern"] for r in corpus])
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2k/10k instead of 10k/100k")
    print(json.dumps(run(quick=parser.parse_args().quick), ensure_ascii=False))


if __name__ == "__main__":
    main()
