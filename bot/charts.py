"""Chart image for the staff daily digest: questions per topic and per day.

Uses matplotlib's object-oriented API on the Agg canvas only: no pyplot, no rcParams changes,
so rendering from a worker thread cannot disturb anything else in the process.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from datetime import date, timedelta

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.dates import AutoDateLocator, DateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = ["EMPTY_TEXT", "render_digest_chart"]

EMPTY_TEXT = "Chưa có câu hỏi"
# Bundled with matplotlib and covers Vietnamese diacritics; named on every text element
# because a site matplotlibrc could pick a font without them.
_FONT = "DejaVu Sans"
_BAR_COLOR = "#c2185b"
_DAY_COLOR = "#1565c0"
_LABEL_WIDTH = 34  # characters per line of a topic label
_LABEL_LINES = 2
_DPI = 100
_MIN_DAYS = 7


def _short_label(text: str) -> str:
    """Topic names run to 90 characters; keep two wrapped lines so the bars keep their room."""
    lines = textwrap.wrap(" ".join(text.split()), _LABEL_WIDTH) or [""]
    if len(lines) > _LABEL_LINES:
        last = textwrap.shorten(" ".join(lines[_LABEL_LINES - 1 :]), _LABEL_WIDTH, placeholder="…")
        lines = [*lines[: _LABEL_LINES - 1], last]
    return "\n".join(lines)


def _empty_note(ax: Axes, text: str) -> None:
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        text,
        ha="center",
        va="center",
        fontsize=14,
        color="#555555",
        family=_FONT,
        transform=ax.transAxes,
    )


def _draw_topics(ax: Axes, per_topic: Sequence[tuple[str, int]]) -> None:
    ax.set_title("Số câu hỏi theo nhóm vấn đề", family=_FONT, fontsize=11, loc="left")
    if not per_topic:
        _empty_note(ax, EMPTY_TEXT)
        return
    positions = range(len(per_topic))
    counts = [count for _, count in per_topic]
    bars = ax.barh(positions, counts, color=_BAR_COLOR, height=0.6)
    ax.set_yticks(
        list(positions), [_short_label(name) for name, _ in per_topic], family=_FONT, fontsize=8
    )
    # Reversed limits put the first topic on top; at least 3 slots keep a lone bar from
    # filling the whole panel.
    ax.set_ylim(max(len(per_topic), 3) - 0.5, -0.5)
    ax.bar_label(bars, padding=3, fontsize=8, family=_FONT)
    ax.set_xlim(0, max(max(counts), 1) * 1.15)  # room for the value labels
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    _tidy(ax)


def _draw_days(ax: Axes, per_day: Sequence[tuple[date, int]]) -> None:
    ax.set_title("Số câu hỏi theo ngày", family=_FONT, fontsize=11, loc="left")
    if not per_day:
        _empty_note(ax, EMPTY_TEXT)
        return
    days = sorted(per_day)
    ax.bar(date2num([d for d, _ in days]), [n for _, n in days], width=0.8, color=_DAY_COLOR)
    # Show at least a week so one or two days do not stretch into hour-level ticks.
    first, last = days[0][0], days[-1][0]
    start = min(first, last - timedelta(days=_MIN_DAYS - 1))
    ax.set_xlim(date2num(start) - 0.5, date2num(last) + 0.5)  # half a day around the bars
    # A date axis leaves silent days as visible gaps instead of squeezing them out.
    ax.xaxis.set_major_locator(AutoDateLocator(minticks=3, maxticks=10))
    ax.xaxis.set_major_formatter(DateFormatter("%d/%m"))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(max(n for _, n in days), 1) * 1.1)
    for label in ax.get_xticklabels():
        label.set_fontsize(8)
    _tidy(ax)


def _tidy(ax: Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8)
    ax.grid(axis="both", alpha=0.25)
    ax.set_axisbelow(True)


def render_digest_chart(
    per_topic: Sequence[tuple[str, int]],
    per_day: Sequence[tuple[date, int]],
    title: str,
) -> bytes:
    """A PNG with two panels: questions per topic (horizontal bars) and per day (bars).

    With no questions at all the image says "Chưa có câu hỏi" instead of drawing empty axes.
    """
    empty = not any(n for _, n in per_topic) and not any(n for _, n in per_day)
    # One slot per topic bar (at least 3) plus the day panel and the title.
    height = 3.5 if empty else 2.6 + 0.38 * max(len(per_topic), 3)
    fig = Figure(figsize=(8, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    wrapped_title = "\n".join(textwrap.wrap(" ".join(title.split()), 70)) or " "
    fig.suptitle(wrapped_title, family=_FONT, fontsize=13, fontweight="bold")
    if empty:
        _empty_note(fig.add_subplot(), EMPTY_TEXT)
    else:
        top, bottom = fig.subplots(2, 1, height_ratios=[max(len(per_topic), 3), 3])
        _draw_topics(top, per_topic)
        _draw_days(bottom, per_day)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, facecolor="white")
    return buf.getvalue()
