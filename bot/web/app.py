"""The console as a Starlette app over the bot's runtime (same database, same flows).

Every page but /login and /healthz needs a session; every POST needs the session's CSRF token;
each role reaches only its own pages (`page`). Errors show a short Vietnamese page, never a
trace or a member's data. Nothing here logs personal data: only methods, paths' route names and
status codes reach the log, through uvicorn's access log being off (server.py).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handlers import formats
from handlers.domain import Dialogue
from handlers.text import fold
from storage import console as store
from storage import queries

from ..runtime import Runtime
from . import auth
from .search import FoldedIndex

__all__ = ["Console", "create_app", "page"]

TEMPLATES = Path(__file__).resolve().parent / "templates"
STAFF_ROLES = ("staff", "admin")
HOME = {"staff": "/", "admin": "/", "department": "/so", "safety": "/an-toan"}


@dataclass
class Console:
    runtime: Runtime
    passwords: auth.Passwords = field(default_factory=auth.Passwords)
    env: jinja2.Environment = field(init=False)

    search: FoldedIndex = field(default_factory=FoldedIndex)
    _fold_ready: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES),
                                      autoescape=True, undefined=jinja2.StrictUndefined)
        self.env.globals["t"] = self.runtime.services.locale.t
        self.env.globals["status_name"] = self.runtime.services.locale.status_name
        tz = self.runtime.config.settings.timezone
        self.env.filters["vndate"] = lambda value: _vndate(value, tz)

    async def ready(self) -> None:
        """Once per process: SQL's fold() for search without diacritics."""
        if not self._fold_ready:
            await store.register_fold(self.runtime.db.conn, fold)
            self._fold_ready = True

    @property
    def web(self):
        return self.runtime.config.web

    @property
    def settings(self):
        return self.runtime.config.settings

    def now(self) -> dt.datetime:
        return self.runtime.services.clock()

    def today(self) -> dt.date:
        return self.now().astimezone(self.settings.timezone).date()

    def dialogue(self, chosen: str | None) -> Dialogue:
        """The dialogue asked for, else the open one, else the latest."""
        return self.settings.current_dialogue(self.today(), chosen)

    async def dashboard(self, conn, dialogue: Dialogue) -> tuple[store.Dashboard, list]:
        """The dashboard's figures: counts kept by the database (migration 0010) and the
        dialogue's forwards, read afresh on every request."""
        from storage import lifecycle

        board = await store.dashboard(conn, dialogue.id, self.today(), dialogue.answer_deadline)
        tally = await lifecycle.department_tally(conn, dialogue, self.today(),
                                                 self.settings.timezone)
        return board, tally

    def render(self, request: Request, name: str, status_code: int = 200,
               **values: Any) -> HTMLResponse:
        session = getattr(request.state, "session", None)
        html = self.env.get_template(name).render(
            session=session, account=session.account if session else None,
            csrf=session.csrf if session else "",
            ok=values.pop("ok", request.query_params.get("ok", "")),
            path=request.url.path, **values)
        return HTMLResponse(html, status_code=status_code)

    async def session(self, request: Request) -> store.Session | None:
        token = request.cookies.get(auth.SESSION_COOKIE)
        if not token:
            return None
        idle = dt.timedelta(minutes=self.web.session_idle_minutes)
        async with self.runtime.db.transaction() as conn:
            return await store.live_session(conn, auth.token_hash(token), now=self.now(),
                                            idle=idle)

    def secure(self, request: Request) -> bool:
        if self.web.cookie_secure == "auto":
            return request.url.scheme == "https"
        return self.web.cookie_secure == "true"

    async def audit(self, conn, session: store.Session | None, action: str,
                    cluster_id: int | None = None, detail: str = "") -> None:
        account = session.account if session else None
        await store.audit(conn, account.login if account else "", account.role if account else "",
                          action, now=self.now(), cluster_id=cluster_id, detail=detail)


Handler = Callable[[Request, Console, store.Session], Awaitable[Response]]


def page(*roles: str) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """A page for these roles: no session → the login page (a POST → 403); another role → 403;
    a POST without the session's CSRF token → 403, before anything changes."""
    def wrap(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
        @functools.wraps(fn)
        async def endpoint(request: Request) -> Response:
            console: Console = request.app.state.console
            await console.ready()
            session = await console.session(request)
            if session is None:
                if request.method != "GET":
                    raise HTTPException(403)
                return RedirectResponse("/login", status_code=303)
            request.state.session = session
            if roles and session.account.role not in roles:
                raise HTTPException(403)
            if request.method == "POST":
                if _too_big(request, console.web.max_pdf_mb):
                    raise HTTPException(413)
                form = await request.form()
                if not auth.tokens_match(form.get("csrf"), session.csrf):  # type: ignore[arg-type]
                    raise HTTPException(403)
                request.state.form = form
            return await fn(request, console, session)
        return endpoint
    return wrap


def _too_big(request: Request, max_pdf_mb: int) -> bool:
    """A body larger than the biggest PDF allowed and a form's text is refused unread (a file
    part would otherwise be spooled to disk whole before anyone looked at it)."""
    length = request.headers.get("content-length", "")
    return length.isdigit() and int(length) > (max_pdf_mb + 1) * 1024 * 1024


# --- login, logout, health ---------------------------------------------------------------------


async def login_form(request: Request) -> Response:
    console: Console = request.app.state.console
    token = auth.new_token()
    response = console.render(request, "login.html", login_csrf=token, error="", login="")
    response.set_cookie(auth.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=console.secure(request), path="/login")
    return response


async def login_submit(request: Request) -> Response:
    console: Console = request.app.state.console
    form = await request.form()
    if not auth.tokens_match(form.get("csrf"),  # type: ignore[arg-type]
                             request.cookies.get(auth.LOGIN_CSRF_COOKIE, "")):
        raise HTTPException(403)
    login = str(form.get("login", "")).strip()[:100]
    password = str(form.get("password", ""))[:1000]
    address = request.client.host if request.client else ""
    async with console.runtime.db.transaction() as conn:
        result = await auth.log_in(conn, console.passwords, console.web, login, password,
                                   address, now=console.now())
        account = result.account
        earlier = request.cookies.get(auth.SESSION_COOKIE, "")
        if result.session_token and earlier:
            # Someone else logs in on this browser (a shared office PC): the session it held
            # ends now, not at its idle timeout.
            await store.end_session(conn, auth.token_hash(earlier))
        action = ("login" if result.session_token else
                  "login_throttled" if result.throttled else "login_failed")
        await store.audit(conn, account.login if account else "",
                          account.role if account else "", action, now=console.now())
    if not result.session_token or account is None:
        token = auth.new_token()
        response: Response = console.render(
            request, "login.html", status_code=429 if result.throttled else 401,
            login_csrf=token, error="throttled" if result.throttled else "wrong", login=login)
        response.set_cookie(auth.LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=console.secure(request), path="/login")
        return response
    response = RedirectResponse(HOME[account.role], status_code=303)
    response.set_cookie(auth.SESSION_COOKIE, result.session_token, httponly=True,
                        samesite="lax", secure=console.secure(request), path="/",
                        max_age=console.web.session_max_hours * 3600)
    response.delete_cookie(auth.LOGIN_CSRF_COOKIE, path="/login")
    return response


@page()
async def logout(request: Request, console: Console, session: store.Session) -> Response:
    async with console.runtime.db.transaction() as conn:
        await store.end_session(conn, session.token_hash)
        await console.audit(conn, session, "logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


async def healthz(request: Request) -> Response:
    """For the container's health check: the database answers. No session, no data."""
    console: Console = request.app.state.console
    async with console.runtime.db.transaction() as conn:
        await queries.ping(conn)
    return PlainTextResponse("ok")


# --- errors and headers ------------------------------------------------------------------------


async def http_error(request: Request, exc: Exception) -> Response:
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    console: Console = request.app.state.console
    return console.render(request, "error.html", status_code=code, code=code)


class SecurityHeaders:
    """No framing, no inline scripts, nothing cached: pages hold members' questions."""

    HEADERS: ClassVar[tuple[tuple[bytes, bytes], ...]] = (
        (b"content-security-policy", b"default-src 'self'; style-src 'self' 'unsafe-inline'; "
         b"img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"cache-control", b"no-store"),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], *self.HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)


def _vndate(value: Any, tz: dt.tzinfo) -> str:
    """A date as dd/mm/yyyy, a stored UTC stamp as the time and date in the province's zone:
    the same formatters the chat uses (handlers/formats.py)."""
    if not value:
        return "—"
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return formats.day(value)
    moment = dt.datetime.fromisoformat(str(value)) if not isinstance(value, dt.datetime) \
        else value
    if moment.tzinfo is None:
        return formats.day(moment)
    return formats.moment(moment, tz)


# --- the app -----------------------------------------------------------------------------------


def create_app(runtime: Runtime, passwords: auth.Passwords | None = None) -> Starlette:
    from . import files, pages_department, pages_safety, pages_staff

    console = Console(runtime, passwords or auth.Passwords())
    routes = [
        Route("/login", login_form, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        *pages_staff.routes(), *pages_department.routes(), *pages_safety.routes(),
        *files.routes(),
    ]
    app = Starlette(routes=routes,
                    exception_handlers={HTTPException: http_error, Exception: http_error})
    app.state.console = console
    app.add_middleware(SecurityHeaders)
    return app
