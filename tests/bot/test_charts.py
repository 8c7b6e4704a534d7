"""Digest chart: a valid PNG, Vietnamese text, empty data, no global matplotlib state."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import warnings
from datetime import date, timedelta
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.image import imread

from bot.charts import render_digest_chart

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TOPICS = [
    ("Kinh tế, việc làm, sinh kế, khởi nghiệp, tiếp cận vốn, ứng dụng khoa học kỹ thuật", 42),
    ("Môi trường, rác thải, nước sạch, phòng chống thiên tai, biến đổi khí hậu", 17),
    ("Bình đẳng giới, vị thế phụ nữ dân tộc thiểu số, tham gia lãnh đạo ở cơ sở", 9),
    ("Bảo vệ phụ nữ, trẻ em; bạo lực gia đình, tảo hôn, hôn nhân cận huyết; y tế, giáo dục", 23),
    ("Chuyển đổi số, kỹ năng số, tiếp cận thông tin", 5),
    ("Trách nhiệm của sở, ngành, địa phương trong giải quyết kiến nghị", 0),
    ("Khác", 3),
]
DAYS = [(date(2026, 6, 1) + timedelta(days=d), 1 + d % 7) for d in range(0, 21, 2)]
TITLE = "Tổng hợp câu hỏi đến ngày 21/06/2026 — Đối thoại với phụ nữ tỉnh Lai Châu"
TOPIC_BAR_RGB = (0xC2, 0x18, 0x5B)
DAY_BAR_RGB = (0x15, 0x65, 0xC0)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    width, height = struct.unpack(">II", data[16:24])  # IHDR follows the signature
    return width, height


def pixels_of(data: bytes, rgb: tuple[int, int, int]) -> int:
    image = imread(io.BytesIO(data), format="png")[..., :3]
    target = np.array(rgb) / 255
    return int((np.abs(image - target).max(axis=-1) < 0.02).sum())


def render_strict(*args: object) -> bytes:
    # A missing glyph (e.g. "ệ" in a font without Vietnamese) is only a warning in matplotlib.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return render_digest_chart(*args)  # type: ignore[arg-type]


def test_chart_is_a_png_with_both_panels() -> None:
    data = render_strict(TOPICS, DAYS, TITLE)
    width, height = png_size(data)
    assert 600 <= width <= 1600 and 300 <= height <= 1600
    assert len(data) > 20_000
    assert pixels_of(data, TOPIC_BAR_RGB) > 1_000
    assert pixels_of(data, DAY_BAR_RGB) > 500


def test_empty_chart_is_a_valid_png_without_bars() -> None:
    data = render_strict([], [], TITLE)
    png_size(data)
    assert pixels_of(data, TOPIC_BAR_RGB) == 0
    assert pixels_of(data, DAY_BAR_RGB) == 0
    dark = imread(io.BytesIO(data), format="png")[..., :3].max(axis=-1) < 0.5
    assert dark.sum() > 200  # the title and "Chưa có câu hỏi" are drawn


def test_all_zero_counts_count_as_empty() -> None:
    zero = render_strict([(name, 0) for name, _ in TOPICS], [], TITLE)
    assert zero == render_strict([], [], TITLE)


@pytest.mark.parametrize(
    ("per_topic", "per_day"),
    [
        ([("Khác", 1)], [(date(2026, 3, 5), 1)]),
        (TOPICS, []),
        ([], DAYS),
        (TOPICS, list(reversed(DAYS))),
    ],
)
def test_sparse_or_one_sided_data_renders(
    per_topic: list[tuple[str, int]], per_day: list[tuple[date, int]]
) -> None:
    data = render_strict(per_topic, per_day, "Một ngày")
    png_size(data)
    assert (pixels_of(data, TOPIC_BAR_RGB) > 0) == any(n for _, n in per_topic)
    assert (pixels_of(data, DAY_BAR_RGB) > 0) == bool(per_day)


def test_chart_leaves_matplotlib_global_state_alone() -> None:
    before = dict(matplotlib.rcParams)
    render_digest_chart(TOPICS, DAYS, TITLE)
    assert dict(matplotlib.rcParams) == before
    code = (
        "import sys, datetime; from bot.charts import render_digest_chart; "
        "render_digest_chart([('a', 1)], [(datetime.date(2026, 1, 1), 1)], 't'); "
        "print('matplotlib.pyplot' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.stdout.strip() == "False"
