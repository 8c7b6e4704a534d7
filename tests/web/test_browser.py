"""The console in a real browser: Debian's Chromium driven by Playwright (no browser download).

A member asks on Telegram (the real PTB channel against the fake Bot API); staff log in, filter
and bulk-forward her cluster; the department answers; staff publish; she receives the answer
through the fake Bot API. A department cannot open another department's cluster; a form whose
CSRF token was removed is refused. A department attaches a PDF that staff download; staff play
a member's Telegram voice message.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from bot.channels.telegram import TelegramChannel
from bot.web.server import console_server
from tests.fakes.files import PDF, silent_voice

from .conftest import PASSWORD, add_account, ask, ask_by_voice, cluster_of

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DEPARTMENT = "so-tai-chinh"  # Sở Tài chính
OTHER = "so-y-te"  # Sở Y tế
ANSWER = "Ngân hàng Chính sách xã hội cho hội viên vay tới 100 triệu đồng, lãi suất ưu đãi."

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(),
                       reason="Debian's chromium is not installed: apt-get install chromium "
                              "(.ci/run installs it and fails without it)"),
]


@pytest.fixture
async def console(staff_runtime, monkeypatch):
    from bot.web import app as web_app

    from .conftest import CHEAP

    monkeypatch.setattr(web_app.auth, "Passwords", lambda: CHEAP)  # cheap hashes in tests
    server = console_server(staff_runtime, "127.0.0.1", 0, embedded=True)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def browser():
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        await chromium.close()


async def log_in(browser, base: str, login: str):
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{base}/login")
    await page.get_by_label("Tên đăng nhập").fill(login)
    await page.get_by_label("Mật khẩu").fill(PASSWORD)
    await page.get_by_role("button", name="Đăng nhập").click()
    await page.wait_for_load_state()
    assert "/login" not in page.url, await page.content()
    return page


async def test_a_round_in_the_browser(staff_runtime, fake, console, browser):
    channel = TelegramChannel(staff_runtime, token=fake.token, base_url=fake.base_url)
    await channel.start(poll_timeout=1)
    try:
        await _round(staff_runtime, fake, console, browser)
    finally:
        await channel.stop()


async def _round(runtime, fake, base, browser):
    receipt = await ask(runtime, "501", "Chị em bản em muốn vay vốn chăn nuôi bò sinh sản ạ?")
    other = await ask(runtime, "502", "Trạm y tế xã thiếu thuốc cho phụ nữ mang thai ạ", "4")
    cid, other_cid = await cluster_of(runtime, receipt), await cluster_of(runtime, other)
    for login, role, department in (("lan", "staff", None),
                                    ("taichinh", "department", DEPARTMENT),
                                    ("yte", "department", OTHER)):
        await add_account(runtime, login, role, department)

    staff = await log_in(browser, base, "lan")
    await staff.goto(f"{base}/cum")
    await staff.get_by_label("Tìm (gõ có dấu hay không dấu đều được)").fill("bo sinh san")
    await staff.get_by_role("button", name="Lọc").click()
    await staff.wait_for_load_state()
    assert "1 cụm" in await staff.content()
    await staff.get_by_label(f"Chọn cụm #{cid}").check()
    await staff.get_by_role("radio", name="Chuyển sở, ngành").check()
    await staff.get_by_label("Chủ trì").select_option(DEPARTMENT)
    await staff.get_by_label(re.compile("Hạn trả lời")).fill("2027-07-20")
    await staff.get_by_role("button", name="Thực hiện").click()
    await staff.wait_for_load_state()
    assert "Đã chuyển các cụm đã chọn" in await staff.content()
    # The other cluster goes to the other department.
    await staff.goto(f"{base}/cum")
    await staff.get_by_label(f"Chọn cụm #{other_cid}").check()
    await staff.get_by_role("radio", name="Chuyển sở, ngành").check()
    await staff.get_by_label("Chủ trì").select_option(OTHER)
    await staff.get_by_role("button", name="Thực hiện").click()
    await staff.wait_for_load_state()

    department = await log_in(browser, base, "taichinh")
    await department.goto(f"{base}/so")
    await department.get_by_role("link", name=f"#{cid}").click()
    await department.get_by_label(re.compile("Câu trả lời của")).fill(ANSWER)
    await department.get_by_role("button", name="Gửi câu trả lời").click()
    await department.wait_for_load_state()
    assert "Đã gửi câu trả lời" in await department.content()
    refused = await department.goto(f"{base}/so/cum/{other_cid}")
    assert refused is not None and refused.status == 404
    assert "thiếu thuốc" not in await department.content()
    assert not [m for m in fake.sent(501) if ANSWER in (m.get("text") or "")]

    await staff.goto(f"{base}/cum/{cid}")
    await staff.get_by_role("button", name="Công bố và báo cho người hỏi").first.click()
    await staff.wait_for_load_state()
    assert "Đã công bố câu trả lời" in await staff.content()
    await fake.wait_for(lambda f: any(ANSWER in (m.get("text") or "") for m in f.sent(501)),
                        timeout=15, what="the answer in her Telegram chat")
    told = [m for m in fake.sent(501) if ANSWER in (m.get("text") or "")]
    assert len(told) == 1 and receipt in told[0]["text"]

    # A form whose CSRF token was taken out is refused, and nothing changes.
    await staff.goto(f"{base}/cum")
    await staff.locator("form[action='/cum/hang-loat'] input[name=csrf]").evaluate(
        "e => e.remove()")
    await staff.get_by_label(f"Chọn cụm #{other_cid}").check()
    await staff.get_by_role("radio", name="Duyệt", exact=True).check()
    async with staff.expect_response(f"{base}/cum/hang-loat") as response:
        await staff.get_by_role("button", name="Thực hiện").click()
    assert (await response.value).status == 403
    assert "Không được phép" in await staff.content()


# --- files: a department's PDF, a member's voice message ----------------------------------------


async def test_a_department_attaches_a_pdf_and_staff_download_it(voice_runtime, console,
                                                                 browser, tmp_path):
    runtime = voice_runtime
    receipt = await ask(runtime, "601", "Chị em muốn vay vốn chăn nuôi bò sinh sản ạ?")
    cid = await cluster_of(runtime, receipt)
    await add_account(runtime, "lan", "staff")
    await add_account(runtime, "taichinh", "department", DEPARTMENT)
    staff = await log_in(browser, console, "lan")
    await staff.goto(f"{console}/cum")
    await staff.get_by_label(f"Chọn cụm #{cid}").check()
    await staff.get_by_role("radio", name="Chuyển sở, ngành").check()
    await staff.get_by_label("Chủ trì").select_option(DEPARTMENT)
    await staff.get_by_role("button", name="Thực hiện").click()
    await staff.wait_for_load_state()

    letter = tmp_path / "Công văn trả lời.pdf"
    letter.write_bytes(PDF)
    department = await log_in(browser, console, "taichinh")
    await department.goto(f"{console}/so/cum/{cid}")
    await department.get_by_label(re.compile("Câu trả lời của")).fill(ANSWER)
    await department.get_by_label(re.compile("Văn bản trả lời \\(PDF")).set_input_files(letter)
    await department.get_by_role("button", name="Gửi câu trả lời").click()
    await department.wait_for_load_state()
    assert "Đã gửi câu trả lời" in await department.content()
    assert "cong-van-tra-loi.pdf" in await department.content()

    await staff.goto(f"{console}/cum/{cid}")
    async with staff.expect_download() as waiting:
        await staff.get_by_role("link", name=re.compile("Tải văn bản trả lời")).click()
    download = await waiting.value
    assert download.suggested_filename == "cong-van-tra-loi.pdf"
    saved = tmp_path / "saved.pdf"
    await download.save_as(saved)
    assert saved.read_bytes() == PDF


async def test_staff_play_a_voice_message(voice_runtime, fake, console, browser):
    runtime = voice_runtime
    _, receipt = await ask_by_voice(runtime, fake, "602", silent_voice(2))
    cid = await cluster_of(runtime, receipt)
    await add_account(runtime, "lan", "staff")
    staff = await log_in(browser, console, "lan")
    await staff.goto(f"{console}/cum/{cid}")
    player = staff.get_by_label(f"Tin nhắn thoại {receipt}")
    assert await player.get_attribute("controls") is not None
    # Chromium fetches it from the console, decodes it and plays it to the end.
    duration = await player.evaluate(
        "a => new Promise((done, failed) => { a.muted = true; a.onerror = () => "
        "failed(String(a.error && a.error.code)); a.onended = () => done(a.duration); "
        "a.play().catch(e => failed(String(e))); })")
    assert 1.5 < duration < 2.5
    assert [m for m, _ in fake.calls if m == "getFile"] == ["getFile"]
