"""Staff pages: dashboard, cluster queue with bulk actions, a cluster's page, possible
duplicates, reject templates and the audit log."""

from __future__ import annotations

import dataclasses
import datetime as dt
from urllib.parse import urlencode

from starlette.datastructures import FormData, QueryParams
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from handlers.domain import STATUS_KEYS, Dialogue
from handlers.privacy import mask_pii
from handlers.text import fold
from storage import attachments, lifecycle, reports
from storage import console as store
from storage import queries as q

from . import actions
from .app import HOME, STAFF_ROLES, Console, page

PAGE_SIZE = 50
MAX_ANSWER = 20_000  # as in chat (handlers.staff): never cut an answer
MAX_WORDING = 2_000


def routes() -> list[Route]:
    return [
        Route("/", dashboard, methods=["GET"]),
        Route("/cum", queue, methods=["GET"]),
        Route("/cum/hang-loat", bulk, methods=["POST"]),
        Route("/cum/{cluster_id:id}", cluster_page, methods=["GET"]),
        Route("/cum/{cluster_id:id}/noi-dung", set_wording, methods=["POST"]),
        Route("/cum/{cluster_id:id}/tra-loi", staff_answer, methods=["POST"]),
        Route("/tra-loi/{answer_id:id}", decide_answer, methods=["POST"]),
        Route("/trung", duplicates, methods=["GET"]),
        Route("/trung/{pair_id:id}", decide_duplicate, methods=["POST"]),
        Route("/mau-tu-choi", templates_page, methods=["GET", "POST"]),
        Route("/nhat-ky", audit_page, methods=["GET"]),
        Route("/xuat", export, methods=["GET"]),
    ]


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) <= 9 else None


def _filters(console: Console, params: QueryParams, dialogue: Dialogue) -> store.QueueFilters:
    status = params.get("trang_thai", "")
    topic = _int(params.get("chu_de"))
    return store.QueueFilters(
        dialogue_id=dialogue.id,
        topic=topic if topic and 1 <= topic <= len(dialogue.topics) else None,
        commune=params.get("xa", "")[:100],
        status=status if status in STATUS_KEYS else "",
        department_id=params.get("so", "")[:100],
        urgent=params.get("khan") == "1",
        overdue=params.get("qua_han") == "1",
        search=fold(params.get("tim", ""))[:200],
        today=console.today(),
        answer_deadline=dialogue.answer_deadline,
    )


def _shown(row_text: str, public_text: str, disclosure: bool) -> str:
    """What staff read of a cluster in lists: their wording, else the masked first question; a
    disclosure only as a mark (safety officers read it on the case page)."""
    if public_text:
        return public_text
    if disclosure and not row_text:
        return ""
    return mask_pii(row_text)


@page()
async def dashboard(request: Request, console: Console, session: store.Session) -> Response:
    if session.account.role not in STAFF_ROLES:
        return RedirectResponse(HOME[session.account.role], status_code=303)
    dialogue = console.dialogue(request.query_params.get("dot"))
    async with console.runtime.db.transaction() as conn:
        board, departments = await console.dashboard(conn, dialogue)
    topics = [(n, name, *board.by_topic.get(n, (0, 0)))
              for n, name in enumerate(dialogue.topics, 1)]
    most = max([t[3] for t in topics] + [1])
    return console.render(request, "dashboard.html", dialogue=dialogue, board=board,
                          topics=topics, most=most, statuses=STATUS_KEYS,
                          departments=departments,
                          dialogues=console.settings.dialogues)


@page(*STAFF_ROLES)
async def queue(request: Request, console: Console, session: store.Session) -> Response:
    params = request.query_params
    dialogue = console.dialogue(params.get("dot"))
    filters = _filters(console, params, dialogue)
    number = max(1, _int(params.get("trang")) or 1)
    async with console.runtime.db.transaction() as conn:
        if filters.search:
            matching = await console.search.clusters_matching(conn, dialogue.id, filters.search)
            filters = dataclasses.replace(filters, search_clusters=matching)
        rows, total = await store.queue_page(conn, filters, limit=PAGE_SIZE,
                                             offset=(number - 1) * PAGE_SIZE)
        templates = await store.reject_templates(conn)
    kept = {k: v for k, v in params.items() if k != "trang" and k != "ok" and v}
    pages = max(1, -(-total // PAGE_SIZE))
    return console.render(
        request, "queue.html", dialogue=dialogue, rows=rows, total=total, page=number,
        pages=pages, params=params, kept=urlencode(kept), statuses=STATUS_KEYS,
        shown=_shown, templates=templates, today=console.today(),
        dialogues=console.settings.dialogues,
        departments=console.settings.departments_of(dialogue),
        back="/cum?" + urlencode({**kept, "trang": number}))


def _back(form: FormData, ok: str) -> str:
    back = str(form.get("quay_lai", "/cum"))
    if not back.startswith("/cum") or "//" in back or "\\" in back:
        back = "/cum"
    return back + ("&" if "?" in back else "?") + urlencode({"ok": ok})


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


@page(*STAFF_ROLES)
async def bulk(request: Request, console: Console, session: store.Session) -> Response:
    form: FormData = request.state.form
    dialogue = console.dialogue(str(form.get("dot", "")))
    chosen = [i for i in (_int(str(v)) for v in form.getlist("cum")) if i is not None]
    verb = str(form.get("viec", ""))
    if not chosen:
        return RedirectResponse(_back(form, "none_selected"), status_code=303)
    login = session.account.login
    try:
        async with console.runtime.db.transaction() as conn:
            ids = await store.live_cluster_ids(conn, dialogue.id, chosen[:500])
            ctx = actions.flow_context(conn, console.runtime.services, login)
            ok = await _bulk(console, session, ctx, conn, form, dialogue, verb, ids)
    except _Refused as refused:
        return RedirectResponse(_back(form, _LIFECYCLE_CODES.get(refused.code, "refused")),
                                status_code=303)
    actions.finish(ctx)
    return RedirectResponse(_back(form, ok), status_code=303)


async def _bulk(console, session, ctx, conn, form, dialogue, verb, ids) -> str:
    if verb == "approve":
        for cid in ids:
            summary = await reports.cluster_summary(conn, cid)
            if summary and await actions.approve(ctx, summary):
                await console.audit(conn, session, "approve", cid)
        return "approved"
    if verb == "reject":
        reason = str(form.get("ly_do_khac", "")).strip()[:500]
        if not reason:
            chosen = _int(str(form.get("ly_do", "")))
            reason = dict(await store.reject_templates(conn)).get(chosen or -1, "")
        if len(reason) < 5:
            return "need_reason"
        for cid in ids:
            await actions.reject(ctx, cid, reason)
            await console.audit(conn, session, "reject", cid, reason)
        return "rejected"
    if verb == "forward":
        return await _forward(console, session, ctx, conn, form, dialogue, ids)
    if verb == "merge":
        target_id = _int(str(form.get("gop_vao", "")))
        target = await reports.cluster_summary(conn, target_id) if target_id else None
        if target is None or target.dialogue_id != dialogue.id or target_id not in ids:
            return "need_target"
        for cid in ids:
            source = await reports.cluster_summary(conn, cid)
            if source is None or cid == target.id:
                continue
            await actions.merge(ctx, source, target)
            await console.audit(conn, session, "merge", cid, f"vào #{target.id}")
        return "merged"
    return "unknown_action"


async def _forward(console, session, ctx, conn, form, dialogue, ids) -> str:
    """Lead + co-operating departments, one deadline each checked against the dialogue
    (storage.lifecycle), for every chosen cluster; nothing is forwarded if one is refused."""
    known = {d.id: d for d in console.settings.departments_of(dialogue)}
    lead = known.get(str(form.get("so_chu_tri", "")))
    if lead is None:
        return "need_department"
    deadline = _date(str(form.get("han", "")))
    if deadline is None:
        return "bad_deadline"
    partners = [known[p] for p in dict.fromkeys(map(str, form.getlist("so_phoi_hop")))
                if p in known and p != lead.id]
    by = f"console:{session.account.login}"
    detail = f"{lead.name}; hạn {deadline:%d/%m/%Y}"
    if partners:
        detail += "; phối hợp: " + ", ".join(p.name for p in partners)
    for cid in ids:
        try:
            await lifecycle.forward_cluster(
                conn, dialogue, cid, lifecycle.Assignment(lead, deadline),
                [lifecycle.Assignment(p, deadline) for p in partners], by=by,
                now=console.now(), today=console.today())
        except lifecycle.LifecycleError as exc:
            raise _Refused(exc.code) from exc
        await actions.forwarded(ctx, cid)
        await console.audit(conn, session, "forward", cid, detail)
    return "forwarded"


class _Refused(Exception):
    """A bulk action refused part-way: the whole transaction is rolled back."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


_LIFECYCLE_CODES = {"deadline_past": "bad_deadline", "deadline_after_dialogue": "bad_deadline",
                    "answer_deadline_passed": "answer_deadline_passed",
                    "cluster_rejected": "cluster_rejected",
                    "urgent_needs_wording": "urgent_needs_wording"}


async def _cluster_or_404(conn, cluster_id: int) -> reports.ClusterSummary:
    found = await reports.cluster_dialogue(conn, cluster_id)
    if found is None:
        raise HTTPException(404)
    summary = await reports.cluster_summary(conn, cluster_id)
    if summary is None:  # every question rejected: the bare cluster still has a page
        raise HTTPException(404)
    return summary


@page(*STAFF_ROLES)
async def cluster_page(request: Request, console: Console, session: store.Session) -> Response:
    cluster_id = request.path_params["cluster_id"]
    async with console.runtime.db.transaction() as conn:
        found = await reports.cluster_dialogue(conn, cluster_id)
        if found is None:
            raise HTTPException(404)
        if found[1]:
            return RedirectResponse(f"/cum/{found[1]}", status_code=303)
        cluster = await _cluster_or_404(conn, cluster_id)
        questions = await store.cluster_questions(conn, cluster_id)
        revisions = await store.answer_revisions(conn, cluster_id)
        submitted = await store.department_answers(conn, cluster_id)
        pdfs = await attachments.attachments_of_cluster(conn, cluster_id)
        history = await store.audit_entries(conn, cluster_id=cluster_id, limit=200)
        forwards = await lifecycle.forwards_of_cluster(conn, cluster_id)
        steps = await lifecycle.steps_of_cluster(conn, cluster_id)
        await console.audit(conn, session, "view_cluster", cluster_id)
    dialogue = console.settings.dialogue(cluster.dialogue_id)
    return console.render(request, "cluster.html", cluster=cluster, dialogue=dialogue,
                          questions=questions, revisions=revisions, submitted=submitted,
                          history=history, mask=mask_pii, today=console.today(),
                          forwards=forwards, steps=steps, pdfs=pdfs)


@page(*STAFF_ROLES)
async def set_wording(request: Request, console: Console, session: store.Session) -> Response:
    cluster_id = request.path_params["cluster_id"]
    wording = " ".join(str(request.state.form.get("noi_dung", "")).split())[:MAX_WORDING]
    async with console.runtime.db.transaction() as conn:
        await _cluster_or_404(conn, cluster_id)
        await q.set_cluster_public_text(conn, cluster_id, wording or None)
        await console.audit(conn, session, "set_wording", cluster_id)
    return RedirectResponse(f"/cum/{cluster_id}?ok=wording", status_code=303)


@page(*STAFF_ROLES)
async def staff_answer(request: Request, console: Console, session: store.Session) -> Response:
    """Staff record (or correct) the answer themselves and publish it."""
    cluster_id = request.path_params["cluster_id"]
    form = request.state.form
    answer = str(form.get("tra_loi", "")).strip()
    agency = str(form.get("co_quan", "")).strip()[:200]
    if not 10 <= len(answer) <= MAX_ANSWER or len(agency) < 3:
        return RedirectResponse(f"/cum/{cluster_id}?ok=bad_answer", status_code=303)
    async with console.runtime.db.transaction() as conn:
        await _cluster_or_404(conn, cluster_id)
        ctx = actions.flow_context(conn, console.runtime.services, session.account.login)
        told = await actions.publish(ctx, cluster_id, answer, agency,
                                     f"web:{session.account.login}")
        await console.audit(conn, session, "publish_answer", cluster_id, f"{told} người")
    actions.finish(ctx)
    return RedirectResponse(f"/cum/{cluster_id}?ok=published", status_code=303)


@page(*STAFF_ROLES)
async def decide_answer(request: Request, console: Console, session: store.Session) -> Response:
    """Publish a department's submitted answer (everyone in the cluster is told), or send it
    back with a note."""
    form = request.state.form
    async with console.runtime.db.transaction() as conn:
        submitted = await store.department_answer(conn, request.path_params["answer_id"])
        if submitted is None:
            raise HTTPException(404)
        cid, login = submitted.cluster_id, session.account.login
        ctx = actions.flow_context(conn, console.runtime.services, login)
        if form.get("viec") == "publish":
            if not await store.decide_department_answer(conn, submitted.id, "published", login,
                                                        now=console.now()):
                return RedirectResponse(f"/cum/{cid}?ok=already_decided", status_code=303)
            pdf = await attachments.attachment_of_answer(conn, submitted.id)
            told = await actions.publish(ctx, cid, submitted.text, submitted.department,
                                         f"web:{login}", pdf)
            await console.audit(conn, session, "publish_answer", cid, f"{told} người")
            ok = "published"
        else:
            note = str(form.get("ghi_chu", "")).strip()[:500]
            await store.decide_department_answer(conn, submitted.id, "returned", login,
                                                 now=console.now(), note=note)
            await console.audit(conn, session, "return_answer", cid, note)
            ok = "returned"
    actions.finish(ctx)
    return RedirectResponse(f"/cum/{cid}?ok={ok}", status_code=303)


@page(*STAFF_ROLES)
async def duplicates(request: Request, console: Console, session: store.Session) -> Response:
    dialogue = console.dialogue(request.query_params.get("dot"))
    pairs = []
    async with console.runtime.db.transaction() as conn:
        for pair in await q.open_duplicate_candidates(conn, dialogue.id, 100):
            newer = await reports.cluster_summary(conn, pair.cluster_id)
            older = await reports.cluster_summary(conn, pair.similar_to)
            if newer and older:
                pairs.append((pair, newer, older))
    return console.render(request, "duplicates.html", dialogue=dialogue, pairs=pairs,
                          shown=_shown)


@page(*STAFF_ROLES)
async def decide_duplicate(request: Request, console: Console,
                           session: store.Session) -> Response:
    merge = request.state.form.get("viec") == "merge"
    async with console.runtime.db.transaction() as conn:
        pair = await q.open_duplicate_candidate(conn, request.path_params["pair_id"])
        if pair is None:
            return RedirectResponse("/trung?ok=already_decided", status_code=303)
        ctx = actions.flow_context(conn, console.runtime.services, session.account.login)
        if merge:
            source = await reports.cluster_summary(conn, pair.cluster_id)
            target = await reports.cluster_summary(conn, pair.similar_to)
            if source and target:
                await actions.merge(ctx, source, target)
        await q.decide_duplicate_candidate(conn, pair.id, merge, now=console.now())
        await console.audit(conn, session, "merge" if merge else "not_duplicate",
                            pair.cluster_id, f"#{pair.similar_to}")
    actions.finish(ctx)
    return RedirectResponse("/trung?ok=" + ("merged" if merge else "refused"), status_code=303)


@page(*STAFF_ROLES)
async def templates_page(request: Request, console: Console,
                         session: store.Session) -> Response:
    async with console.runtime.db.transaction() as conn:
        if request.method == "POST":
            form = request.state.form
            text = " ".join(str(form.get("noi_dung", "")).split())[:500]
            retire = _int(str(form.get("bo", "")))
            if retire:
                await store.retire_reject_template(conn, retire, now=console.now())
                await console.audit(conn, session, "retire_template", detail=f"#{retire}")
            elif len(text) >= 5:
                new = await store.add_reject_template(conn, text)
                await console.audit(conn, session, "add_template", detail=f"#{new}")
            return RedirectResponse("/mau-tu-choi?ok=saved", status_code=303)
        templates = await store.reject_templates(conn)
    return console.render(request, "reject_templates.html", templates=templates)


@page(*STAFF_ROLES)
async def audit_page(request: Request, console: Console, session: store.Session) -> Response:
    number = max(1, _int(request.query_params.get("trang")) or 1)
    async with console.runtime.db.transaction() as conn:
        entries = await store.audit_entries(conn, limit=100, offset=(number - 1) * 100)
    return console.render(request, "audit.html", entries=entries, page=number)


EXPORT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


@page(*STAFF_ROLES)
async def export(request: Request, console: Console, session: store.Session) -> Response:
    """The official summary (the same files as /xuat in chat): masked texts, staff's official
    wording, a disclosure only as a case reference."""
    fmt = request.query_params.get("dinh_dang", "xlsx")
    if fmt not in EXPORT_TYPES:
        raise HTTPException(404)
    dialogue = console.dialogue(request.query_params.get("dot"))
    async with console.runtime.db.transaction() as conn:
        name, content = await console.runtime.services.tools.export(conn, dialogue, fmt,
                                                                    console.today())
        await console.audit(conn, session, "export", detail=f"{dialogue.id} {fmt}")
    return Response(content, media_type=EXPORT_TYPES[fmt],
                    headers={"content-disposition": f'attachment; filename="{name}"'})
