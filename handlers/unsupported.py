"""A message the platform could not show the bot (`Kind.UNSUPPORTED`).

On Zalo, members of Zalo's protected groups (children, people with disabilities, people who
cannot read) reach a bot only as `message.unsupported.received`: no text ever arrives. Asking
her to "type text or press a button" is a dead end for exactly the women least able to type, so
she is told what she can do without typing (the hotlines, her commune union, a leader who sends
her question for her) and staff are flagged, with a `/nhan` reference to write back to her.
Nothing of what she sent is stored: the platform gave us nothing to store.
"""

from __future__ import annotations

from storage import queries as q

from .engine import Context
from .escalation import hotline_lines

__all__ = ["on_unsupported"]


async def on_unsupported(ctx: Context) -> None:
    commune = ctx.data.get("commune") or await q.last_commune_of_user(ctx.conn, ctx.user.id) or ""
    reference = f"U{ctx.user.id}"
    flagged = await _flag_staff(ctx, commune, reference)
    lines = [ctx.t("unsupported.intro"), ctx.t("unsupported.hotlines",
                                                 hotlines=hotline_lines(ctx.settings))]
    contact = ctx.settings.commune_contacts.get(commune, "") if commune else ""
    lines.append(ctx.t("unsupported.commune_contact", commune=commune, contact=contact)
                 if contact else ctx.t("unsupported.commune_union"))
    lines.append(ctx.t("unsupported.leader_relay"))
    lines.append(ctx.t("unsupported.staff_told") if flagged else ctx.t("unsupported.no_staff"))
    ctx.say("\n\n".join(lines))


async def _flag_staff(ctx: Context, commune: str, reference: str) -> bool:
    """One flag per woman per day on every staff chat: no words (there are none), no name."""
    chats = ctx.settings.staff_chats
    day = ctx.today.isoformat()
    text = ctx.t("unsupported.staff_flag", channel=ctx.incoming.channel,
                 commune=commune or "?", reference=reference)
    for channel, chat_id in chats.items():
        await q.enqueue(ctx.conn, channel, chat_id, text, purpose="unsupported",
                        dedupe_key=f"unsupported:{reference}:{day}:{channel}", priority=5,
                        now=ctx.now, about_user=ctx.user.id)
    return bool(chats)
