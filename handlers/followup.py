"""Staff commands for a cluster's life after forwarding (issue 16).

/chuyen (lead + co-operating departments, each deadline checked against the dialogue),
/sotraloi (a department's written answer), /thaoluan (discussed at the dialogue, the chair's
conclusion), /camket (agency, what, by when: the askers are told), /dangxuly, /ketqua and
/khongthe (the result: the askers are told), /quahan (what is late), /so (a department's list).

Staff.command checks `ctx.is_staff` before any of these runs. The SQL is storage/lifecycle.py;
telling the askers is handlers/answers.py, in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from storage import lifecycle as lc
from storage import queries as q
from storage import reports

from . import formats
from .answers import tell_followup
from .domain import Department, Dialogue
from .engine import Context
from .menus import menu
from .types import Reply

__all__ = ["FollowUp", "cluster_lines", "member_lines", "overdue_text", "parse_date"]

# A conclusion, commitment, result or department answer, like staff.MAX_ANSWER: never cut
# (everyone told would read the cut text); the outbox splits long messages.
MAX_NOTE = 20_000

_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")

ClusterLookup = Callable[[Context, str], Awaitable["reports.ClusterSummary | None"]]
Command = Callable[[Context, str], Coroutine[Any, Any, None]]


def _limited(command: Command) -> Command:
    """Refuse an over-long text with a clear reply instead of storing it cut."""
    async def run(ctx: Context, args: str) -> None:
        if len(args) > MAX_NOTE:
            ctx.say(ctx.t("lifecycle.too_long", length=len(args), maximum=MAX_NOTE))
            return
        await command(ctx, args)

    return run


def parse_date(value: str) -> dt.date | None:
    """"25/07/2027" (day/month/year, as staff write it) → a date; None if it is not one."""
    match = _DATE.match(value.strip())
    if not match:
        return None
    try:
        return dt.date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        return None


def by(ctx: Context) -> str:
    """Who did it, as stored with every step."""
    return f"{ctx.incoming.channel}:{ctx.incoming.user_id}"


class FollowUp:
    def __init__(self, cluster: ClusterLookup) -> None:
        self._cluster = cluster
        self.commands = {name: _limited(fn) for name, fn in {
            "sotraloi": self.department_answer,
            "thaoluan": self.discussed,
            "camket": self.commitment,
            "dangxuly": self.resolving,
            "ketqua": self.resolved,
            "khongthe": self.unresolvable,
            "quahan": self.overdue,
            "so": self.department_list,
            "baocao": self.period,
        }.items()}

    # -- forwarding -------------------------------------------------------------------------

    async def forward(self, ctx: Context, cluster: reports.ClusterSummary, dialogue: Dialogue,
                      words: list[str]) -> None:
        """/chuyen <cụm> <chủ trì> [hạn] [<phối hợp>[,<phối hợp>] [hạn]] …

        Departments by number in the dialogue's list (or config id); the first is the lead.
        A date applies to the departments just before it; one without a date gets the
        dialogue's answer deadline."""
        parsed = _parse_assignments(ctx, dialogue, words)
        if isinstance(parsed, str):
            ctx.say(parsed)
            return
        lead, *cooperating = parsed
        try:
            forwards = await lc.forward_cluster(ctx.conn, dialogue, cluster.id, lead,
                                                cooperating, by=by(ctx), now=ctx.now,
                                                today=ctx.today)
        except lc.LifecycleError as err:
            ctx.say(_error(ctx, err, dialogue))
            return
        await tell_followup(ctx, cluster.id)  # where her question went and by when, once
        lines = [ctx.t("lifecycle.forwarded", id=cluster.id)]
        lines.extend(_forward_line(ctx, f) for f in forwards)
        ctx.say("\n".join(lines))

    # -- later steps ------------------------------------------------------------------------

    async def department_answer(self, ctx: Context, args: str) -> None:
        """/sotraloi <cụm> <số sở> <nội dung>: a department's written answer."""
        words = args.split(maxsplit=2)
        found = await self._found(ctx, words)
        if found is None:
            return
        cluster, dialogue = found
        if len(words) < 3:
            ctx.say(ctx.t("lifecycle.usage.department_answer"))
            return
        department = _department(ctx, dialogue, words[1])
        if department is None:
            ctx.say(_bad_department(ctx, dialogue, words[1]))
            return
        try:
            forward = await lc.record_department_answer(
                ctx.conn, cluster.id, department.id, words[2], by=by(ctx),
                now=ctx.now, department_name=department.name)
        except lc.LifecycleError as err:
            ctx.say(_error(ctx, err, dialogue))
            return
        on_time = forward.on_time(ctx.settings.timezone)
        ctx.say(ctx.t("lifecycle.department_answered", id=cluster.id,
                      department=department.name, deadline=formats.day(forward.deadline),
                      timing=ctx.t("lifecycle.on_time" if on_time else "lifecycle.late")))

    async def discussed(self, ctx: Context, args: str) -> None:
        """/thaoluan <cụm> [kết luận của Chủ tịch]."""
        words = args.split(maxsplit=1)
        found = await self._found(ctx, words)
        if found is None:
            return
        cluster, dialogue = found
        conclusion = words[1] if len(words) > 1 else None
        try:
            await lc.record_discussed(ctx.conn, cluster.id, conclusion, by=by(ctx), now=ctx.now)
        except lc.LifecycleError as err:
            ctx.say(_error(ctx, err, dialogue))
            return
        ctx.say(ctx.t("lifecycle.discussed_with" if conclusion else "lifecycle.discussed",
                      id=cluster.id))

    async def commitment(self, ctx: Context, args: str) -> None:
        """/camket <cụm> <số sở> <dd/mm/yyyy> <việc sẽ làm>: askers learn agency and date."""
        words = args.split(maxsplit=3)
        found = await self._found(ctx, words)
        if found is None:
            return
        cluster, dialogue = found
        if len(words) < 4:
            ctx.say(ctx.t("lifecycle.usage.commitment"))
            return
        department = _department(ctx, dialogue, words[1])
        if department is None:
            ctx.say(_bad_department(ctx, dialogue, words[1]))
            return
        due = parse_date(words[2])
        if due is None:
            ctx.say(ctx.t("lifecycle.bad_date", value=words[2][:20]))
            return
        try:
            await lc.record_commitment(ctx.conn, cluster.id, department, words[3],
                                       due, by=by(ctx), now=ctx.now, today=ctx.today)
        except lc.LifecycleError as err:
            ctx.say(_error(ctx, err, dialogue))
            return
        told = await tell_followup(ctx, cluster.id)
        ctx.say(ctx.t("lifecycle.committed", id=cluster.id, department=department.name,
                      due=formats.day(due), count=told))

    async def resolving(self, ctx: Context, args: str) -> None:
        """/dangxuly <cụm> [ghi chú]: the agency is working on it."""
        words = args.split(maxsplit=1)
        found = await self._found(ctx, words)
        if found is None:
            return
        cluster, dialogue = found
        try:
            step = await lc.mark_resolving(ctx.conn, cluster.id,
                                           words[1] if len(words) > 1 else None,
                                           by=by(ctx), now=ctx.now)
        except lc.LifecycleError as err:
            ctx.say(_error(ctx, err, dialogue))
            return
        ctx.say(ctx.t("lifecycle.resolving", id=cluster.id, department=step.department_name,
                      due=formats.day(step.due) if step.due else "—"))

    async def resolved(self, ctx: Context, args: str) -> None:
        await self._close(ctx, args, True)

    async def unresolvable(self, ctx: Context, args: str) -> None:
        await self._close(ctx, args, False)

    async def _close(self, ctx: Context, args: str, resolved: bool) -> None:
        """/ketqua <cụm> <kết quả> · /khongthe <cụm> <lý do>: the askers are told."""
        words = args.split(maxsplit=1)
        found = await self._found(ctx, words)
        if found is None:
            return
        cluster, dialogue = found
        if len(words) < 2 or len(words[1].strip()) < 5:
            ctx.say(ctx.t("lifecycle.usage.resolved" if resolved else
                          "lifecycle.usage.unresolvable"))
            return
        try:
            await lc.close_cluster(ctx.conn, cluster.id, resolved, words[1],
                                   by=by(ctx), now=ctx.now)
        except lc.LifecycleError as err:
            ctx.say(_error(ctx, err, dialogue))
            return
        told = await tell_followup(ctx, cluster.id)
        ctx.say(ctx.t("lifecycle.closed_resolved" if resolved else
                      "lifecycle.closed_unresolvable", id=cluster.id, count=told))

    # -- reads ------------------------------------------------------------------------------

    async def overdue(self, ctx: Context, args: str) -> None:
        """/quahan: what is late in the dialogue staff work on."""
        from .staff import current_dialogue  # staff imports this module

        dialogue = current_dialogue(ctx)
        items = await lc.overdue(ctx.conn, dialogue, ctx.today)
        ctx.say(overdue_text(ctx.t, dialogue, items, ctx.today))

    async def department_list(self, ctx: Context, args: str) -> None:
        """/so [số sở]: a department's clusters with days left; without a number, the list."""
        from .staff import current_dialogue

        dialogue = current_dialogue(ctx)
        if not args.strip():
            lines = [ctx.t("lifecycle.departments", title=dialogue.title)]
            lines.extend(f"{i}. {name}" for i, name in enumerate(dialogue.departments, 1))
            ctx.say("\n".join(lines))
            return
        department = _department(ctx, dialogue, args.split()[0])
        if department is None:
            ctx.say(_bad_department(ctx, dialogue, args.strip()))
            return
        items = [i for i in await lc.clusters_forwarded_to(ctx.conn, department, ctx.today)
                 if i.dialogue_id == dialogue.id]
        if not items:
            ctx.say(ctx.t("lifecycle.department_empty", department=department.name))
            return
        lines = [ctx.t("lifecycle.department_header", department=department.name,
                       count=len(items))]
        for i in items:
            lines.append(ctx.t("lifecycle.department_item", id=i.cluster_id,
                               role=ctx.t(f"lifecycle.role.{i.role}"),
                               deadline=formats.day(i.deadline),
                               left=days_left_text(ctx.t, i.days_left)))
        ctx.say("\n".join(lines), menu([(f"#{i.cluster_id}", f"st:open:{i.cluster_id}")
                                        for i in items[:8]]), columns=4)

    async def period(self, ctx: Context, args: str) -> None:
        """/baocao <từ ngày> <đến ngày>: the period report with its chart."""
        words = args.split()
        days = [d for d in map(parse_date, words) if d is not None]
        if len(words) != 2 or len(days) != 2 or days[1] < days[0]:
            ctx.say(ctx.t("lifecycle.period.bad_dates"))
            return
        report_tools = ctx.services.tools
        text, chart = await report_tools.period(ctx.conn, days[0], days[1])
        ctx.replies.append(Reply(text, image=chart))

    async def _found(self, ctx: Context, words: list[str]
                     ) -> tuple[reports.ClusterSummary, Dialogue] | None:
        cluster = await self._cluster(ctx, words[0] if words else "")
        if cluster is None:
            return None
        dialogue = ctx.settings.dialogue(cluster.dialogue_id)
        if dialogue is None:
            ctx.say(ctx.t("error.dialogue_gone"))
            return None
        return cluster, dialogue


async def cluster_lines(ctx: Context, cluster_id: int) -> list[str]:
    """What /xem adds about the forwards and the later steps."""
    lines = []
    for f in await lc.forwards_of_cluster(ctx.conn, cluster_id):
        lines.append(_forward_line(ctx, f))
    stage = await lc.current_stage(ctx.conn, cluster_id)
    if stage.discussed is not None:
        lines.append(ctx.t("lifecycle.line.discussed",
                           conclusion=stage.discussed.note or "—"))
    if stage.commitment is not None:
        c = stage.commitment
        lines.append(ctx.t("lifecycle.line.committed", department=c.department_name,
                           what=c.note, due=formats.day(c.due) if c.due else "—"))
    if stage.latest is not None and stage.latest.step == lc.RESOLVING:
        lines.append(ctx.t("lifecycle.line.resolving"))
    if stage.result is not None:
        lines.append(ctx.t(f"lifecycle.line.{stage.result.step}", result=stage.result.note))
    return lines


async def member_lines(ctx: Context, row: q.MyQuestion) -> list[str]:
    """What /cua_toi adds to one of her questions: which agency and by when, then the result.
    Only what she would be told anyway; nothing of other members."""
    stage = await lc.current_stage(ctx.conn, row.cluster_id)
    if stage.result is not None:
        return [ctx.t(f"lifecycle.mine.{stage.result.step}", result=stage.result.note)]
    c = stage.commitment
    if c is not None:
        key = "lifecycle.mine.resolving" if stage.step == lc.RESOLVING else \
            "lifecycle.mine.committed"
        return [ctx.t(key, agency=c.department_name, what=c.note,
                      due=formats.day(c.due) if c.due else "—")]
    if row.department and row.deadline and not row.answer:
        return [ctx.t("lifecycle.mine.forwarded", department=row.department,
                      deadline=formats.day(dt.date.fromisoformat(row.deadline)))]
    return []


def overdue_text(t: Callable[..., str], dialogue: Dialogue, items: list[lc.Overdue],
                 today: dt.date) -> str:
    """The overdue list, as /quahan and the digest show it: cluster numbers only."""
    if not items:
        return t("lifecycle.overdue_none", title=dialogue.title)
    lines = [t("lifecycle.overdue_header", title=dialogue.title)]
    never = [o.cluster_id for o in items if o.reason == "not_forwarded"]
    unanswered = [o.cluster_id for o in items if o.reason == "not_answered"]
    if never:
        lines.append(t("lifecycle.overdue_not_forwarded", count=len(never),
                       deadline=formats.day(dialogue.answer_deadline), ids=_ids(never)))
    if unanswered:
        lines.append(t("lifecycle.overdue_not_answered", count=len(unanswered),
                       deadline=formats.day(dialogue.answer_deadline), ids=_ids(unanswered)))
    late: dict[str, list[lc.Overdue]] = {}
    for o in items:
        if o.reason == "forward_late":
            late.setdefault(o.department_name, []).append(o)
    for name, rows in sorted(late.items()):
        lines.append(t("lifecycle.overdue_department", department=name, count=len(rows),
                       ids=_ids(o.cluster_id for o in rows),
                       days=(today - min(o.deadline for o in rows)).days))
    return "\n".join(lines)


def days_left_text(t: Callable[..., str], days: int) -> str:
    if days > 0:
        return t("lifecycle.days_left", days=days)
    if days == 0:
        return t("lifecycle.due_today")
    return t("lifecycle.days_late", days=-days)


def _ids(ids) -> str:
    shown = list(dict.fromkeys(ids))
    text = ", ".join(f"#{i}" for i in shown[:40])
    return text + (" …" if len(shown) > 40 else "")


def _forward_line(ctx: Context, f: lc.Forward) -> str:
    answered_on = f.answered_on(ctx.settings.timezone)
    if answered_on is not None:
        state = ctx.t("lifecycle.answered_on" if answered_on <= f.deadline
                      else "lifecycle.answered_late", date=formats.day(answered_on))
    else:
        state = days_left_text(ctx.t, f.days_left(ctx.today))
    return ctx.t("lifecycle.forward_line", role=ctx.t(f"lifecycle.role.{f.role}"),
                 department=f.department_name, deadline=formats.day(f.deadline), state=state)


def _department(ctx: Context, dialogue: Dialogue, value: str) -> Department | None:
    """One of the dialogue's departments by its number in the list, or by its config id."""
    value = value.strip().rstrip(",")
    if value.isdigit() and 1 <= int(value) <= len(dialogue.department_ids):
        return ctx.settings.department(dialogue.department_ids[int(value) - 1])
    if value in dialogue.department_ids:
        return ctx.settings.department(value)
    return None


def _bad_department(ctx: Context, dialogue: Dialogue, value: str) -> str:
    """The reply when `value` names none of the dialogue's departments."""
    return ctx.t("lifecycle.bad_department", value=value[:30], count=len(dialogue.departments))


def _parse_assignments(ctx: Context, dialogue: Dialogue,
                       words: list[str]) -> list[lc.Assignment] | str:
    """Departments and dates after the cluster number, or the Vietnamese reply saying what
    is wrong."""
    groups: list[tuple[list[Department], dt.date | None]] = []
    pending: list[Department] = []
    for word in words:
        if "/" in word:
            day = parse_date(word)
            if day is None:
                return ctx.t("lifecycle.bad_date", value=word[:20])
            if not pending:
                return ctx.t("lifecycle.usage.forward", count=len(dialogue.departments))
            groups.append((pending, day))
            pending = []
            continue
        for part in filter(None, word.split(",")):
            if part in ("+", "&"):
                continue
            department = _department(ctx, dialogue, part)
            if department is None:
                return _bad_department(ctx, dialogue, part)
            pending.append(department)
    if pending:
        groups.append((pending, None))
    out = [lc.Assignment(d, day or dialogue.answer_deadline)
           for departments, day in groups for d in departments]
    if not out:
        return ctx.t("lifecycle.usage.forward", count=len(dialogue.departments))
    return out


def _error(ctx: Context, err: lc.LifecycleError, dialogue: Dialogue) -> str:
    value = err.value
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        value = formats.day(dt.date.fromisoformat(value))
    return ctx.t(f"lifecycle.error.{err.code}", value=value, today=formats.day(ctx.today),
                 deadline=formats.day(dialogue.answer_deadline))
