"""Deadline reminders (issue 16): before and on each deadline, to staff and to the department.

Deadlines: each forward's (a department's written answer) and each open commitment's (an
agency's "by when"). A reminder fires `[lifecycle] remind_days_before` days before (any day of
that window, if the bot was down) and on the day (or the first run after it). Each is claimed in
`reminders` in the transaction that queues its messages, so a restart, the catch-up at start-up
or a second run never resend it. Messages carry cluster numbers and staff's official wording
(or, only with `[privacy] texts_in_chat = true`, the masked question, never a disclosure), never
a name: they go to department chats, outside the union.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from handlers import formats
from handlers.domain import Settings
from handlers.locale import Locale
from handlers.privacy import published_text
from storage import lifecycle as lc
from storage import queries as q
from storage import reports
from storage.db import Database

__all__ = ["Reminder", "due_reminders", "send_reminders"]


@dataclass(frozen=True)
class Reminder:
    key: str  # the claim in `reminders`
    kind: str  # "before" | "due"
    what: str  # "forward" | "commitment"
    cluster_id: int
    department_id: str
    department_name: str
    deadline: dt.date


async def due_reminders(conn, settings: Settings, today: dt.date) -> list[Reminder]:
    """Every reminder due on `today`, fired or not (the claim decides)."""
    window = dt.timedelta(days=settings.remind_days_before)
    out = []
    for d in settings.dialogues:
        for f in await lc.unanswered_forwards(conn, d.id):
            kind = _kind(f.deadline, today, window)
            if kind:
                out.append(Reminder(f"fwd:{f.id}:{f.deadline.isoformat()}:{kind}", kind,
                                    "forward", f.cluster_id, f.department_id, f.department_name,
                                    f.deadline))
        for c in await lc.open_commitments(conn, d.id):
            kind = _kind(c.due, today, window) if c.due else ""
            if kind and c.due:
                out.append(Reminder(f"commit:{c.id}:{kind}", kind, "commitment", c.cluster_id,
                                    c.department_id, c.department_name, c.due))
    return out


def _kind(deadline: dt.date, today: dt.date, window: dt.timedelta) -> str:
    if today >= deadline:
        return "due"
    if today >= deadline - window:
        return "before"
    return ""


async def send_reminders(db: Database, settings: Settings, locale: Locale,
                         now: dt.datetime) -> int:
    """Claim and queue today's reminders; how many fired (0 when all had fired before)."""
    today = now.astimezone(settings.timezone).date()
    async with db.transaction() as conn:
        fired = [r for r in await due_reminders(conn, settings, today)
                 if await lc.claim_reminder(conn, r.key, now=now)]
        if not fired:
            return 0
        lines = {r.key: await _line(conn, settings, locale, r, today) for r in fired}
        for channel, chat_id in settings.staff_chats.items():
            text = "\n".join([locale.t("lifecycle.reminder.staff_header"),
                              *(f"{lines[r.key]} — {r.department_name}" for r in fired)])
            await q.enqueue(conn, channel, chat_id, text, purpose="reminder",
                            dedupe_key=f"reminder:{fired[0].key}:{channel}", priority=1,
                            now=now)
        by_department: dict[str, list[Reminder]] = defaultdict(list)
        for r in fired:
            by_department[r.department_id].append(r)
        for department_id, items in by_department.items():
            department = settings.department(department_id)
            if department is None:
                continue
            text = "\n".join([locale.t("lifecycle.reminder.department_header",
                                       department=department.name,
                                       union=settings.union_name),
                              *(lines[r.key] for r in items)])
            for channel, chat_id in department.contacts():
                await q.enqueue(conn, channel, chat_id, text, purpose="reminder",
                                dedupe_key=f"reminder:{items[0].key}:{department_id}:{channel}",
                                now=now)
    return len(fired)


async def _line(conn, settings: Settings, locale: Locale, r: Reminder, today: dt.date) -> str:
    summary = await reports.cluster_summary(conn, r.cluster_id)
    wording = ""
    if summary is not None and not settings.texts_in_chat:  # her words stay home
        wording = summary.public_text or locale.t("console.text_in_console", link="")
    elif summary is not None:
        wording = published_text(summary.text, summary.public_text, summary.disclosure,
                                 locale.t("lifecycle.reminder.case", id=r.cluster_id))
    wording = formats.shortened(" ".join(wording.split()), 120)
    days = (r.deadline - today).days
    when = (locale.t("lifecycle.days_left", days=days) if days > 0 else
            locale.t("lifecycle.due_today") if days == 0 else
            locale.t("lifecycle.days_late", days=-days))
    return locale.t(f"lifecycle.reminder.{r.what}", id=r.cluster_id,
                    deadline=formats.day(r.deadline), when=when,
                    wording=wording or locale.t("staff.voice_only"))
