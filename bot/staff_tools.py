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

from handlers.domain import Dialogue, Settings, Status
from handlers.locale import Locale
from handlers.privacy import published_text
from storage import reports

from .digest import Digest, build_digest
from .exports import ExportCluster, ExportData, write_docx, write_xlsx

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
        overdue = Counter(c.department for c in clusters if c.overdue(today))
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
        )

    def stats_text(self, stats: Stats) -> str:
        t = self.locale.t
        d = stats.dialogue
        lines = [t("stats.header", title=d.title),
                 t("stats.totals", questions=stats.questions, clusters=stats.clusters,
                   direct=stats.people_direct, relayed=stats.people_relayed),
                 t("stats.answered", answered=stats.answered,
                   share=f"{stats.answered_share * 100:.0f}", rejected=stats.rejected)]
        if stats.overdue_by_department:
            lines.append(t("stats.overdue"))
            lines.extend(f"• {dep}: {n}" for dep, n in sorted(stats.overdue_by_department.items()))
        lines.append(t("stats.by_topic"))
        for number, name in enumerate(d.topics, 1):
            lines.append(f"{number}. {name}: {stats.people_by_topic.get(number, 0)}")
        if stats.questions_by_commune:
            lines.append(t("stats.by_commune"))
            lines.extend(f"• {name}: {n}" for name, n in stats.questions_by_commune[:40])
        return "\n".join(lines)

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
            )
            for c in clusters
        ),
        answer_deadline=dialogue.answer_deadline,
    )
