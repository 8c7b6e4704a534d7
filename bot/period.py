"""Period reports (seed 003's six-month and year-end reports), across dialogues.

For a period of local dates: questions received, written answers given (on time or late, by
the local date of the first answer against the department's deadline), the median days from
forwarding to answer per department, what was still unanswered at the end, and commitments
made and closed (resolved / not resolvable). Every figure comes from stored dates
(storage/lifecycle.py), so anyone can recount it. `python -m bot report`, `/baocao`; the same
per-department figures, over a whole dialogue, are in `stats` (`department_figures`).
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import aiosqlite

from handlers import formats
from handlers.domain import Settings
from handlers.locale import Locale
from storage import lifecycle as lc
from storage.clock import stamp

__all__ = ["DepartmentFigures", "PeriodReport", "department_figures", "period_report",
           "period_text", "render_period_chart", "share_text"]


@dataclass(frozen=True)
class DepartmentFigures:
    name: str
    answered: int  # written answers given
    on_time: int
    late: int
    median_days: float | None  # forwarding → first answer, local days; None if no answer
    outstanding: int = 0  # forwarded, not answered at the end
    overdue: int = 0  # of those, past their deadline at the end

    @property
    def on_timeshare_text(self) -> float | None:
        return self.on_time / self.answered if self.answered else None


@dataclass(frozen=True)
class PeriodReport:
    start: dt.date | None  # None: from the first record
    end: dt.date  # inclusive
    received: dict[str, tuple[int, int]]  # dialogue id → (questions, people)
    departments: tuple[DepartmentFigures, ...]
    commitments_made: int
    resolved: int
    unresolvable: int
    commitments_open: int  # in force at the end, not closed
    commitments_late: int  # of those, past their "by when"

    @property
    def questions(self) -> int:
        return sum(n for n, _ in self.received.values())

    @property
    def answered(self) -> int:
        return sum(d.answered for d in self.departments)

    @property
    def on_time(self) -> int:
        return sum(d.on_time for d in self.departments)


def _bounds(start: dt.date | None, end: dt.date, tz: ZoneInfo) -> tuple[str | None, str]:
    """The stamps of local midnight on `start` and on the day after `end`."""
    after = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    if start is None:
        return None, stamp(after)
    return stamp(dt.datetime.combine(start, dt.time(), tzinfo=tz)), stamp(after)


def department_figures(answered: Iterable[lc.Forward], open_: Iterable[lc.Forward],
                       end: dt.date, tz: dt.tzinfo,
                       order: Iterable[str] = ()) -> tuple[DepartmentFigures, ...]:
    """Per department name: answers (on time / late, median days) and what stays open."""
    names = list(dict.fromkeys(order))
    by_name: dict[str, list[lc.Forward]] = {}
    for f in answered:
        by_name.setdefault(f.department_name, []).append(f)
    still: dict[str, list[lc.Forward]] = {}
    for f in open_:
        still.setdefault(f.department_name, []).append(f)
    names += [n for n in (*by_name, *still) if n not in names]
    out = []
    for name in names:
        done = by_name.get(name, [])
        waiting = still.get(name, [])
        if not done and not waiting:
            continue
        days = [(_local(f.answered_at, tz) - _local(f.forwarded_at, tz)).days
                for f in done if f.answered_at]
        out.append(DepartmentFigures(
            name=name, answered=len(done), on_time=sum(bool(f.on_time(tz)) for f in done),
            late=sum(f.on_time(tz) is False for f in done),
            median_days=statistics.median(days) if days else None,
            outstanding=len(waiting), overdue=sum(f.deadline < end for f in waiting)))
    return tuple(out)


def _local(moment: str, tz: dt.tzinfo) -> dt.date:
    return dt.datetime.fromisoformat(moment).astimezone(tz).date()


async def period_report(conn: aiosqlite.Connection, settings: Settings, start: dt.date | None,
                        end: dt.date, dialogue_id: str | None = None) -> PeriodReport:
    """The figures for local dates `start`…`end` (inclusive), of every dialogue or of one
    (`stats` asks for one dialogue from its first record to today)."""
    if start is not None and end < start:
        raise ValueError("the period ends before it starts")
    tz = settings.timezone
    since, until = _bounds(start, end, tz)
    answered = [f for _, f in await lc.answered_forwards(conn, dialogue_id, since=since,
                                                         until=until)]
    open_ = [f for _, f in await lc.forwards_open_at(conn, until, dialogue_id)]
    order = [name for d in settings.dialogues for name in d.departments
             if dialogue_id in (None, d.id)]
    made = await lc.steps_between(conn, (lc.COMMITTED,), dialogue_id, since=since, until=until)
    closed = await lc.steps_between(conn, lc.CLOSED_STEPS, dialogue_id, since=since,
                                    until=until)
    closed_ever = {s.cluster_id for s in await lc.steps_between(
        conn, lc.CLOSED_STEPS, dialogue_id, until=until)}
    latest: dict[int, lc.Step] = {}
    for s in await lc.steps_between(conn, (lc.COMMITTED,), dialogue_id, until=until):
        latest[s.cluster_id] = s  # the commitment in force at the end
    in_force = [s for cid, s in latest.items() if cid not in closed_ever]
    received = await lc.questions_received(conn, since=since, until=until)
    if dialogue_id is not None:
        received = {k: v for k, v in received.items() if k == dialogue_id}
    return PeriodReport(
        start=start, end=end,
        received=received,
        departments=department_figures(answered, open_, end, tz, order),
        commitments_made=len({s.cluster_id for s in made}),
        resolved=sum(s.step == lc.RESOLVED for s in closed),
        unresolvable=sum(s.step == lc.UNRESOLVABLE for s in closed),
        commitments_open=len(in_force),
        commitments_late=sum(1 for s in in_force if s.due and s.due < end),
    )


def share_text(part: int, whole: int) -> str:
    """"75%", or "—" when there is nothing to share out."""
    return f"{part * 100 / whole:.0f}%" if whole else "—"


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def period_text(report: PeriodReport, settings: Settings, locale: Locale) -> str:
    t = locale.t
    lines = [t("lifecycle.period.header",
               start=formats.day(report.start) if report.start else "…",
               end=formats.day(report.end), union=settings.union_name)]
    lines.append(t("lifecycle.period.received", questions=report.questions,
                   people=sum(p for _, p in report.received.values())))
    for dialogue_id, (questions, people) in report.received.items():
        dialogue = settings.dialogue(dialogue_id)
        lines.append(t("lifecycle.period.dialogue",
                       title=dialogue.title if dialogue else dialogue_id,
                       questions=questions, people=people))
    lines.append(t("lifecycle.period.answered", answered=report.answered,
                   on_time=report.on_time, share=share_text(report.on_time, report.answered)))
    if report.departments:
        lines.append(t("lifecycle.period.departments"))
        for d in report.departments:
            lines.append(t("lifecycle.period.department", department=d.name,
                           answered=d.answered, on_time=d.on_time, late=d.late,
                           share=share_text(d.on_time, d.answered), median=_days(d.median_days),
                           outstanding=d.outstanding, overdue=d.overdue))
    lines.append(t("lifecycle.period.commitments", made=report.commitments_made,
                   resolved=report.resolved, unresolvable=report.unresolvable,
                   open=report.commitments_open, late=report.commitments_late))
    return "\n".join(lines)


def render_period_chart(report: PeriodReport, title: str) -> bytes:
    """A PNG: per department, answers on time / late / still open (stacked bars), and the
    median days to answer. matplotlib is imported here, only when a chart is asked for."""
    import io
    import textwrap

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from .charts import EMPTY_TEXT

    font = "DejaVu Sans"  # covers Vietnamese (bot/charts.py)
    deps = list(report.departments)
    rows = max(len(deps), 3)
    fig = Figure(figsize=(9, 2.2 + 0.42 * rows * 2), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    fig.suptitle("\n".join(textwrap.wrap(title, 70)) or " ", family=font, fontsize=13,
                 fontweight="bold")
    top, bottom = fig.subplots(2, 1)
    names = [textwrap.shorten(d.name, 40, placeholder="…") for d in deps]
    positions = list(range(len(deps)))
    top.set_title("Trả lời bằng văn bản theo sở, ngành", family=font, fontsize=11, loc="left")
    bottom.set_title("Số ngày trung vị từ khi chuyển đến khi trả lời", family=font,
                     fontsize=11, loc="left")
    if not deps:
        for ax in (top, bottom):
            ax.text(0.5, 0.5, EMPTY_TEXT, ha="center", va="center", family=font)
            ax.set_axis_off()
    else:
        left = [0] * len(deps)
        for label, values, color in (
                ("Đúng hạn", [d.on_time for d in deps], "#2e7d32"),
                ("Chậm", [d.late for d in deps], "#ef6c00"),
                ("Chưa trả lời", [d.outstanding for d in deps], "#9e9e9e")):
            top.barh(positions, values, left=left, color=color, label=label, height=0.6)
            left = [a + b for a, b in zip(left, values, strict=True)]
        medians = [d.median_days or 0 for d in deps]
        bars = bottom.barh(positions, medians, color="#1565c0", height=0.6)
        bottom.bar_label(bars, labels=[_days(d.median_days) for d in deps], padding=3,
                         fontsize=8, family=font)
        for ax in (top, bottom):
            ax.set_yticks(positions, names, family=font, fontsize=8)
            ax.set_ylim(rows - 0.5, -0.5)
            ax.spines[["top", "right"]].set_visible(False)
            ax.grid(axis="x", alpha=0.25)
            ax.xaxis.get_major_locator().set_params(integer=True)
        top.legend(prop={"family": font, "size": 8}, loc="lower right")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, facecolor="white")
    return buf.getvalue()
