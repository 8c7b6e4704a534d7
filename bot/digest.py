"""The daily digest for the staff group: exactly once a day, even across restarts.

The day is claimed with an INSERT into `digest_runs` in the same transaction that queues the
digest in the outbox. Whoever claims it first (the scheduled job, or the catch-up at start-up
after the bot was down at that minute) queues it; everyone after finds the row and does nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import aiosqlite

from handlers import formats
from handlers.domain import Dialogue, Settings, Status
from handlers.followup import days_left_text, overdue_text
from handlers.locale import Locale
from handlers.privacy import published_text
from storage import lifecycle as lc
from storage import queries as q
from storage import reports
from storage.db import Database

__all__ = ["Digest", "build_digest", "due_today", "send_daily_digest"]

TOP_PER_TOPIC = 5


@dataclass(frozen=True)
class Digest:
    day: dt.date
    text: str
    chart: bytes | None
    new_count: int


async def build_digest(
    conn: aiosqlite.Connection, settings: Settings, locale: Locale, now: dt.datetime,
    since: str, with_chart: bool = True,
) -> Digest:
    day = now.astimezone(settings.timezone).date()
    new_count = await reports.new_questions_since(conn, since)
    dialogues = _digest_dialogues(settings, day)
    parts = [locale.t("digest.title", date=formats.day(day))]
    chart = None
    if new_count == 0:
        parts.append(locale.t("digest.nothing_new"))
    for dialogue in dialogues:
        clusters = await reports.clusters_of_dialogue(conn, dialogue.id)
        section = await _dialogue_section(conn, locale, dialogue, clusters, since, day, new_count,
                                          settings)
        if section:
            parts.append(section)
        if with_chart and chart is None and clusters:
            chart = await _chart(conn, settings, dialogue, clusters, now)
    return Digest(day, "\n\n".join(parts), chart, new_count)


def _digest_dialogues(settings: Settings, day: dt.date) -> list[Dialogue]:
    """Open dialogues, and closed ones whose answers are still being chased."""
    return [d for d in settings.dialogues
            if d.opens <= day <= d.summary_deadline + dt.timedelta(days=60)]


async def _dialogue_section(
    conn: aiosqlite.Connection, locale: Locale, dialogue: Dialogue,
    clusters: list[reports.ClusterSummary], since: str, day: dt.date, new_count: int,
    settings: Settings | None = None,
) -> str:
    new_here = await reports.new_questions_since(conn, since, dialogue.id)
    # Late: forwards past their own date and, once the dialogue's answer deadline passed,
    # every unanswered cluster, forwarded or not (storage/lifecycle.py).
    overdue = await lc.overdue(conn, dialogue, day)
    urgent = [c for c in clusters if c.urgent and c.status not in (
        Status.ANSWERED, Status.REJECTED)]
    deadlines = _deadline_lines(locale, dialogue, day, bool(overdue))
    if not (new_here or overdue or urgent or deadlines):
        return ""
    total_people = sum(c.total for c in clusters)
    lines = [locale.t("digest.dialogue", title=dialogue.title, new=new_here,
                      clusters=len(clusters), people=total_people)]
    if urgent:
        lines.append(locale.t("digest.urgent", count=len(urgent)))
        lines.extend(_line(locale, c, settings) for c in urgent[:10])
    if new_here:
        lines.append(locale.t("digest.by_topic"))
        for number, name in enumerate(dialogue.topics, 1):
            in_topic = [c for c in clusters if c.topic == number]
            if not in_topic:
                continue
            people = sum(c.total for c in in_topic)
            lines.append(locale.t("digest.topic", number=number, name=name, people=people,
                                  clusters=len(in_topic)))
            lines.extend("  " + _line(locale, c, settings) for c in in_topic[:TOP_PER_TOPIC])
        communes = await reports.counts_by_commune(conn, dialogue.id, since)
        if communes:
            shown = ", ".join(f"{name} {n}" for name, n in communes[:15])
            lines.append(locale.t("digest.by_commune", communes=shown))
    lines.extend(deadlines)
    if overdue:
        lines.append(overdue_text(locale.t, dialogue, overdue, day))
    return "\n".join(lines)


DEADLINE_AHEAD_DAYS = 14  # the dialogue's own deadlines show in the digest from this close


def _deadline_lines(locale: Locale, dialogue: Dialogue, day: dt.date, late: bool) -> list[str]:
    """The answer deadline and the summary deadline (to the People's Committee), when near,
    or past while something is still late."""
    lines = []
    for key, deadline in (("answer_deadline", dialogue.answer_deadline),
                          ("summary_deadline", dialogue.summary_deadline)):
        days = (deadline - day).days
        if 0 <= days <= DEADLINE_AHEAD_DAYS or (days < 0 and late):
            lines.append(locale.t(f"lifecycle.digest.{key}",
                                  deadline=formats.day(deadline),
                                  when=days_left_text(locale.t, days)))
    return lines


def _line(locale: Locale, c: reports.ClusterSummary, settings: Settings | None = None) -> str:
    count = formats.asked(locale.t, c)
    if settings is not None and not settings.texts_in_chat:  # [privacy]: no words in chat
        link = locale.t("console.link", url=settings.console_url, path=f"/cum/{c.id}") \
            if settings.console_url else ""
        return locale.t("console.digest_cluster", id=c.id, count=count, link=link)
    text = published_text(c.text, c.public_text, c.disclosure,
                          locale.t("digest.case_reference", id=c.id)) or locale.t(
        "staff.voice_only")
    return locale.t("digest.cluster", id=c.id, count=count, text=formats.shortened(text, 100))


async def _chart(conn: aiosqlite.Connection, settings: Settings, dialogue: Dialogue,
                 clusters: list[reports.ClusterSummary], now: dt.datetime) -> bytes:
    per_topic = []
    for number, name in enumerate(dialogue.topics, 1):
        per_topic.append((f"{number}. {name}", sum(c.total for c in clusters
                                                    if c.topic == number)))
    utc_offset = settings.timezone.utcoffset(now.replace(tzinfo=None)) or dt.timedelta()
    offset = utc_offset.total_seconds() // 3600
    per_day = await reports.counts_by_day(conn, dialogue.id, int(offset))
    from .charts import render_digest_chart  # matplotlib costs ~1 s to import: only when drawn

    return render_digest_chart(per_topic, per_day, dialogue.title)


async def send_daily_digest(db: Database, settings: Settings, locale: Locale,
                            now: dt.datetime) -> bool:
    """Claim today and queue the digest for every staff chat; False if already done today."""
    day = now.astimezone(settings.timezone).date()
    async with db.transaction() as conn:
        since = await reports.last_digest(conn)
        if not await reports.claim_digest_day(conn, day, now.isoformat(timespec="seconds"),
                                              since):
            return False
        digest = await build_digest(conn, settings, locale, now, since,
                                    with_chart=bool(settings.staff_chats))
        for channel, chat_id in settings.staff_chats.items():
            await q.enqueue(conn, channel, chat_id, digest.text, purpose="digest",
                            dedupe_key=f"digest:{day.isoformat()}:{channel}",
                            image=digest.chart, priority=1, now=now)
    return True


def due_today(settings: Settings, digest_time: dt.time, now: dt.datetime) -> bool:
    """Has today's slot passed (local time)? Used for the catch-up at start-up."""
    local = now.astimezone(settings.timezone)
    return local.time() >= digest_time
