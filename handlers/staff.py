"""Provincial union staff: review clusters, forward to departments, record answers.

Every command and button here checks `ctx.is_staff` first; anyone else gets a polite refusal and
nothing changes. Cluster buttons stay valid on older messages (`global_action`), because staff
work through a digest from the morning, not only the last message.
"""

from __future__ import annotations

import re

from storage import lifecycle as lc
from storage import queries as q
from storage import reports

from . import formats
from .answers import people_to_tell, same_answer, tell_answer
from .domain import Dialogue, Status
from .engine import IDLE, Context
from .followup import FollowUp, cluster_lines
from .menus import CANCEL, menu
from .privacy import mask_pii
from .questions import forget_questions, merge_clusters, reject_cluster, resync_clusters
from .text import fold
from .types import Reply

__all__ = ["Staff"]

MAX_ANSWER = 20_000  # characters; the outbox splits a long answer into messages

LIST_LIMIT = 15
DUPLICATES_SHOWN = 5


class State:
    ANSWER_TEXT = "staff.answer_text"
    ANSWER_AGENCY = "staff.answer_agency"
    ANSWER_CONFIRM = "staff.answer_confirm"
    REJECT_REASON = "staff.reject_reason"


_RECEIPT = re.compile(r"^[A-Z0-9]{2,8}-\d{6}$")


class Staff:
    def __init__(self) -> None:
        self.states = {
            State.ANSWER_TEXT: self.on_answer_text,
            State.ANSWER_AGENCY: self.on_answer_agency,
            State.ANSWER_CONFIRM: self.on_answer_confirm,
            State.REJECT_REASON: self.on_reject_reason,
        }
        self.prompts = {
            State.ANSWER_TEXT: self.ask_answer_text,
            State.ANSWER_AGENCY: self.ask_answer_agency,
            State.ANSWER_CONFIRM: self.ask_answer_confirm,
            State.REJECT_REASON: self.ask_reject_reason,
        }
        self.commands = {
            "help": self.help,
            "cum": self.list_clusters,
            "xem": self.open_cluster,
            "duyet": self.approve,
            "chuyen": self.forward,
            "traloi": self.answer,
            "tuchoi": self.reject,
            "khan": self.urgent,
            "noidung": self.public_text,
            "gop": self.merge,
            "tach": self.split,
            "chude": self.change_topic,
            "dot": self.choose_dialogue,
            "nhan": self.message_member,
            "tonghop": self.digest,
            "thongke": self.stats,
            "xuat": self.export,
            "thongbao": self.announce,
            "trung": self.list_duplicates,
        }
        # After forwarding: /sotraloi, /thaoluan, /camket, /dangxuly, /ketqua, /khongthe,
        # /quahan, /so (handlers/followup.py); /chuyen below hands its arguments there too.
        self.followup = FollowUp(self._cluster)
        self.commands.update(self.followup.commands)

    # -- routing ----------------------------------------------------------------------------

    async def command(self, ctx: Context, name: str, args: str) -> bool:
        handler = self.commands.get(name)
        if handler is None:
            return False
        if not ctx.is_staff:
            if name == "help":
                return False  # members get their own help
            ctx.say(ctx.t("staff.not_allowed"))
            return True
        await handler(ctx, args)
        return True

    async def global_action(self, ctx: Context, action: str) -> bool:
        if not action.startswith("st:"):
            return False
        if not ctx.is_staff:
            ctx.say(ctx.t("staff.not_allowed"))
            return True
        verb, _, rest = action[3:].partition(":")
        args = rest.replace(":", " ")
        handlers = {"open": self.open_cluster, "approve": self.approve, "fwd": self.forward,
                    "answer": self.answer, "reject": self.reject, "urgent": self.urgent,
                    "list": self.list_clusters, "announce": self.send_announcement,
                    "dupok": self.confirm_duplicate, "dupno": self.refuse_duplicate}
        handler = handlers.get(verb)
        if handler is None:
            ctx.say(ctx.t("error.stale_button"))
            return True
        await handler(ctx, args)
        return True

    # -- commands ---------------------------------------------------------------------------

    async def help(self, ctx: Context, args: str) -> None:
        ctx.say(ctx.t("help.member"))
        ctx.say(ctx.t("help.staff"))
        ctx.say(ctx.t("lifecycle.help"))

    async def digest(self, ctx: Context, args: str) -> None:
        digest = await ctx.services.tools.digest(ctx.conn, ctx.now)
        ctx.replies.append(Reply(digest.text, image=digest.chart))

    async def stats(self, ctx: Context, args: str) -> None:
        tools = ctx.services.tools
        ctx.say(tools.stats_text(await tools.stats(ctx.conn, _dialogue(ctx), ctx.today)))

    async def export(self, ctx: Context, args: str) -> None:
        fmt = args.strip().lower() or "xlsx"
        if fmt not in ("xlsx", "docx"):
            ctx.say(ctx.t("staff.usage.export"))
            return
        if not ctx.settings.texts_in_chat:  # the files hold every question: they stay home
            url = ctx.settings.console_url
            link = ctx.t("console.link", url=url, path=f"/xuat?dinh_dang={fmt}") if url else ""
            ctx.say(ctx.t("console.export_in_console", link=link))
            return
        name, content = await ctx.services.tools.export(ctx.conn, _dialogue(ctx), fmt, ctx.today)
        # The official summary reads staff's wording (/noidung); say which clusters lack one.
        raw = [c.id for c in await reports.clusters_of_dialogue(ctx.conn, _dialogue(ctx).id)
               if not c.public_text and c.status != Status.REJECTED]
        if raw:
            ctx.say(ctx.t("lifecycle.stats.no_official", count=len(raw),
                          ids=", ".join(f"#{i}" for i in raw[:30])))
        ctx.replies.append(Reply(ctx.t("staff.exported", name=name), document=(name, content)))

    async def announce(self, ctx: Context, args: str) -> None:
        """Preview the open dialogue's announcement; a button queues it for every member."""
        open_now = ctx.settings.open_dialogues(ctx.today)
        if not open_now:
            ctx.say(ctx.t("staff.announce_none_open"))
            return
        dialogue = _dialogue(ctx) if _dialogue(ctx) in open_now else open_now[0]
        recipients = await q.announcement_recipients(ctx.conn)
        ctx.say(ctx.t("staff.announce_preview", count=len(recipients),
                      text=_announcement(ctx, dialogue)),
                menu([(ctx.t("staff.button.announce", count=len(recipients)),
                       f"st:announce:{dialogue.id}")]))

    async def send_announcement(self, ctx: Context, args: str) -> None:
        dialogue = ctx.settings.dialogue(args.strip())
        if dialogue is None or not dialogue.is_open(ctx.today):
            ctx.say(ctx.t("staff.announce_none_open"))
            return
        text = _announcement(ctx, dialogue)
        queued = 0
        for user_id, channel, chat_id in await q.announcement_recipients(ctx.conn):
            # One announcement per member per dialogue, however often the button is pressed.
            if await q.enqueue(ctx.conn, channel, chat_id, text, purpose="announcement",
                               dedupe_key=f"announce:{dialogue.id}:{user_id}", priority=-1,
                                   now=ctx.now):
                queued += 1
        ctx.say(ctx.t("staff.announce_queued", count=queued))

    async def choose_dialogue(self, ctx: Context, args: str) -> None:
        chosen = ctx.settings.dialogue(args.strip())
        if chosen is None:
            lines = [ctx.t("staff.dialogues")]
            current = _dialogue(ctx)
            for d in ctx.settings.dialogues:
                mark = "👉 " if d.id == current.id else ""
                dates = f"{formats.day(d.opens)}–{formats.day(d.closes)}"
                lines.append(f"{mark}{d.id} — {d.title} ({dates})")
            ctx.say("\n".join(lines))
            return
        ctx.data["staff_dialogue"] = chosen.id
        ctx.say(ctx.t("staff.dialogue_chosen", title=chosen.title))

    async def list_clusters(self, ctx: Context, args: str) -> None:
        dialogue = _dialogue(ctx)
        topic = int(args) if args.strip().isdigit() else None
        clusters = await reports.clusters_of_dialogue(ctx.conn, dialogue.id, topic)
        if not clusters:
            ctx.say(ctx.t("staff.no_clusters", title=dialogue.title))
            return
        lines = [ctx.t("staff.cluster_list", title=dialogue.title, count=len(clusters))]
        for c in clusters[:LIST_LIMIT]:
            lines.append(_cluster_line(ctx, c))
        if len(clusters) > LIST_LIMIT:
            lines.append(ctx.t("staff.more_clusters", count=len(clusters) - LIST_LIMIT))
        options = menu([(f"#{c.id}", f"st:open:{c.id}") for c in clusters[:8]])
        ctx.say("\n".join(lines), options, columns=4)

    async def open_cluster(self, ctx: Context, args: str) -> None:
        cluster = await self._cluster(ctx, args)
        if cluster is None:
            return
        dialogue = ctx.settings.dialogue(cluster.dialogue_id)
        current = await q.current_answer(ctx.conn, cluster.id)
        lines = [_cluster_header(ctx, cluster, dialogue, current)]
        lines.extend(await cluster_lines(ctx, cluster.id))
        for line in await reports.questions_in_cluster(ctx.conn, cluster.id):
            lines.append(_question_line(ctx, line))
        ctx.say("\n".join(lines)[:3900], menu([
            (ctx.t("staff.button.approve"), f"st:approve:{cluster.id}"),
            (ctx.t("staff.button.forward"), f"st:fwd:{cluster.id}"),
            (ctx.t("staff.button.answer"), f"st:answer:{cluster.id}"),
            (ctx.t("staff.button.reject"), f"st:reject:{cluster.id}"),
            (ctx.t("staff.button.urgent"), f"st:urgent:{cluster.id}"),
        ]), columns=2)

    async def approve(self, ctx: Context, args: str) -> None:
        cluster = await self._cluster(ctx, args)
        if cluster is None:
            return
        if cluster.status == Status.NEW:
            await q.set_cluster_status(ctx.conn, cluster.id, Status.REVIEWED)
        ctx.say(ctx.t("staff.approved", id=cluster.id))

    async def forward(self, ctx: Context, args: str) -> None:
        words = args.split()
        found = await self._cluster_and_dialogue(ctx, words)
        if found is None:
            return
        cluster, dialogue = found
        if len(words) < 2:
            choices = [(name, f"st:fwd:{cluster.id}:{i}")
                       for i, name in enumerate(dialogue.departments, 1)]
            ctx.say(ctx.t("staff.choose_department", id=cluster.id), menu(choices))
            return
        # Lead and co-operating departments, each deadline checked (handlers/followup.py).
        await self.followup.forward(ctx, cluster, dialogue, words[1:])

    async def answer(self, ctx: Context, args: str) -> None:
        cluster = await self._cluster(ctx, args)
        if cluster is None:
            return
        ctx.data = {"cluster": cluster.id, "staff_dialogue": ctx.data.get("staff_dialogue")}
        await ctx.show(State.ANSWER_TEXT)

    async def reject(self, ctx: Context, args: str) -> None:
        target, _, reason = args.strip().partition(" ")
        if _RECEIPT.match(target.upper()):
            await self._reject_question(ctx, target.upper(), reason.strip())
            return
        cluster = await self._cluster(ctx, target)
        if cluster is None:
            return
        if not reason.strip():
            ctx.data = {"cluster": cluster.id, "staff_dialogue": ctx.data.get("staff_dialogue")}
            await ctx.show(State.REJECT_REASON)
            return
        await self._reject_cluster(ctx, cluster.id, reason.strip())

    async def urgent(self, ctx: Context, args: str) -> None:
        cluster = await self._cluster(ctx, args)
        if cluster is None:
            return
        now_urgent = await q.toggle_cluster_urgent(ctx.conn, cluster.id)
        # Urgent: out of the index (never offered to another member, nothing joins it); back
        # in when the mark is taken off.
        await resync_clusters(ctx, cluster.dialogue_id, cluster.id)
        ctx.say(ctx.t("staff.urgent_on" if now_urgent else "staff.urgent_off", id=cluster.id))

    async def public_text(self, ctx: Context, args: str) -> None:
        """The wording members asking something similar read instead of a masked question."""
        target, _, wording = args.strip().partition(" ")
        wording = wording.strip()
        if not wording:
            ctx.say(ctx.t("staff.usage.public_text"))
            return
        cluster = await self._cluster(ctx, target)
        if cluster is None:
            return
        cleared = fold(wording) in ("xoa", "bo")
        await q.set_cluster_public_text(
            ctx.conn, cluster.id, None if cleared else wording[: ctx.settings.question_max_chars])
        ctx.say(ctx.t("staff.public_text_cleared" if cleared else "staff.public_text_set",
                      id=cluster.id))

    async def merge(self, ctx: Context, args: str) -> None:
        words = args.split()
        if len(words) != 2:
            ctx.say(ctx.t("staff.usage.merge"))
            return
        source = await self._cluster(ctx, words[0])
        target = await self._cluster(ctx, words[1]) if source else None
        if source is None or target is None:
            return
        if source.id == target.id or source.dialogue_id != target.dialogue_id:
            ctx.say(ctx.t("staff.merge_invalid"))
            return
        moved = await merge_clusters(ctx, source, target)
        ctx.say(ctx.t("staff.merged", source=source.id, target=target.id, moved=moved))
        # Those merged into an answered cluster learn its answer now, not never.
        if await q.current_answer(ctx.conn, target.id) is not None:
            told = await tell_answer(ctx, target.id)
            ctx.say(ctx.t("staff.merged_told", target=target.id, count=told))

    async def split(self, ctx: Context, args: str) -> None:
        receipt = args.strip().upper()
        row = await q.question_by_receipt(ctx.conn, receipt) if _RECEIPT.match(receipt) else None
        if row is None or row["kind"] == "support":
            ctx.say(ctx.t("staff.usage.split"))
            return
        cluster_id = await q.create_cluster(ctx.conn, row["dialogue_id"], row["topic"],
                                            bool(row["urgent"]), now=ctx.now)
        await q.move_question(ctx.conn, row["id"], cluster_id)
        # Both clusters as a restart would load them: the split question is the new cluster's
        # core, and no longer part of the old one's.
        await resync_clusters(ctx, row["dialogue_id"], row["cluster_id"], cluster_id)
        ctx.say(ctx.t("staff.split", receipt=receipt, id=cluster_id))

    async def change_topic(self, ctx: Context, args: str) -> None:
        words = args.split()
        found = await self._cluster_and_dialogue(ctx, words)
        if found is None:
            return
        cluster, dialogue = found
        if len(words) < 2 or not words[1].isdigit() or not (
                1 <= int(words[1]) <= len(dialogue.topics)):
            ctx.say(ctx.t("staff.usage.topic", count=len(dialogue.topics)))
            return
        await q.set_cluster_topic(ctx.conn, cluster.id, int(words[1]))
        # Later questions: the new topic.
        await resync_clusters(ctx, cluster.dialogue_id, cluster.id)
        ctx.say(ctx.t("staff.topic_changed", id=cluster.id,
                      topic=dialogue.topic_name(int(words[1]))))

    async def message_member(self, ctx: Context, args: str) -> None:
        """Write to a member through the bot, by her receipt: her identity stays hidden."""
        receipt, _, text = args.strip().partition(" ")
        recipient = await _recipient(ctx, receipt.upper())
        if recipient is None or not text.strip():
            ctx.say(ctx.t("staff.usage.message"))
            return
        await q.enqueue(ctx.conn, recipient.channel, recipient.chat_id,
                        ctx.t("notify.from_staff", receipt=recipient.receipt, text=text.strip()),
                        purpose="staff_message", priority=5, now=ctx.now)
        ctx.say(ctx.t("staff.message_queued", receipt=recipient.receipt))

    # -- possible duplicates (handlers.duplicates) -----------------------------------------

    async def list_duplicates(self, ctx: Context, args: str) -> None:
        """Pairs the matcher found close but not close enough to join: one message each, with
        one button to merge and one to refuse."""
        dialogue = _dialogue(ctx)
        pairs = await q.open_duplicate_candidates(ctx.conn, dialogue.id, DUPLICATES_SHOWN)
        if not pairs:
            ctx.say(ctx.t("staff.no_duplicates", title=dialogue.title))
            return
        ctx.say(ctx.t("staff.duplicates", title=dialogue.title, count=len(pairs)))
        for pair in pairs:
            newer = await reports.cluster_summary(ctx.conn, pair.cluster_id)
            older = await reports.cluster_summary(ctx.conn, pair.similar_to)
            if newer is None or older is None:
                continue
            ctx.say(ctx.t("staff.duplicate_pair", new=_cluster_line(ctx, newer),
                          old=_cluster_line(ctx, older)),
                    menu([(ctx.t("staff.button.dup_merge", source=newer.id, target=older.id),
                           f"st:dupok:{pair.id}"),
                          (ctx.t("staff.button.dup_refuse"), f"st:dupno:{pair.id}")]))

    async def confirm_duplicate(self, ctx: Context, args: str) -> None:
        pair = await self._duplicate(ctx, args)
        if pair is None:
            return
        source = await reports.cluster_summary(ctx.conn, pair.cluster_id)
        target = await reports.cluster_summary(ctx.conn, pair.similar_to)
        if source is None or target is None:
            ctx.say(ctx.t("staff.duplicate_gone"))
            return
        moved = await merge_clusters(ctx, source, target)
        await q.decide_duplicate_candidate(ctx.conn, pair.id, True, now=ctx.now)
        ctx.say(ctx.t("staff.merged", source=source.id, target=target.id, moved=moved))

    async def refuse_duplicate(self, ctx: Context, args: str) -> None:
        pair = await self._duplicate(ctx, args)
        if pair is None:
            return
        await q.decide_duplicate_candidate(ctx.conn, pair.id, False, now=ctx.now)
        ctx.say(ctx.t("staff.duplicate_refused", source=pair.cluster_id,
                      target=pair.similar_to))

    async def _duplicate(self, ctx: Context, args: str) -> q.DuplicateCandidate | None:
        number = args.strip()
        pair = (await q.open_duplicate_candidate(ctx.conn, int(number))
                if number.isdigit() and len(number) <= 9 else None)
        if pair is None:
            ctx.say(ctx.t("staff.duplicate_gone"))
        return pair

    # -- answer steps -----------------------------------------------------------------------

    async def ask_answer_text(self, ctx: Context) -> None:
        current = await q.current_answer(ctx.conn, int(ctx.data["cluster"]))
        if current is None:
            text = ctx.t("staff.ask_answer", id=ctx.data.get("cluster"))
        else:
            text = ctx.t("staff.ask_correction", id=current.cluster_id,
                         revision=current.revision, agency=current.agency,
                         answer=current.answer[:1500])
        ctx.say(text, menu([], cancel_label=ctx.t("button.cancel")))

    async def on_answer_text(self, ctx: Context) -> None:
        if ctx.action == CANCEL or not ctx.is_staff:
            await self._end(ctx)
            return
        if len(ctx.text) < 10:
            ctx.say(ctx.t("staff.answer_too_short"))
            return
        if len(ctx.text) > MAX_ANSWER:  # never cut: every asker would get the cut answer
            ctx.say(ctx.t("staff.answer_too_long", length=len(ctx.text), maximum=MAX_ANSWER))
            return
        ctx.data["answer"] = ctx.text
        await ctx.show(State.ANSWER_AGENCY)

    async def ask_answer_agency(self, ctx: Context) -> None:
        dialogue = await self._cluster_dialogue(ctx)
        choices = [(name, f"sta:agency:{i}") for i, name in enumerate(dialogue.departments, 1)]
        ctx.say(ctx.t("staff.ask_agency"),
                menu(choices, cancel_label=ctx.t("button.cancel")))

    async def on_answer_agency(self, ctx: Context) -> None:
        if ctx.action == CANCEL or not ctx.is_staff:
            await self._end(ctx)
            return
        dialogue = await self._cluster_dialogue(ctx)
        agency = None
        if ctx.action.startswith("sta:agency:"):
            agency = _department(dialogue, ctx.action.rsplit(":", 1)[1])
        elif len(ctx.text) >= 3:
            agency = ctx.text[:200]  # an agency not in the list, typed by name
        if agency is None:
            ctx.say(ctx.t("error.choose_from_list"))
            await ctx.show(State.ANSWER_AGENCY)
            return
        ctx.data["agency"] = agency
        await ctx.show(State.ANSWER_CONFIRM)

    async def ask_answer_confirm(self, ctx: Context) -> None:
        cluster_id = int(ctx.data["cluster"])
        answer, agency = ctx.data["answer"], ctx.data["agency"]
        current = await q.current_answer(ctx.conn, cluster_id)
        if current is None:
            key, revision_id = "staff.confirm_answer", None
        elif same_answer(current, answer, agency):
            key, revision_id = "staff.confirm_unchanged", current.id
        else:
            key, revision_id = "staff.confirm_correction", None
        count = await people_to_tell(ctx, cluster_id, revision_id)
        ctx.say(ctx.t(key, id=cluster_id, agency=agency, answer=answer, count=count,
                      revision=current.revision if current else 0,
                      next=current.revision + 1 if current else 1),
                menu([(ctx.t("staff.button.send_answer"), "sta:send")],
                     cancel_label=ctx.t("button.cancel")))

    async def on_answer_confirm(self, ctx: Context) -> None:
        if ctx.action != "sta:send" or not ctx.is_staff:
            if ctx.action == CANCEL or not ctx.is_staff:
                await self._end(ctx)
            else:
                ctx.say(ctx.t("error.choose_from_list"))
                await ctx.show(State.ANSWER_CONFIRM)
            return
        cluster_id = int(ctx.data["cluster"])
        answer, agency = ctx.data["answer"], ctx.data["agency"]
        current = await q.current_answer(ctx.conn, cluster_id)
        if current is not None and same_answer(current, answer, agency):
            key = "staff.answer_unchanged"  # no new revision: nobody is told it twice
        else:
            key = "staff.correction_saved" if current else "staff.answer_saved"
            current = await q.record_answer(ctx.conn, cluster_id, answer, agency,
                                            f"{ctx.incoming.channel}:{ctx.incoming.user_id}",
                                            now=ctx.now)
            await _department_answered(ctx, cluster_id, answer, agency)
        told = await tell_answer(ctx, cluster_id)
        await self._end(ctx, ctx.t(key, id=cluster_id, count=told, revision=current.revision))

    # -- reject steps -----------------------------------------------------------------------

    async def ask_reject_reason(self, ctx: Context) -> None:
        ctx.say(ctx.t("staff.ask_reject_reason", id=ctx.data.get("cluster")),
                menu([], cancel_label=ctx.t("button.cancel")))

    async def on_reject_reason(self, ctx: Context) -> None:
        if ctx.action == CANCEL or not ctx.is_staff or len(ctx.text) < 5:
            if ctx.action != CANCEL and ctx.is_staff:
                ctx.say(ctx.t("staff.reason_too_short"))
                return
            await self._end(ctx)
            return
        cluster_id = int(ctx.data["cluster"])
        await self._end(ctx)
        await self._reject_cluster(ctx, cluster_id, ctx.text[:500])

    async def _reject_cluster(self, ctx: Context, cluster_id: int, reason: str) -> None:
        await reject_cluster(ctx, cluster_id, reason)
        told = await notify_cluster(ctx, cluster_id, "rejected", reason=reason)
        ctx.say(ctx.t("staff.rejected", id=cluster_id, count=told))

    async def _reject_question(self, ctx: Context, receipt: str, reason: str) -> None:
        row = await q.question_by_receipt(ctx.conn, receipt)
        if row is None or len(reason) < 5:
            ctx.say(ctx.t("staff.usage.reject"))
            return
        await q.reject_question(ctx.conn, row["id"], reason[:500])
        forget_questions(ctx, [(row["id"], row["dialogue_id"])])
        recipient = await q.recipient_of_question(ctx.conn, row["id"])
        if recipient is not None:
            await q.enqueue(ctx.conn, recipient.channel, recipient.chat_id,
                            ctx.t("notify.rejected", receipt=receipt, reason=reason[:500]),
                            purpose="rejected", dedupe_key=f"rejected-q:{row['id']}", now=ctx.now)
        ctx.say(ctx.t("staff.question_rejected", receipt=receipt))

    # -- helpers ----------------------------------------------------------------------------

    async def _end(self, ctx: Context, text: str | None = None) -> None:
        keep = ctx.data.get("staff_dialogue")
        ctx.reset(IDLE)
        if keep:
            ctx.data["staff_dialogue"] = keep
        ctx.say(text or ctx.t("staff.cancelled"))

    async def _cluster(self, ctx: Context, arg: str) -> reports.ClusterSummary | None:
        number = arg.strip().lstrip("#")
        if not number.isdigit() or len(number) > 9:
            ctx.say(ctx.t("staff.need_cluster_id"))
            return None
        found = await reports.cluster_dialogue(ctx.conn, int(number))
        if found is None:
            ctx.say(ctx.t("staff.no_such_cluster", id=number))
            return None
        _, merged_into = found
        if merged_into:
            ctx.say(ctx.t("staff.cluster_merged", id=number, target=merged_into))
            number = str(merged_into)
        return await reports.cluster_summary(ctx.conn, int(number))

    async def _cluster_and_dialogue(
        self, ctx: Context, words: list[str]
    ) -> tuple[reports.ClusterSummary, Dialogue] | None:
        """The cluster named by the first word, and its dialogue (config may have dropped it)."""
        cluster = await self._cluster(ctx, words[0] if words else "")
        dialogue = ctx.settings.dialogue(cluster.dialogue_id) if cluster else None
        if cluster is not None and dialogue is None:
            ctx.say(ctx.t("error.dialogue_gone"))
        return (cluster, dialogue) if cluster and dialogue else None

    async def _cluster_dialogue(self, ctx: Context) -> Dialogue:
        found = await reports.cluster_dialogue(ctx.conn, int(ctx.data["cluster"]))
        dialogue = ctx.settings.dialogue(found[0]) if found else None
        return dialogue or _dialogue(ctx)


async def notify_cluster(ctx: Context, cluster_id: int, kind: str, **values: str) -> int:
    """Queue one message per asker/supporter of a cluster; each is told once (dedupe key).
    Answers, which change, go through `answers.tell_answer` instead."""
    count = 0
    for r in await q.recipients_of_cluster(ctx.conn, cluster_id):
        text = ctx.t(f"notify.{kind}", receipt=r.receipt, **values)
        if await q.enqueue(ctx.conn, r.channel, r.chat_id, text, purpose=kind,
                           dedupe_key=f"{kind}:{cluster_id}:{r.question_id}", now=ctx.now):
            count += 1
    return count


def _dialogue(ctx: Context) -> Dialogue:
    """The dialogue staff are working on: their choice, else the open one, else the latest."""
    return ctx.settings.current_dialogue(ctx.today, ctx.data.get("staff_dialogue"))


current_dialogue = _dialogue  # the same choice for handlers/followup.py


async def _recipient(ctx: Context, reference: str) -> q.Recipient | None:
    """A receipt code, or "U<id>" for a woman alerted on before she had one."""
    if re.fullmatch(r"U\d{1,9}", reference):
        user = await q.user_by_id(ctx.conn, int(reference[1:]))
        if user is None or user.deleted_at or not user.chat_id:
            return None
        return q.Recipient(0, reference, user.channel, user.chat_id)
    row = await q.question_by_receipt(ctx.conn, reference)
    return await q.recipient_of_question(ctx.conn, row["id"]) if row else None


def _announcement(ctx: Context, dialogue: Dialogue) -> str:
    return ctx.t("notify.announcement", union=ctx.settings.union_name, title=dialogue.title,
                 theme=dialogue.theme, closes=formats.day(dialogue.closes))


def _department(dialogue: Dialogue, value: str) -> str | None:
    if value.isdigit() and 1 <= int(value) <= len(dialogue.departments):
        return dialogue.departments[int(value) - 1]
    return None


async def _department_answered(ctx: Context, cluster_id: int, answer: str, agency: str) -> None:
    """The union's answer names a department the cluster went to that has not answered yet:
    that is its written answer (dated now) for the on-time figures."""
    for f in await lc.forwards_of_cluster(ctx.conn, cluster_id):
        if f.department_name == agency and not f.answered:
            await lc.record_department_answer(
                ctx.conn, cluster_id, f.department_id, answer,
                by=f"{ctx.incoming.channel}:{ctx.incoming.user_id}", now=ctx.now,
                department_name=f.department_name)


def _in_console(ctx: Context, cluster_id: int) -> str:
    """[privacy] texts_in_chat = false: where her words are instead of in the chat."""
    url = ctx.settings.console_url
    link = ctx.t("console.link", url=url, path=f"/cum/{cluster_id}") if url else ""
    return ctx.t("console.text_in_console", link=link)


def _cluster_line(ctx: Context, c: reports.ClusterSummary) -> str:
    flag = "🚨 " if c.urgent else ""
    if not ctx.settings.texts_in_chat:  # staff's own wording may go; her words stay home
        text = c.public_text or _in_console(ctx, c.id)
    elif c.disclosure:  # her account of danger: only the safety role reads it, in the console
        text = ctx.t("digest.case_reference", id=c.id)
    else:
        text = mask_pii(c.text) or ctx.t("staff.voice_only")
    return ctx.t("staff.cluster_line", flag=flag, id=c.id, count=formats.asked(ctx.t, c),
                 status=ctx.status_name(c.status), text=formats.shortened(text, 90))


def _cluster_header(ctx: Context, c: reports.ClusterSummary, dialogue: Dialogue | None,
                    current: q.AnswerRevision | None = None) -> str:
    topic = dialogue.topic_name(c.topic) if dialogue else str(c.topic)
    lines = [ctx.t("staff.cluster_header", id=c.id, count=formats.asked(ctx.t, c), topic=topic,
                   status=ctx.status_name(c.status))]
    if c.urgent:
        lines.append(ctx.t("staff.is_urgent"))
    if c.department:
        lines.append(ctx.t("staff.cluster_department", department=c.department,
                           deadline=formats.day(c.deadline) if c.deadline else "—"))
    if current is not None:
        lines.append(ctx.t("staff.cluster_answer", agency=current.agency,
                           answer=current.answer[:500], revision=current.revision))
    if c.reject_reason:
        lines.append(ctx.t("staff.cluster_rejected", reason=c.reject_reason))
    return "\n".join(lines)


def _question_line(ctx: Context, line: reports.QuestionLine) -> str:
    """One question as staff see it: never a name when she asked to be anonymous."""
    if line.anonymous or line.user_deleted:
        who = ctx.t("ask.anonymous")
    else:
        who = line.display_name or ctx.t("ask.named")
    if line.kind == "support":
        return ctx.t("staff.support_line", receipt=line.receipt, commune=line.commune or "—")
    if not ctx.settings.texts_in_chat:  # neither her words nor her name leave the server
        who = ctx.t("ask.named") if not (line.anonymous or line.user_deleted) else who
        text = ctx.t("console.text_in_console", link="")
    elif line.urgent:  # a disclosure: the safety role reads it in the console, nobody in chat
        text = ctx.t("staff.disclosure_text")
    else:
        text = mask_pii(line.text) if line.text else ctx.t("staff.deleted_text")
        if line.voice_url:
            text += f" 🎤 {line.voice_url}"
    if line.kind == "relay":
        who = ctx.t("staff.relay_by", count=line.represented)
    rejected = " ⛔" if line.rejected_reason else ""
    return ctx.t("staff.question_line", receipt=line.receipt, who=who,
                 commune=line.commune or "—", text=text, rejected=rejected)
