"""Department accounts: only the clusters sent to their own department, with days left; they
write the written answer and submit it for staff to publish.

Another department's cluster, asked for by URL, is a 404: not even its existence is shown.
Departments never see an asker's name, nor a danger disclosure; question texts are masked.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from handlers.domain import Department
from handlers.privacy import mask_pii
from storage import attachments, lifecycle, reports
from storage import console as store

from . import files
from .app import Console, page

MAX_ANSWER = 20_000


def routes() -> list[Route]:
    return [
        Route("/so", department_queue, methods=["GET"]),
        Route("/so/cum/{cluster_id:id}", department_cluster, methods=["GET"]),
        Route("/so/cum/{cluster_id:id}/tra-loi", department_answer, methods=["POST"]),
    ]


def department_of(console: Console, session: store.Session) -> Department:
    """The account's department ([[departments]] in config); gone from config: no access."""
    found = console.settings.department(session.account.department or "")
    if found is None:
        raise HTTPException(403)
    return found


async def _own_cluster(conn, department: Department,
                       cluster_id: int) -> tuple[reports.ClusterSummary, lifecycle.Forward]:
    """The cluster if it is forwarded (lead or co-operating, not withdrawn) to this
    department; any other cluster, existing or not, is a 404."""
    forward = next((f for f in await lifecycle.forwards_of_cluster(conn, cluster_id)
                    if f.department_id == department.id), None)
    summary = await reports.cluster_summary(conn, cluster_id) if forward else None
    if forward is None or summary is None:
        raise HTTPException(404)
    return summary, forward


@page("department")
async def department_queue(request: Request, console: Console,
                           session: store.Session) -> Response:
    department = department_of(console, session)
    today = console.today()
    async with console.runtime.db.transaction() as conn:
        items = await lifecycle.clusters_forwarded_to(conn, department, today,
                                                      include_answered=True)
        summaries = {i.cluster_id: await reports.cluster_summary(conn, i.cluster_id)
                     for i in items}
    rows = [(i, summaries[i.cluster_id], console.settings.dialogue(i.dialogue_id))
            for i in items if summaries[i.cluster_id] is not None]
    return console.render(request, "department_queue.html", rows=rows, today=today,
                          department=department, mask=mask_pii)


@page("department")
async def department_cluster(request: Request, console: Console,
                             session: store.Session) -> Response:
    return await _cluster_view(request, console, session, request.path_params["cluster_id"])


async def _cluster_view(request: Request, console: Console, session: store.Session,
                        cluster_id: int, status_code: int = 200, **shown: str) -> Response:
    """The cluster as its department sees it; `shown`: a notice and the answer typed so far,
    when a refused file sends it back to the form."""
    department = department_of(console, session)
    async with console.runtime.db.transaction() as conn:
        cluster, forward = await _own_cluster(conn, department, cluster_id)
        questions = await store.cluster_questions(conn, cluster_id)
        answers = [a for a in await store.department_answers(conn, cluster_id)
                   if a.department == department.name]
        pdfs = await attachments.attachments_of_cluster(conn, cluster_id)
        await console.audit(conn, session, "view_cluster", cluster_id)
    dialogue = console.settings.dialogue(cluster.dialogue_id)
    return console.render(request, "department_cluster.html", status_code=status_code,
                          cluster=cluster, dialogue=dialogue, questions=questions,
                          answers=answers, mask=mask_pii, today=console.today(),
                          forward=forward, department=department, pdfs=pdfs,
                          max_pdf_mb=console.web.max_pdf_mb, draft=shown.pop("draft", ""),
                          **shown)


@page("department")
async def department_answer(request: Request, console: Console,
                            session: store.Session) -> Response:
    cluster_id = request.path_params["cluster_id"]
    text = str(request.state.form.get("tra_loi", "")).strip()
    if not 10 <= len(text) <= MAX_ANSWER:
        return RedirectResponse(f"/so/cum/{cluster_id}?ok=bad_answer", status_code=303)
    department = department_of(console, session)
    try:  # checked before anything is recorded: a refused file leaves no half answer
        pdf = await files.read_pdf(request.state.form.get("pdf"), console.web.max_pdf_mb,
                                   f"tra-loi-cum-{cluster_id}-{department.id}")
    except files.BadPdf as bad:  # the form again, with what she wrote: only the file to choose
        return await _cluster_view(request, console, session, cluster_id, status_code=400,
                                   ok=bad.code, draft=text)
    async with console.runtime.db.transaction() as conn:
        await _own_cluster(conn, department, cluster_id)
        try:  # the forward's written answer, waiting for staff to publish it to the askers
            answer_id = await store.submit_department_answer(
                conn, cluster_id, department, text, session.account.login, now=console.now())
        except lifecycle.LifecycleError:
            return RedirectResponse(f"/so/cum/{cluster_id}?ok=refused", status_code=303)
        if pdf is not None:
            await attachments.attach_pdf(conn, answer_id, cluster_id, department.id,
                                         pdf.filename, pdf.content, now=console.now())
        await console.audit(conn, session, "submit_answer", cluster_id,
                            "kèm PDF" if pdf else "")
    return RedirectResponse(f"/so/cum/{cluster_id}?ok=submitted", status_code=303)
