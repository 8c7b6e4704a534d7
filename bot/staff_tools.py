"""Staff reports built from the database: today's digest, follow-up figures, exports.

Shared by the staff chat commands (/tonghop, /thongke, /xuat) and the CLI (digest, stats,
export), so both always show the same thing.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass

import aiosqlite

from handlers import formats
from handlers.domain import Dialogue, Settings, Status
from handlers.locale import Locale
from handlers.privacy import published_text
from storage import lifecycle as lc
from storage import reports

from .digest import Digest, build_digest
from .exports import (
    FORWARD_LATE,
    FORWARD_ON_TIME,
    FORWARD_OPEN,
    FORWARD_OVERDUE,
    ExportCluster,
    ExportData,
    ExportDepartment,
    ExportForward,
    write_docx,
    write_xlsx,
)
from .period import PeriodReport, period_report, share_text

__all__ = ["StaffTools", "Stats", "export_data"]

_STATUS_LABEL = {
    Status.NEW: "Mới",
    Status.REVIEWED: "Đã duyệt",
    Status.FORWARDED: "Đã chuyển",
    Status.ANSWERED: "Đã trả lời",
    Status.REJECTED: "Không phù hợp",
}


@dataclass(frozen=True)
class Stats:
    dialogue: Dialogue
    clusters: int
    questions: int
    people_direct: int
    people_relayed: int
    answered: int
    rejected: int
    overdue_by_department: dict[str, int]
    people_by_topic: dict[int, int]
    questions_by_commune: list[tuple[str, int]]
    # Per department (storage/lifecycle.py): forwarded, answered on time / late, outstanding.
    departments: tuple[lc.DepartmentTally, ...] = ()
    overdue_not_forwarded: int = 0  # never forwarded, dialogue's answer deadline passed
    overdue_not_answered: int = 0  # forwarded, unanswered, dialogue's answer deadline passed
    # The period report's figures over the whole dialogue: median days, commitments.
    figures: PeriodReport | None = None

    @property
    def answered_share(self) -> float:
        counted = self.clusters - self.rejected
        return self.answered / counted if counted else 0.0


class StaffTools:
    def __init__(self, settings: Settings, locale: Locale) -> None:
        self.settings = settings
        self.locale = locale

    async def digest(self, conn: aiosqlite.Connection, now: dt.datetime) -> Digest:
        """Today's digest as it would be sent, without claiming the day."""
        return await build_digest(conn, self.settings, self.locale, now,
                                  await reports.last_digest(conn), with_chart=True)

    async def stats(self, conn: aiosqlite.Connection, dialogue: Dialogue,
                    today: dt.date) -> Stats:
        clusters = await reports.clusters_of_dialogue(conn, dialogue.id)
        questions = await reports.question_count(conn, dialogue.id)
        late = await lc.overdue(conn, dialogue, today)
        overdue = Counter(o.department_name for o in late if o.reason == "forward_late")
        by_topic: Counter[int] = Counter()
        for c in clusters:
            by_topic[c.topic] += c.total
        return Stats(
            dialogue=dialogue, clusters=len(clusters), questions=questions,
            people_direct=sum(c.direct for c in clusters),
            people_relayed=sum(c.relayed for c in clusters),
            answered=sum(c.status == Status.ANSWERED for c in clusters),
            rejected=sum(c.status == Status.REJECTED for c in clusters),
            overdue_by_department=dict(overdue), people_by_topic=dict(by_topic),
            questions_by_commune=await reports.counts_by_commune(conn, dialogue.id),
            departments=tuple(await lc.department_tally(conn, dialogue, today,
                                                        self.settings.timezone)),
            overdue_not_forwarded=sum(o.reason == "not_forwarded" for o in late),
            overdue_not_answered=sum(o.reason == "not_answered" for o in late),
            figures=await period_report(conn, self.settings, None, today, dialogue.id),
        )

    def stats_text(self, stats: Stats) -> str:
        t = self.locale.t
        d = stats.dialogue
        lines = [t("stats.header", title=d.title),
                 t("stats.totals", questions=stats.questions, clusters=stats.clusters,
                   direct=stats.people_direct, relayed=stats.people_relayed),
                 t("stats.answered", answered=stats.answered,
                   share=f"{stats.answered_share * 100:.0f}", rejected=stats.rejected)]
        if stats.overdue_not_forwarded or stats.overdue_not_answered:
            lines.append(t("lifecycle.stats.overdue_dialogue",
                           deadline=formats.day(d.answer_deadline),
                           never=stats.overdue_not_forwarded,
                           unanswered=stats.overdue_not_answered))
        if stats.overdue_by_department:
            lines.append(t("stats.overdue"))
            lines.extend(f"• {dep}: {n}" for dep, n in sorted(stats.overdue_by_department.items()))
        forwarded = [x for x in stats.departments if x.forwarded]
        medians = {f.name: f.median_days for f in stats.figures.departments} \
            if stats.figures else {}
        if forwarded:
            lines.append(t("lifecycle.stats.departments"))
            for x in forwarded:
                median = medians.get(x.department_name)
                lines.append(t("lifecycle.stats.department", department=x.department_name,
                               forwarded=x.forwarded, on_time=x.answered_on_time,
                               late=x.answered_late, outstanding=x.outstanding,
                               overdue=x.overdue,
                               share=share_text(x.answered_on_time,
                                                x.answered_on_time + x.answered_late),
                               median="—" if median is None else f"{median:g}"))
        if stats.figures and (stats.figures.commitments_made or stats.figures.resolved):
            f = stats.figures
            lines.append(t("lifecycle.stats.commitments", made=f.commitments_made,
                           resolved=f.resolved, unresolvable=f.unresolvable,
                           open=f.commitments_open, late=f.commitments_late))
        lines.append(t("stats.by_topic"))
        for number, name in enumerate(d.topics, 1):
            lines.append(f"{number}. {name}: {stats.people_by_topic.get(number, 0)}")
        if stats.questions_by_commune:
            lines.append(t("stats.by_commune"))
            lines.extend(f"• {name}: {n}" for name, n in stats.questions_by_commune[:40])
        return "\n".join(lines)

    async def period(self, conn: aiosqlite.Connection, start: dt.date,
                     end: dt.date) -> tuple[str, bytes]:
        """The period report (bot/period.py) as text and its chart, for /baocao."""
        from .period import period_text, render_period_chart

        report = await period_report(conn, self.settings, start, end)
        title = f"{self.settings.union_name}: {formats.day(start)} – {formats.day(end)}"
        return period_text(report, self.settings, self.locale), render_period_chart(report,
                                                                                    title)

    async def export(self, conn: aiosqlite.Connection, dialogue: Dialogue, fmt: str,
                     today: dt.date) -> tuple[str, bytes]:
        data = await export_data(conn, self.settings, dialogue, today, self.locale)
        buffer = io.BytesIO()
        if fmt == "docx":
            write_docx(data, buffer)
        else:
            write_xlsx(data, buffer)
        return f"tong-hop-{dialogue.id}-{today.isoformat()}.{fmt}", buffer.getvalue()


async def export_data(conn: aiosqlite.Connection, settings: Settings, dialogue: Dialogue,
                      today: dt.date, locale: Locale | None = None) -> ExportData:
    """The dialogue's clusters for the exports: masked text, never a name; a danger
    disclosure as a case reference only, without its commune (her text or her commune could
    identify her)."""
    locale = locale or Locale.load()
    clusters = await reports.clusters_of_dialogue(conn, dialogue.id)
    province = dialogue.province
    tz = settings.timezone
    followed = {c.id: await _followed(conn, c, today, tz) for c in clusters}
    tally = await lc.department_tally(conn, dialogue, today, tz)
    return ExportData(
        province=province,
        governing_body="HỘI LHPN VIỆT NAM",
        issuing_body=settings.union_name.upper(),
        dialogue_title=dialogue.title,
        theme=dialogue.theme,
        place=province,
        generated_on=today,
        topics=tuple(enumerate(dialogue.topics, 1)),
        clusters=tuple(
            ExportCluster(
                topic=c.topic,
                text=published_text(c.text, c.public_text, c.disclosure,
                                     locale.t("digest.case_reference", id=c.id))
                or "[Tin nhắn thoại]",
                direct_count=c.direct, relayed_count=c.relayed,
                communes=() if c.disclosure and not c.public_text else c.communes,
                department=c.department, deadline=c.deadline,
                status=_STATUS_LABEL.get(c.status, c.status), answer=c.answer,
                answered_by=c.answered_by, urgent=c.urgent,
                number=c.id, official=bool(c.public_text), **followed[c.id],
            )
            for c in clusters
        ),
        answer_deadline=dialogue.answer_deadline,
        signer_title=f"{settings.signer_on_behalf}\n{settings.signer_position}",
        signer_name=settings.signer_name,
        document_number=settings.report_number,
        departments=tuple(
            ExportDepartment(t.department_name, t.forwarded, t.answered_on_time,
                             t.answered_late, t.outstanding, t.overdue) for t in tally),
    )


_ROLE = {"lead": "Chủ trì", "cooperating": "Phối hợp"}



async def _followed(conn: aiosqlite.Connection, c: reports.ClusterSummary, today: dt.date,
                    tz: dt.tzinfo) -> dict:
    """A cluster's receipts, forwards with their dates and state, and what happened after
    the dialogue, for the exports. A disclosure's receipts stay out (a code staff can message
    her by); a rejected cluster has no forwards to count, as in `lifecycle.department_tally`."""
    receipts = () if c.disclosure else tuple(
        line.receipt for line in await reports.questions_in_cluster(conn, c.id)
        if not line.rejected_reason)
    forwards = () if c.status == Status.REJECTED else tuple(
        _export_forward(f, today, tz) for f in await lc.forwards_of_cluster(conn, c.id))
    stage = await lc.current_stage(conn, c.id)
    followup = ""
    if stage.result is not None:
        label = "Đã giải quyết" if stage.result.step == lc.RESOLVED else "Không giải quyết được"
        followup = f"{label}: {stage.result.note}"
    elif stage.commitment is not None:
        k = stage.commitment
        due = formats.day(k.due) if k.due else "—"
        doing = " (đang giải quyết)" if stage.step == lc.RESOLVING else ""
        followup = f"{k.department_name} cam kết: {k.note}, hạn {due}{doing}"
    elif stage.discussed is not None:
        followup = "Đã trao đổi tại hội nghị đối thoại" + (
            f"; kết luận của Chủ tịch: {stage.discussed.note}" if stage.discussed.note else "")
    return {"receipts": receipts, "forwards": forwards, "followup": followup}


def _export_forward(f: lc.Forward, today: dt.date, tz: dt.tzinfo) -> ExportForward:
    on_time = f.on_time(tz)
    if on_time is None:
        state = FORWARD_OVERDUE if f.deadline < today else FORWARD_OPEN
    else:
        state = FORWARD_ON_TIME if on_time else FORWARD_LATE
    forwarded_on = dt.datetime.fromisoformat(f.forwarded_at).astimezone(tz).date()
    return ExportForward(f.department_name, _ROLE.get(f.role, f.role), f.deadline,
                         forwarded_on, f.answered_on(tz), state, f.answer or "")
