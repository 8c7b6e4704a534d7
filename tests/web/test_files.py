"""Files in the console, over HTTP with real sessions: a department's PDF with its written
answer (who may read it, how it is served, what is refused) and members' Telegram voice
messages (fetched once through the fake Bot API, kept, served as audio, gone with her data)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from bot.web.files import safe_pdf_name
from storage import queries as q
from tests.fakes.files import PDF, silent_voice

from .conftest import ask, ask_by_voice, ask_with_voice, client, cluster_of, logged_in, page_csrf

DEPARTMENT = "so-tai-chinh"  # Sở Tài chính
OTHER = "so-y-te"
ANSWER = "Ngân hàng Chính sách xã hội cho hội viên vay tới 100 triệu đồng, lãi suất ưu đãi."


async def _forwarded(app, runtime, question: str = "Chị em muốn vay vốn chăn nuôi bò ạ?"):
    """A member's cluster forwarded to Sở Tài chính; (cluster id, staff, department) clients."""
    receipt = await ask(runtime, "71", question)
    cid = await cluster_of(runtime, receipt)
    staff = await logged_in(app, "lan", "staff", runtime=runtime)
    token = await page_csrf(staff)
    done = await staff.post("/cum/hang-loat", data={
        "csrf": token, "dot": "lai-chau-2027", "cum": str(cid), "viec": "forward",
        "so_chu_tri": DEPARTMENT, "han": "2027-07-20"})
    assert done.headers["location"].endswith("ok=forwarded")
    dept = await logged_in(app, "taichinh", "department", DEPARTMENT, runtime=runtime)
    return cid, staff, dept


async def _answer(dept, cid: int, pdf: tuple[str, bytes, str] | None):
    token = await page_csrf(dept, f"/so/cum/{cid}")
    files = {"pdf": pdf} if pdf else {"pdf": ("", b"", "application/octet-stream")}
    return await dept.post(f"/so/cum/{cid}/tra-loi", data={"csrf": token, "tra_loi": ANSWER},
                           files=files)


def _pdf_link(html: str) -> str:
    found = re.search(r'href="(/tra-loi/\d+/pdf)"', html)
    assert found, "no PDF link on the page"
    return found.group(1)


async def test_a_department_attaches_a_pdf_staff_and_it_read_it_nobody_else(app, staff_runtime):
    cid, staff, dept = await _forwarded(app, staff_runtime)
    sent = await _answer(dept, cid, ("Công văn số 12 STC.pdf", PDF, "application/pdf"))
    assert sent.headers["location"].endswith("ok=submitted")

    review = await staff.get(f"/cum/{cid}")
    assert ANSWER in review.text and "Tải văn bản trả lời (PDF)" in review.text
    link = _pdf_link(review.text)
    got = await staff.get(link)
    assert got.status_code == 200 and got.content == PDF
    assert got.headers["content-type"] == "application/pdf"
    # Attachment, never shown inline; a name with no path, quote or diacritic in it.
    assert got.headers["content-disposition"] == 'attachment; filename="cong-van-so-12-stc.pdf"'

    own = await dept.get(f"/so/cum/{cid}")
    assert _pdf_link(own.text) == link
    assert (await dept.get(link)).content == PDF

    other = await logged_in(app, "yte", "department", OTHER, runtime=staff_runtime)
    refused = await other.get(link)
    assert refused.status_code == 404 and PDF not in refused.content
    anonymous = await client(app).get(link)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"


async def test_an_answer_without_a_file_has_no_pdf(app, staff_runtime):
    cid, staff, dept = await _forwarded(app, staff_runtime)
    assert (await _answer(dept, cid, None)).headers["location"].endswith("ok=submitted")
    page = await staff.get(f"/cum/{cid}")
    assert ANSWER in page.text and "/pdf" not in page.text


@pytest.mark.parametrize("upload", [
    ("tra-loi.pdf", b"<html>not a pdf</html>", "application/pdf"),  # the name lies
    ("tra-loi.pdf", b"MZ\x90\x00" + PDF, "application/pdf"),  # %PDF- not at the start
])
async def test_a_file_that_is_not_a_pdf_is_refused_and_nothing_is_sent(app, staff_runtime,
                                                                        upload):
    cid, staff, dept = await _forwarded(app, staff_runtime)
    refused = await _answer(dept, cid, upload)
    assert refused.status_code == 400 and "không phải PDF" in refused.text
    # Back on the form with what was written: only the file is to be chosen again.
    assert f">{ANSWER}</textarea>" in refused.text
    assert "đang chờ Hội duyệt" not in refused.text
    assert ANSWER not in (await staff.get(f"/cum/{cid}")).text


async def test_a_pdf_over_the_configured_size_is_refused(app, staff_runtime):
    cid, staff, dept = await _forwarded(app, staff_runtime)
    limit = staff_runtime.config.web.max_pdf_mb * 1024 * 1024
    big = PDF + b"0" * (limit - len(PDF) + 1)
    refused = await _answer(dept, cid, ("lon.pdf", big, "application/pdf"))
    assert refused.status_code == 400 and "lớn hơn giới hạn" in refused.text
    assert ANSWER not in (await staff.get(f"/cum/{cid}")).text
    # Exactly at the limit is fine.
    ok = await _answer(dept, cid, ("vua.pdf", big[:limit], "application/pdf"))
    assert ok.headers["location"].endswith("ok=submitted")


async def test_a_body_far_over_the_limit_is_refused_unread(app, staff_runtime):
    cid, _, dept = await _forwarded(app, staff_runtime)
    token = await page_csrf(dept, f"/so/cum/{cid}")
    huge = b"%PDF-" + b"0" * ((staff_runtime.config.web.max_pdf_mb + 2) * 1024 * 1024)
    refused = await dept.post(f"/so/cum/{cid}/tra-loi", data={"csrf": token, "tra_loi": ANSWER},
                              files={"pdf": ("x.pdf", huge, "application/pdf")})
    assert refused.status_code == 413 and "lớn hơn giới hạn" in refused.text


@pytest.mark.parametrize(("given", "served"), [
    ("..\\..\\Văn bản.PDF", "van-ban.pdf"),
    ("../../etc/passwd", "passwd.pdf"),
    ('a"; filename="x.exe', "a-filename-x.exe.pdf"),
    ("\r\nSet-Cookie: x", "set-cookie-x.pdf"),
    ("Đơn.pdf", "don.pdf"),
    ("", "tra-loi.pdf"),
    ("...", "tra-loi.pdf"),
])
def test_the_served_name_is_safe(given, served):
    assert safe_pdf_name(given, "tra-loi") == served


def _config_with(tmp_path, line: str):
    from tests.conftest import ROOT

    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = text.replace("max_pdf_mb = 10", line, 1)
    text = text.replace('locale = "locales/vi.toml"', f'locale = "{ROOT}/locales/vi.toml"')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ={})


def test_max_pdf_mb_is_read_and_checked_at_start(tmp_path):
    assert _config_with(tmp_path, "max_pdf_mb = 3").web.max_pdf_mb == 3
    for bad in ("max_pdf_mb = 0", "max_pdf_mb = 51", 'max_pdf_mb = "10"'):
        with pytest.raises(ConfigError, match=r"web\.max_pdf_mb"):
            _config_with(tmp_path, bad)
    with pytest.raises(ConfigError, match="max_pdf"):
        _config_with(tmp_path, "max_pdf = 10")


# --- voice messages ----------------------------------------------------------------------------


def _fetches(fake) -> int:
    return sum(1 for method, _ in fake.calls if method == "getFile")


async def test_staff_hear_a_voice_message_fetched_once_and_kept(app, voice_runtime, fake):
    audio = silent_voice(2)
    qid, receipt = await ask_by_voice(voice_runtime, fake, "81", audio)
    cid = await cluster_of(voice_runtime, receipt)
    staff = await logged_in(app, "lan", "staff", runtime=voice_runtime)
    page = await staff.get(f"/cum/{cid}")
    assert f'<audio controls preload="none" src="/thoai/{qid}"' in page.text
    assert _fetches(fake) == 0  # nothing fetched until someone plays it

    first = await staff.get(f"/thoai/{qid}")
    assert first.status_code == 200 and first.content == audio
    assert first.headers["content-type"] == "audio/ogg"
    again = await staff.get(f"/thoai/{qid}")
    assert again.content == audio and _fetches(fake) == 1  # kept on the union's server

    anonymous = await client(app).get(f"/thoai/{qid}")
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login"


async def test_departments_hear_voice_only_in_their_own_clusters(app, voice_runtime, fake):
    qid, receipt = await ask_by_voice(voice_runtime, fake, "82", silent_voice(1),
                                      anonymous=False)
    cid = await cluster_of(voice_runtime, receipt)
    outsider = await logged_in(app, "taichinh", "department", DEPARTMENT, runtime=voice_runtime)
    assert (await outsider.get(f"/thoai/{qid}")).status_code == 404
    assert _fetches(fake) == 0
    staff = await logged_in(app, "lan", "staff", runtime=voice_runtime)
    token = await page_csrf(staff)
    await staff.post("/cum/hang-loat", data={
        "csrf": token, "dot": "lai-chau-2027", "cum": str(cid), "viec": "forward",
        "so_chu_tri": DEPARTMENT, "han": "2027-07-20"})
    assert (await outsider.get(f"/thoai/{qid}")).status_code == 200
    assert f'src="/thoai/{qid}"' in (await outsider.get(f"/so/cum/{cid}")).text
    other = await logged_in(app, "yte", "department", OTHER, runtime=voice_runtime)
    assert (await other.get(f"/thoai/{qid}")).status_code == 404


async def test_her_voice_is_gone_once_she_deletes_her_data(app, voice_runtime, fake):
    audio = silent_voice(1)
    qid, _ = await ask_by_voice(voice_runtime, fake, "83", audio)
    staff = await logged_in(app, "lan", "staff", runtime=voice_runtime)
    assert (await staff.get(f"/thoai/{qid}")).content == audio  # fetched and kept
    async with voice_runtime.db.transaction() as conn:
        user = await q.user_by_external_id(conn, "telegram", "83")
        assert user is not None
        await q.delete_user_data(conn, user.id, now=voice_runtime.services.clock())
    assert (await staff.get(f"/thoai/{qid}")).status_code == 404
    async with voice_runtime.db.transaction() as conn:
        assert await conn.execute_fetchall("SELECT 1 FROM voice_files") == []
    await voice_runtime.db.checkpoint()
    base = Path(voice_runtime.db.path)
    raw = b"".join(f.read_bytes() for f in (base, base.with_name(base.name + "-wal"))
                   if f.exists())
    for trace in (b"OpusHead", b"doithoai-tests"):  # no copy of her audio left in the files
        assert trace not in raw, trace


async def test_a_voice_the_bot_api_cannot_give_is_a_502_and_nothing_kept(app, voice_runtime,
                                                                         fake):
    qid, _ = await ask_by_voice(voice_runtime, fake, "84", silent_voice(1))
    fake.files.clear()  # Telegram no longer has it
    staff = await logged_in(app, "lan", "staff", runtime=voice_runtime)
    failed = await staff.get(f"/thoai/{qid}")
    assert failed.status_code == 502 and "Chưa tải được tệp" in failed.text


# --- the PDF reaches the askers ----------------------------------------------------------------


async def test_publishing_sends_the_pdf_on_telegram_and_says_the_union_holds_it_elsewhere(
        app, voice_runtime, fake):
    from bot.channels.telegram import TelegramChannel

    runtime = voice_runtime
    cid, staff, dept = await _forwarded(app, runtime)
    receipt = (await _receipts(runtime, cid))[0]
    await _answer(dept, cid, ("Công văn 12.pdf", PDF, "application/pdf"))
    page = await staff.get(f"/cum/{cid}")
    answer_id = page.text.split('action="/tra-loi/')[1].split('"')[0]
    token = await page_csrf(staff, f"/cum/{cid}")
    published = await staff.post(f"/tra-loi/{answer_id}", data={"csrf": token,
                                                               "viec": "publish"})
    assert published.headers["location"].endswith("ok=published")

    # Someone on a channel without documents, merged in after it was published, hears the
    # answer and that the Union holds the written reply.
    later = await ask(runtime, "chi-mai", "Xin hỏi thủ tục vay vốn hộ nghèo ở xã ạ?",
                      channel="terminal")
    later_cid = await cluster_of(runtime, later)
    assert later_cid != cid
    token = await page_csrf(staff)
    merged = await staff.post("/cum/hang-loat", data={
        "csrf": token, "dot": "lai-chau-2027", "cum": [str(cid), str(later_cid)],
        "viec": "merge", "gop_vao": str(cid)})
    assert merged.headers["location"].endswith("ok=merged")
    async with runtime.db.transaction() as conn:
        told = await conn.execute_fetchall(
            "SELECT purpose, text FROM outbox WHERE chat_id = 'chi-mai' "
            "AND purpose IN ('answer', 'answer_pdf', 'answer_pdf_held') ORDER BY id")
    assert [r["purpose"] for r in told] == ["answer", "answer_pdf_held"]
    assert "được lưu tại Hội LHPN tỉnh" in told[1]["text"] and later in told[1]["text"]

    channel = TelegramChannel(runtime, token=fake.token, base_url=fake.base_url)
    await channel.start(poll_timeout=1)
    try:
        await fake.wait_for(lambda f: any(m["method"] == "sendDocument" for m in f.sent(71)),
                            timeout=15, what="the PDF in her Telegram chat")
    finally:
        await channel.stop()
    sent = fake.sent(71)
    texts = [m for m in sent if ANSWER in (m.get("text") or "")]
    documents = [m for m in sent if m["method"] == "sendDocument"]
    assert len(texts) == 1 and len(documents) == 1
    assert sent.index(texts[0]) < sent.index(documents[0])  # the answer first, then its PDF
    document = documents[0]
    assert document["file"]["filename"] == "cong-van-12.pdf"
    assert document["file"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert receipt in document["caption"] and "Sở Tài chính" in document["caption"]


async def _receipts(runtime, cluster_id: int) -> list[str]:
    async with runtime.db.transaction() as conn:
        rows = await conn.execute_fetchall(
            "SELECT receipt FROM questions WHERE cluster_id = ? ORDER BY id", (cluster_id,))
    return [r[0] for r in rows]


# --- a Zalo voice message ----------------------------------------------------------------------


@pytest.fixture
async def zalo():
    from tests.fakes.fake_zalo import FakeZalo

    server = FakeZalo()
    await server.start()
    yield server
    await server.stop()


async def test_staff_hear_a_zalo_voice_message_from_the_console_itself(app, staff_runtime,
                                                                       zalo):
    """Zalo gives a link to its own servers: the page plays it from the console (its strict
    Content-Security-Policy blocks any other address, and the staff's browser never calls
    Zalo), fetched once and kept; a link to anywhere but https or Zalo's API is not fetched."""
    staff_runtime.config = staff_runtime.config.with_channel("zalo", base_url=zalo.base_url)
    audio = b"\xff\xf1AAC voice of hers " + b"x" * 200
    zalo.files["v1.aac"] = audio
    qid, receipt = await ask_with_voice(staff_runtime, "zalo", "z81", zalo.file_url("v1.aac"))
    cid = await cluster_of(staff_runtime, receipt)
    staff = await logged_in(app, "lan", "staff", runtime=staff_runtime)
    page = await staff.get(f"/cum/{cid}")
    assert f'src="/thoai/{qid}"' in page.text and zalo.file_url("v1.aac") not in page.text

    first = await staff.get(f"/thoai/{qid}")
    assert first.status_code == 200 and first.content == audio
    assert first.headers["content-type"] == "audio/aac"
    zalo.files.clear()  # gone from Zalo: the union still has it
    assert (await staff.get(f"/thoai/{qid}")).content == audio

    inside, _ = await ask_with_voice(staff_runtime, "zalo", "z82",
                                     "http://10.0.0.5/admin/v.aac")
    refused = await staff.get(f"/thoai/{inside}")
    assert refused.status_code == 502  # an internal address is never fetched


async def test_only_the_safety_role_hears_a_disclosure_s_voice(app, voice_runtime, fake):
    """Red-team pass 2: the safety role got 403 on every voice, though it alone reads a
    disclosure; staff and departments must never hear one."""
    from tests.storage.test_queries import ask as insert_question
    from tests.storage.test_queries import member

    audio = silent_voice(1)
    update = fake.push_voice(85, content=audio)
    link = "telegram-file:" + update["message"]["voice"]["file_id"]
    async with voice_runtime.db.transaction() as conn:
        her = await member(conn, voice_runtime.services.clock())
        _, qid = await insert_question(conn, voice_runtime.services.clock(), her,
                                       "Chồng em đánh em", voice_url=link, urgent=True)
    staff = await logged_in(app, "lan", "staff", runtime=voice_runtime)
    assert (await staff.get(f"/thoai/{qid}")).status_code == 404
    safety = await logged_in(app, "antoan", "safety", runtime=voice_runtime)
    cases = (await safety.get("/an-toan")).text
    case_link = re.search(r'href="(/an-toan/[^"]+)"', cases)
    assert case_link, cases
    page = (await safety.get(case_link.group(1))).text
    assert f'src="/thoai/{qid}"' in page
    heard = await safety.get(f"/thoai/{qid}")
    assert heard.status_code == 200 and heard.content == audio
    normal_qid, _ = await ask_by_voice(voice_runtime, fake, "86", silent_voice(1))
    assert (await safety.get(f"/thoai/{normal_qid}")).status_code == 404  # hers only


async def test_a_department_never_hears_the_voice_of_a_woman_who_stayed_anonymous(
        app, voice_runtime, fake):
    # Red-team pass 5, F6: a voice is who she is and no mask reaches it; departments heard it
    # although she chose to stay anonymous. Staff still hear it (they transcribe it).
    qid, receipt = await ask_by_voice(voice_runtime, fake, "84", silent_voice(1))
    cid = await cluster_of(voice_runtime, receipt)
    staff = await logged_in(app, "lan", "staff", runtime=voice_runtime)
    await staff.post("/cum/hang-loat", data={
        "csrf": await page_csrf(staff), "dot": "lai-chau-2027", "cum": str(cid),
        "viec": "forward", "so_chu_tri": DEPARTMENT, "han": "2027-07-20"})
    dept = await logged_in(app, "taichinh", "department", DEPARTMENT, runtime=voice_runtime)
    assert (await dept.get(f"/thoai/{qid}")).status_code == 404
    assert f'src="/thoai/{qid}"' not in (await dept.get(f"/so/cum/{cid}")).text
    assert (await staff.get(f"/thoai/{qid}")).status_code == 200
