"""What she is told when the database cannot take her message (disk full, I/O error).

Nothing of the message is stored, so nothing may claim it was: she is told plainly to send it
again. A danger screen needs no database: if her words signal danger she still gets the
hotlines at once, and the alert for staff goes to the spool (memory, and a file when the disk
allows), which the service delivers as soon as it can, into the outbox or straight to the staff
chat.
"""

from __future__ import annotations

from typing import Protocol

from .engine import Services
from .escalation import hotline_lines
from .privacy import mask_pii
from .safety import DANGER
from .text import clean
from .types import Incoming, Kind, Reply

__all__ = ["AlertSink", "not_stored"]


class AlertSink(Protocol):
    """Where an alert goes when the outbox cannot take it (storage.spool.AlertSpool)."""

    def put(self, channel: str, chat_id: str, text: str,
            about: tuple[str, str] | None = None) -> object: ...


def not_stored(services: Services, incoming: Incoming, alerts: AlertSink) -> list[Reply]:
    locale, settings = services.locale, services.settings
    text = clean(incoming.text) if incoming.kind == Kind.TEXT else ""
    replies = []
    hit = services.danger(text) if text and not text.startswith("/") and services.danger \
        else None
    if hit is not None:
        hotlines = hotline_lines(settings)
        # A "maybe" gets the hotlines too, but alerts nobody (as when the database works).
        staff_chats = settings.staff_chats if getattr(hit, "level", DANGER) == DANGER else {}
        replies.append(Reply(locale.t("danger.reply_unstored" if staff_chats
                                      else "danger.reply_no_staff", hotlines=hotlines)))
        contact = f"{incoming.channel}:{incoming.chat_id}"
        category = f"danger.category.{getattr(hit, 'category', 'nguy_hiem')}"
        alert = locale.t("danger.staff_alert_unstored", channel=incoming.channel,
                         text=mask_pii(text), contact=contact) if settings.texts_in_chat else \
            locale.t("danger.staff_alert_unstored_private", channel=incoming.channel,
                     contact=contact, category=locale.t(category)
                     if category in locale.messages else "nguy hiểm")
        for channel, chat_id in staff_chats.items():
            alerts.put(channel, chat_id, alert, about=(incoming.channel, incoming.user_id))
    replies.append(Reply(locale.t("error.not_stored"), awaited=True))
    return replies
