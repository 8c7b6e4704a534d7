"""Safety cases, for accounts with the safety role only: each danger alert stored as a question
is a case with who took it, when she was contacted, to whom she was referred, when it closed.

Her words are shown here (masked: phones, ID numbers, emails, names after a cue) and nowhere
else in the console. Staff reach her through the bot with her reference (/nhan), never by a
number shown here.
"""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from handlers.privacy import mask_pii
from storage import console as store

from .app import Console, page

STEPS = ("take", "contacted", "referred", "close", "reopen")


def routes() -> list[Route]:
    return [
        Route("/an-toan", cases, methods=["GET"]),
        Route("/an-toan/{question_id:id}", case_page, methods=["GET"]),
        Route("/an-toan/{question_id:id}", case_step, methods=["POST"]),
    ]


@page("safety")
async def cases(request: Request, console: Console, session: store.Session) -> Response:
    async with console.runtime.db.transaction() as conn:
        found = await store.safety_cases(conn)
    return console.render(request, "safety_cases.html", cases=found)


@page("safety")
async def case_page(request: Request, console: Console, session: store.Session) -> Response:
    question_id = request.path_params["question_id"]
    async with console.runtime.db.transaction() as conn:
        case = await store.safety_case(conn, question_id)
        if case is None:
            raise HTTPException(404)
        await console.audit(conn, session, "view_case", case.cluster_id, f"ca {case.receipt}")
    messages = console.runtime.services.locale.messages
    key = f"danger.category.{case.danger}"
    category = messages.get(key, case.danger)
    return console.render(request, "safety_case.html", case=case, mask=mask_pii,
                          category=category)


@page("safety")
async def case_step(request: Request, console: Console, session: store.Session) -> Response:
    question_id = request.path_params["question_id"]
    form = request.state.form
    step = str(form.get("buoc", ""))
    referred = " ".join(str(form.get("noi_ho_tro", "")).split())[:200]
    if step not in STEPS or (step == "referred" and len(referred) < 2):
        return RedirectResponse(f"/an-toan/{question_id}?ok=unknown_action", status_code=303)
    async with console.runtime.db.transaction() as conn:
        case = await store.safety_case(conn, question_id)
        if case is None:
            raise HTTPException(404)
        await store.update_safety_case(conn, question_id, step, session.account.login,
                                       now=console.now(), referred_to=referred)
        await console.audit(conn, session, f"case_{step}", case.cluster_id,
                            f"ca {case.receipt}" + (f": {referred}" if referred else ""))
    return RedirectResponse(f"/an-toan/{question_id}?ok=case_saved", status_code=303)
