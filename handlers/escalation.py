"""A message that mentions violence or danger: safety information at once, staff alerted now.

Runs before the flow on every free-text message, whatever step she is at. False alarms are
acceptable; a missed one is not, so this never waits for her to finish the flow: with consent,
her message is stored at once as an urgent question (the flow later fills in commune, topic and
anonymity on the same receipt); without consent it is not stored as a question, but staff are
still alerted, because her safety comes first.
"""

from __future__ import annotations

from storage import queries as q

from .engine import Context
from .text import fold

__all__ = ["escalate_danger"]


async def escalate_danger(ctx: Context) -> None:
    detect = ctx.services.danger
    if detect is None or not ctx.text or ctx.text.startswith("/"):
        return
    hit = detect(ctx.text)
    if hit is None:
        return
    category = getattr(hit, "category", "nguy_hiem")
    ctx.data["danger"] = category
    commune = ctx.data.get("commune") or await q.last_commune_of_user(ctx.conn, ctx.user.id) or ""
    ctx.say(_safety_message(ctx, commune))
    receipt = await _store_urgent(ctx, category, commune)
    reference = receipt or f"U{ctx.user.id}"
    alert = ctx.t("danger.staff_alert", category=ctx.t(f"danger.category.{category}")
                  if f"danger.category.{category}" in ctx.services.locale.messages
                  else category, commune=commune or "?", text=ctx.text[:600],
                  channel=ctx.incoming.channel, reference=reference)
    key = ctx.incoming.update_key
    for channel, chat_id in ctx.settings.staff_chats.items():
        await q.enqueue(ctx.conn, channel, chat_id, alert, purpose="danger",
                        dedupe_key=f"danger:{ctx.incoming.channel}:{key}:{channel}" if key
                        else None, priority=10, now=ctx.now, about_user=ctx.user.id)


def _safety_message(ctx: Context, commune: str) -> str:
    hotlines = "\n".join(f"☎️ {h.number} — {h.name}" for h in ctx.settings.hotlines)
    contact = ctx.settings.commune_contacts.get(commune, "")
    text = ctx.t("danger.reply", hotlines=hotlines)
    if contact:
        text += "\n" + ctx.t("danger.commune_contact", commune=commune, contact=contact)
    return text


async def _store_urgent(ctx: Context, category: str, commune: str) -> str:
    """Store her words now as an urgent question; the receipt, or "" without consent."""
    if ctx.data.get("urgent_question"):
        return ctx.data.get("urgent_receipt", "")
    if not ctx.user.consented or ctx.state.startswith("lead."):
        return ""  # a leader's relay is stored, urgent, when she finishes it
    open_now = ctx.settings.open_dialogues(ctx.today)
    dialogue = ctx.dialogue() or (open_now[0] if open_now else None)
    if dialogue is None or not dialogue.is_open(ctx.today):
        return ""
    topic = ctx.data.get("topic") or _protection_topic(dialogue.topics)
    cluster_id = await q.create_cluster(ctx.conn, dialogue.id, topic, urgent=True, now=ctx.now)
    receipt = await q.next_receipt(ctx.conn, dialogue.id, dialogue.code)
    question_id = await q.insert_question(ctx.conn, q.NewQuestion(
        dialogue_id=dialogue.id, user_id=ctx.user.id, channel=ctx.incoming.channel,
        kind="member", commune=commune, topic=topic,
        text=ctx.text[: ctx.settings.question_max_chars], anonymous=True,
        cluster_id=cluster_id, urgent=True, danger=category,
    ), receipt, now=ctx.now)
    ctx.data["urgent_question"] = question_id
    ctx.data["urgent_receipt"] = receipt
    ctx.data.setdefault("dialogue", dialogue.id)
    return receipt


def _protection_topic(topics: tuple[str, ...]) -> int:
    """The topic about protecting women and children (violence), else the last ("Khác")."""
    for number, name in enumerate(topics, 1):
        folded = fold(name)
        if "bao luc" in folded or "bao ve phu nu" in folded:
            return number
    return len(topics)
