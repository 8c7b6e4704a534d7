"""Console fixtures: the staff runtime, the console app on it, accounts, an HTTP client in the
same event loop (httpx over ASGI), and questions asked through the real flows."""

from __future__ import annotations

import re

import httpx
import pytest
from argon2 import PasswordHasher

from bot.config import Secret
from bot.web.app import create_app
from bot.web.auth import Passwords
from handlers.types import Incoming, Kind
from storage import console as store
from tests.channels import conftest as channels
from tests.chat import Member
from tests.fakes.fake_bot_api import FakeBotAPI

fake = channels.fake  # the fake Telegram Bot API on 127.0.0.1, as the channel tests use it
PASSWORD = "mat-khau-dai-1"
# Cheap argon2 parameters: the tests check behaviour, not the cost of the hash.
CHEAP = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def app(staff_runtime):
    return create_app(staff_runtime, CHEAP)


async def add_account(runtime, login: str, role: str, department: str | None = None) -> None:
    async with runtime.db.transaction() as conn:
        await store.create_account(conn, login, CHEAP.hash(PASSWORD), role, department,
                                   now=runtime.services.clock())


def client(app, address: str = "10.0.0.1", base: str = "http://console.test") -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 5000)),
                             base_url=base, follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def log_in(http: httpx.AsyncClient, login: str, password: str = PASSWORD) -> httpx.Response:
    form = await http.get("/login")
    return await http.post("/login", data={"login": login, "password": password,
                                           "csrf": csrf_of(form.text)})


async def logged_in(app, login: str, role: str, department: str | None = None,
                    runtime=None) -> httpx.AsyncClient:
    await add_account(runtime, login, role, department)
    http = client(app)
    response = await log_in(http, login)
    assert response.status_code == 303, response.text
    return http


async def ask(runtime, user: str, question: str, topic: str = "1", commune: str = "nam tam",
              anonymous: bool = True, channel: str = "telegram") -> str:
    """A member asks through the real flow (on Telegram unless told); her receipt."""
    m = Member(runtime, user=user, channel=channel)
    for line in ("/start", "1", commune, topic, question):
        await m.send(line)
    if "Không, tôi muốn gửi câu hỏi" in m.labels():  # the screen is unsure: she is not
        await m.press("Không, tôi muốn gửi câu hỏi")
    if "Gửi câu hỏi cho Hội" in m.labels():
        await m.press("Gửi câu hỏi cho Hội")
    if "Ủng hộ" in " ".join(m.labels()):
        await m.press("Câu của tôi khác")
    await m.send("2" if anonymous else "1")
    await m.send("1")
    if "Đồng ý" in " ".join(m.labels()):
        await m.press("Đồng ý")
    found = re.search(r"LC27-\d{6}", m.text)
    assert found, m.text
    return found.group(0)


async def cluster_of(runtime, receipt: str) -> int:
    async with runtime.db.transaction() as conn:
        rows = await conn.execute_fetchall(
            "SELECT cluster_id FROM questions WHERE receipt = ?", (receipt,))
        return rows[0][0]


async def page_csrf(http: httpx.AsyncClient, path: str = "/cum") -> str:
    response = await http.get(path)
    assert response.status_code == 200, response.status_code
    return csrf_of(response.text)


@pytest.fixture
def voice_runtime(staff_runtime, fake):
    """The staff runtime with its Telegram settings pointing at the fake Bot API, where the
    console fetches voice messages from."""
    staff_runtime.config = staff_runtime.config.with_channel(
        "telegram", base_url=fake.base_url, token=Secret(fake.token))
    return staff_runtime


async def ask_by_voice(runtime, fake: FakeBotAPI, user: str, audio: bytes,
                       anonymous: bool = True) -> tuple[int, str]:
    """A member asks by a Telegram voice message whose file the fake Bot API holds; (question
    id, receipt)."""
    update = fake.push_voice(int(user), content=audio)
    link = "telegram-file:" + update["message"]["voice"]["file_id"]
    return await ask_with_voice(runtime, "telegram", user, link, anonymous)


async def ask_with_voice(runtime, channel: str, user: str, link: str,
                         anonymous: bool = True) -> tuple[int, str]:
    """A member of `channel` asks by a voice message stored as `link`; (question id,
    receipt)."""
    m = Member(runtime, user=user, channel=channel)
    for line in ("/start", "1", "nam tam", "4"):
        await m.send(line)
    await m._handle(Incoming(channel=channel, chat_id=user, user_id=user, kind=Kind.VOICE,
                             media_url=link))
    await m.send("2" if anonymous else "1")
    await m.send("1")
    receipt = re.search(r"LC27-\d{6}", m.text)
    assert receipt, m.text
    async with runtime.db.transaction() as conn:
        rows = await conn.execute_fetchall("SELECT id FROM questions WHERE receipt = ?",
                                           (receipt.group(0),))
    return rows[0][0], receipt.group(0)
