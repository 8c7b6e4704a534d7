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

from handlers.privacy import mask_pii
from storage import console as store
from storage import reports

from .app import Console, page

MAX_ANSWER = 20_000


def routes() -> list[Route]:
    return [
        Route("/so", department_queue, methods=["GET"]),
        Route("/so/cum/{cluster_id:int}", department_cluster, methods=["GET"]),
        Route("/so/cum/{cluster_id:int}/tra-loi", department_answer, methods=["POST"]),
    ]


def department_of(console: Console, session: store.Session) -> str:
    """The department name clusters are forwarded to, for this account."""
    return session.account.department or ""


async def _own_cluster(conn, console: Console, session: store.Session,
                       cluster_id: int) -> reports.ClusterSummary:
    summary = await reports.cluster_summary(conn, cluster_id)
    if summary is None or not summary.department or \
            summary.department != department_of(console, session):
        raise HTTPException(404)
    return summary


@page("department")
async def department_queue(request: Request, console: Console,
                           session: store.Session) -> Response:
    department = department_of(console, session)
    rows = []
    async with console.runtime.db.transaction() as conn:
        for dialogue in console.settings.dialogues:
            found, _ = await store.queue_page(
                conn, store.QueueFilters(dialogue_id=dialogue.id, department=department),
                limit=500, offset=0)
            rows += [(dialogue, r) for r in found]
    today = console.today()
    return console.render(request, "department_queue.html", rows=rows, today=today,
                          department=department, mask=mask_pii)


@page("department")
async def department_cluster(request: Request, console: Console,
                             session: store.Session) -> Response:
    cluster_id = request.path_params["cluster_id"]
    async with console.runtime.db.transaction() as conn:
        cluster = await _own_cluster(conn, console, session, cluster_id)
        questions = await store.cluster_questions(conn, cluster_id)
        answers = [a for a in await store.department_answers(conn, cluster_id)
                   if a.department == cluster.department]
        await console.audit(conn, session, "view_cluster", cluster_id)
    dialogue = console.settings.dialogue(cluster.dialogue_id)
    return console.render(request, "department_cluster.html", cluster=cluster,
                          dialogue=dialogue, questions=questions, answers=answers,
                          mask=mask_pii, today=console.today())


@page("department")
async def department_answer(request: Request, console: Console,
                            session: store.Session) -> Response:
    cluster_id = request.path_params["cluster_id"]
    text = str(request.state.form.get("tra_loi", "")).strip()
    if not 10 <= len(text) <= MAX_ANSWER:
        return RedirectResponse(f"/so/cum/{cluster_id}?ok=bad_answer", status_code=303)
    async with console.runtime.db.transaction() as conn:
        cluster = await _own_cluster(conn, console, session, cluster_id)
        await store.submit_department_answer(conn, cluster_id, cluster.department, text,
                                             session.account.login, now=console.now())
        await console.audit(conn, session, "submit_answer", cluster_id)
    return RedirectResponse(f"/so/cum/{cluster_id}?ok=submitted", status_code=303)
