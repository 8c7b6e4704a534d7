"""The console's guarantees, attacked from outside over HTTP: sessions, CSRF, roles,
throttling, expiry, masking, the audit log."""

from __future__ import annotations

import datetime as dt
import io
import sqlite3
import zipfile
from pathlib import Path

import pytest

from storage import console as store
from tests.chat import Member

from .conftest import PASSWORD, add_account, ask, client, cluster_of, log_in, logged_in, page_csrf

DEPARTMENT = "so-tai-chinh"  # Sở Tài chính
OTHER = "so-y-te"  # Sở Y tế


async def test_every_page_but_login_and_health_needs_a_session(app, staff_runtime):
    http = client(app)
    for path in ("/", "/cum", "/cum/1", "/trung", "/nhat-ky", "/mau-tu-choi", "/so",
                 "/so/cum/1", "/an-toan", "/an-toan/1"):
        response = await http.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/login", path
    for path in ("/cum/hang-loat", "/cum/1/tra-loi", "/so/cum/1/tra-loi", "/logout"):
        assert (await http.post(path, data={"csrf": "x"})).status_code == 403, path
    health = await http.get("/healthz")
    assert health.status_code == 200 and health.text == "ok"
    assert (await http.get("/login")).status_code == 200


async def test_login_sets_a_hardened_cookie_and_wrong_password_is_refused(app, staff_runtime):
    await add_account(staff_runtime, "lan", "staff")
    http = client(app)
    wrong = await log_in(http, "lan", "sai-mat-khau-roi")
    assert wrong.status_code == 401 and "không đúng" in wrong.text
    assert "dt_session" not in http.cookies
    response = await log_in(http, "lan")
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    assert (await http.get("/cum")).status_code == 200
    # Over HTTPS (as a trusted proxy reports it) the cookie is Secure too.
    https = client(app, base="https://console.test")
    secure = await log_in(https, "lan")
    assert "Secure" in secure.headers["set-cookie"]


async def test_the_database_holds_no_usable_session_token_or_password(app, staff_runtime):
    await add_account(staff_runtime, "lan", "staff")
    http = client(app)
    await log_in(http, "lan")
    token = http.cookies["dt_session"]
    files = (Path(staff_runtime.db.path), Path(staff_runtime.db.path + "-wal"))
    raw = b"".join(f.read_bytes() for f in files if f.exists())
    assert token.encode() not in raw
    assert PASSWORD.encode() not in raw
    assert b"$argon2id$" in raw


async def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(app, staff_runtime):
    receipt = await ask(staff_runtime, "21", "Chị em muốn vay vốn chăn nuôi bò sinh sản ở đâu ạ?")
    cluster = await cluster_of(staff_runtime, receipt)
    http = await logged_in(app, "lan", "staff", runtime=staff_runtime)
    token = await page_csrf(http)
    for data in ({}, {"csrf": ""}, {"csrf": token[:-1] + ("A" if token[-1] != "A" else "B")}):
        response = await http.post("/cum/hang-loat", data={**data, "cum": str(cluster),
                                                            "viec": "approve"})
        assert response.status_code == 403, data
    async with staff_runtime.db.transaction() as conn:
        rows = await conn.execute_fetchall("SELECT status FROM clusters WHERE id = ?", (cluster,))
    assert rows[0][0] == "moi"
    # Another session's token does not work either.
    other = await logged_in(app, "hoa", "staff", runtime=staff_runtime)
    foreign = await page_csrf(other)
    response = await http.post("/cum/hang-loat", data={"csrf": foreign, "cum": str(cluster),
                                                       "viec": "approve"})
    assert response.status_code == 403
    # The login form itself needs its token.
    fresh = client(app)
    assert (await fresh.post("/login", data={"login": "lan",
                                             "password": PASSWORD})).status_code == 403
    ok = await http.post("/cum/hang-loat", data={"csrf": token, "cum": str(cluster),
                                                 "viec": "approve"})
    assert ok.status_code == 303


async def test_a_department_sees_only_its_own_clusters(app, staff_runtime):
    mine = await cluster_of(staff_runtime, await ask(
        staff_runtime, "31", "Xin hỏi về hỗ trợ vay vốn chăn nuôi gà cho hội viên nghèo"))
    theirs = await cluster_of(staff_runtime, await ask(
        staff_runtime, "32", "Trạm y tế xã thiếu thuốc cho phụ nữ mang thai khám thai", "4"))
    staff = await logged_in(app, "lan", "staff", runtime=staff_runtime)
    token = await page_csrf(staff)
    for cid, department in ((mine, DEPARTMENT), (theirs, OTHER)):
        response = await staff.post("/cum/hang-loat", data={
            "csrf": token, "cum": str(cid), "viec": "forward", "so_chu_tri": department,
            "han": "2027-07-20", "dot": "lai-chau-2027"})
        assert "ok=forwarded" in response.headers["location"]
    dept = await logged_in(app, "taichinh", "department", DEPARTMENT, runtime=staff_runtime)
    listing = await dept.get("/so")
    assert f"/so/cum/{mine}" in listing.text and f"/so/cum/{theirs}" not in listing.text
    assert "vay vốn" in listing.text and "thiếu thuốc" not in listing.text
    assert (await dept.get(f"/so/cum/{mine}")).status_code == 200
    other = await dept.get(f"/so/cum/{theirs}")
    assert other.status_code == 404 and "thiếu thuốc" not in other.text
    token = await page_csrf(dept, f"/so/cum/{mine}")
    answer = await dept.post(f"/so/cum/{theirs}/tra-loi",
                             data={"csrf": token, "tra_loi": "Sở Tài chính trả lời thay sở khác"})
    assert answer.status_code == 404
    # Staff pages are not theirs.
    for path in ("/cum", f"/cum/{theirs}", "/nhat-ky", "/an-toan"):
        assert (await dept.get(path)).status_code == 403, path


async def test_a_disclosure_reaches_a_department_only_as_words_staff_wrote(app, staff_runtime):
    # Forwarding her cluster as it is would hand the department a cluster it can only read as
    # "Nội dung khẩn": staff must write what the department may read first.
    receipt = await ask(staff_runtime, "33", "Chồng em đánh em, em sợ lắm, không dám về nhà", "4")
    cid = await cluster_of(staff_runtime, receipt)
    staff = await logged_in(app, "lan", "staff", runtime=staff_runtime)

    async def forward() -> str:
        response = await staff.post("/cum/hang-loat", data={
            "csrf": await page_csrf(staff), "cum": str(cid), "viec": "forward",
            "so_chu_tri": OTHER, "han": "2027-07-20", "dot": "lai-chau-2027"})
        return response.headers["location"]

    refused = await forward()
    assert "ok=urgent_needs_wording" in refused
    assert "sở không được đọc lời chị ấy" in (await staff.get(refused)).text
    dept = await logged_in(app, "yte", "department", OTHER, runtime=staff_runtime)
    assert f"/so/cum/{cid}" not in (await dept.get("/so")).text
    await staff.post(f"/cum/{cid}/noi-dung", data={
        "csrf": await page_csrf(staff, f"/cum/{cid}"),
        "noi_dung": "Hỗ trợ nơi tạm lánh cho phụ nữ bị bạo lực gia đình ở xã"})
    assert "ok=forwarded" in await forward()
    page = (await dept.get(f"/so/cum/{cid}")).text
    assert "nơi tạm lánh" in page and "dám về nhà" not in page
    assert receipt not in page  # nor her receipt, commune and time (red-team pass 5, F6)
    # She erases her words: the console says so instead of a danger mark over nothing.
    her = Member(staff_runtime, user="33", channel="telegram")
    await her.send("/xoa_du_lieu")
    await her.press("Xóa")
    cluster = (await staff.get(f"/cum/{cid}")).text
    assert "đã xoá theo yêu cầu của người gửi" in cluster and "Nội dung khẩn" not in cluster


async def test_safety_pages_are_for_the_safety_role_only(app, staff_runtime):
    for role in ("staff", "admin", "department"):
        http = await logged_in(app, f"u-{role}", role,
                               DEPARTMENT if role == "department" else None,
                               runtime=staff_runtime)
        assert (await http.get("/an-toan")).status_code == 403, role


async def test_login_is_throttled_per_account_and_per_address(app, staff_runtime):
    await add_account(staff_runtime, "lan", "staff")
    web = staff_runtime.config.web
    attacker = client(app, address="10.9.9.9")
    for _ in range(web.login_max_failures):
        assert (await log_in(attacker, "lan", "doan-mo-mat-khau")).status_code == 401
    # Now even the right password is refused for this account, from anywhere, for a while.
    blocked = await log_in(client(app, address="10.1.1.1"), "lan")
    assert blocked.status_code == 429 and "quá nhiều lần" in blocked.text
    staff_runtime.services.clock.now += dt.timedelta(minutes=web.lock_minutes + 1)
    assert (await log_in(client(app, address="10.1.1.1"), "lan")).status_code == 303
    # One address trying many accounts is stopped too.
    sprayer = client(app, address="10.7.7.7")
    await add_account(staff_runtime, "hoa", "staff")
    for i in range(web.address_max_failures):
        await log_in(sprayer, f"khong-co-{i}", "x" * 12)
    assert (await log_in(sprayer, "hoa")).status_code == 429
    assert (await log_in(client(app, address="10.7.7.8"), "hoa")).status_code == 303


async def test_sessions_expire_when_idle_and_at_their_end(app, staff_runtime):
    clock = staff_runtime.services.clock
    web = staff_runtime.config.web
    http = await logged_in(app, "lan", "staff", runtime=staff_runtime)
    clock.now += dt.timedelta(minutes=web.session_idle_minutes - 1)
    assert (await http.get("/cum")).status_code == 200  # in use: kept alive
    clock.now += dt.timedelta(minutes=web.session_idle_minutes + 1)
    assert (await http.get("/cum")).status_code == 303  # idle too long
    http = await logged_in(app, "hoa", "staff", runtime=staff_runtime)
    for _ in range(web.session_max_hours * 60 // (web.session_idle_minutes - 1) + 1):
        clock.now += dt.timedelta(minutes=web.session_idle_minutes - 1)
        if (await http.get("/cum")).status_code != 200:
            break
    else:
        pytest.fail("the session never ended")
    assert clock.now - dt.timedelta(hours=web.session_max_hours) <= clock.now


async def test_a_disabled_account_is_logged_out_at_once(app, staff_runtime):
    http = await logged_in(app, "lan", "staff", runtime=staff_runtime)
    async with staff_runtime.db.transaction() as conn:
        await store.disable_account(conn, "lan", now=staff_runtime.services.clock())
    assert (await http.get("/cum")).status_code == 303
    assert (await log_in(client(app), "lan")).status_code == 401


async def test_logout_ends_the_session_on_the_server(app, staff_runtime):
    http = await logged_in(app, "lan", "staff", runtime=staff_runtime)
    token = http.cookies["dt_session"]
    await http.post("/logout", data={"csrf": await page_csrf(http)})
    replay = client(app)
    replay.cookies.set("dt_session", token)
    assert (await replay.get("/cum")).status_code == 303


async def test_a_new_login_on_a_shared_browser_ends_the_session_it_held(app, staff_runtime):
    # A shared office PC: Lan walks away logged in, Mai logs in on the same browser. Anyone
    # who copied Lan's cookie before (or a tab still holding it) must be logged out.
    await add_account(staff_runtime, "lan", "staff")
    await add_account(staff_runtime, "mai", "staff")
    http = client(app)
    await log_in(http, "lan")
    lans = http.cookies["dt_session"]
    assert (await log_in(http, "mai")).status_code == 303
    assert http.cookies["dt_session"] != lans
    assert (await http.get("/cum")).status_code == 200
    copied = client(app)
    copied.cookies.set("dt_session", lans)
    response = await copied.get("/cum")
    assert response.status_code == 303 and response.headers["location"] == "/login"


async def test_audit_rows_cannot_be_changed_or_deleted(app, staff_runtime):
    await logged_in(app, "lan", "staff", runtime=staff_runtime)
    async with staff_runtime.db.transaction() as conn:
        rows = await conn.execute_fetchall("SELECT action, account FROM audit_log")
    assert ("login", "lan") in [tuple(r) for r in rows]
    for sql in ("UPDATE audit_log SET account = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            async with staff_runtime.db.transaction() as conn:
                await conn.execute(sql)
    async with staff_runtime.db.transaction() as conn:
        after = await conn.execute_fetchall("SELECT action, account FROM audit_log")
    assert [tuple(r) for r in after] == [tuple(r) for r in rows]


PHONE = "0912 345 678"
CCCD = "012345678901"


async def test_masked_details_never_appear_unmasked_in_any_page(app, staff_runtime):
    named = await ask(staff_runtime, "41",
                      f"Em muốn vay vốn nuôi lợn, gọi em số {PHONE} hoặc CCCD {CCCD} ạ",
                      anonymous=False)
    danger = await ask(staff_runtime, "42",
                       "Chồng em đánh em hằng đêm, em sợ lắm, muốn hỏi về vay vốn làm ăn")
    cid = await cluster_of(staff_runtime, named)
    danger_cid = await cluster_of(staff_runtime, danger)
    staff = await logged_in(app, "lan", "staff", runtime=staff_runtime)
    pages = ["/", "/cum", f"/cum/{cid}", f"/cum/{danger_cid}", "/trung", "/nhat-ky",
             "/cum?tim=danh+em", "/cum/999999", "/cum/99999999999999999999", "/khong-co-trang"]
    # An urgent cluster goes to a department only with a wording staff wrote.
    await staff.post(f"/cum/{danger_cid}/noi-dung", data={
        "csrf": await page_csrf(staff, f"/cum/{danger_cid}"),
        "noi_dung": "Vay vốn làm ăn cho phụ nữ"})
    token = await page_csrf(staff, "/cum")
    await staff.post("/cum/hang-loat", data={"csrf": token, "cum": [str(cid), str(danger_cid)],
                                             "viec": "forward", "so_chu_tri": DEPARTMENT,
                                             "han": "2027-07-20", "dot": "lai-chau-2027"})
    dept = await logged_in(app, "taichinh", "department", DEPARTMENT, runtime=staff_runtime)
    seen = ""
    for path in pages:
        response = await staff.get(path)
        assert response.status_code == (404 if "999" in path or "khong" in path else 200), path
        seen += response.text
    # A 20-digit id (red-team pass 3: a 500 from SQLite's INTEGER overflow) is a 404 too.
    assert (await dept.get("/so/cum/99999999999999999999")).status_code == 404
    for path in ("/so", f"/so/cum/{cid}", f"/so/cum/{danger_cid}"):
        response = await dept.get(path)
        assert response.status_code == 200, path
        seen += response.text
    assert "[SĐT ẩn …678]" in seen
    for secret in (PHONE, "0912345678", CCCD, "đánh em"):
        assert secret not in seen, secret
    # The export links: the files' XML inside the zip, searched for the same details.
    for fmt in ("xlsx", "docx"):
        response = await staff.get("/xuat", params={"dinh_dang": fmt})
        assert response.status_code == 200 and response.content[:2] == b"PK"
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            xml = "".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist()
                          if n.endswith(".xml"))
        assert "vay vốn" in xml or "vay v" in xml, fmt
        for secret in ("0912 345 678", "0912345678", CCCD, "đánh em"):
            assert secret not in xml, (fmt, secret)
    assert (await dept.get("/xuat")).status_code == 403
    # Her words show only on the safety officer's case page, masked there too.
    safety = await logged_in(app, "antoan", "safety", runtime=staff_runtime)
    cases = await safety.get("/an-toan")
    assert "LC27-" in cases.text
    async with staff_runtime.db.transaction() as conn:
        rows = await conn.execute_fetchall("SELECT id FROM questions WHERE receipt = ?",
                                           (danger,))
    case = await safety.get(f"/an-toan/{rows[0][0]}")
    assert "đánh em" in case.text


async def test_search_needs_no_diacritics_and_never_finds_a_disclosure(app, staff_runtime):
    await ask(staff_runtime, "51", "Xin hỏi về nước sạch cho bản Nậm Tăm ạ, suối cạn rồi", "2")
    await ask(staff_runtime, "52", "Chồng em đánh em, em muốn hỏi về nước sạch sinh hoạt", "2")
    staff = await logged_in(app, "lan", "staff", runtime=staff_runtime)
    found = await staff.get("/cum", params={"tim": "nuoc sach"})
    assert "1 cụm" in found.text and "suối cạn" in found.text
    assert "0 cụm" in (await staff.get("/cum", params={"tim": "danh em"})).text


async def test_search_finds_only_what_staff_read_so_a_masked_phone_cannot_be_probed(
        app, staff_runtime):
    # Red-team pass 3: '0933', then '444 555'... matched the raw text, so a phone shown as
    # "[SĐT ẩn …555]" was recovered digit by digit; a name shown "[tên ẩn]" was found by name.
    await ask(staff_runtime, "55", "Tôi là Đinh Thị Hoa, gọi 0933 444 555, hỏi về vay vốn nuôi bò",
              anonymous=False)
    staff = await logged_in(app, "lan", "staff", runtime=staff_runtime)
    assert "1 cụm" in (await staff.get("/cum", params={"tim": "vay von"})).text
    for probe in ("0933", "0933 444", "444 555", "dinh thi", "Đinh Thị Hoa"):
        assert "0 cụm" in (await staff.get("/cum", params={"tim": probe})).text, probe


async def test_search_never_finds_her_words_once_she_deleted_them(app, staff_runtime):
    await ask(staff_runtime, "53", "Em hỏi về trợ cấp cho mẹ đơn thân nuôi con nhỏ ở bản Pa Vệ")
    staff = await logged_in(app, "lan", "staff", runtime=staff_runtime)
    assert "1 cụm" in (await staff.get("/cum", params={"tim": "don than"})).text
    her = Member(staff_runtime, user="53", channel="telegram")
    await her.send("/xoa_du_lieu")
    await her.press("Xóa")
    assert "0 cụm" in (await staff.get("/cum", params={"tim": "don than"})).text


async def test_a_safety_case_records_who_took_it_contact_referral_and_closing(app,
                                                                          staff_runtime):
    receipt = await ask(staff_runtime, "54", "Chồng em đánh em, em sợ lắm, không dám về nhà")
    async with staff_runtime.db.transaction() as conn:
        rows = await conn.execute_fetchall("SELECT id FROM questions WHERE receipt = ?",
                                           (receipt,))
    case = f"/an-toan/{rows[0][0]}"
    safety = await logged_in(app, "antoan", "safety", runtime=staff_runtime)
    assert "Chưa ai nhận" in (await safety.get("/an-toan")).text
    token = await page_csrf(safety, case)
    for step, extra in (("take", {}), ("contacted", {}),
                        ("referred", {"noi_ho_tro": "Công an xã Nậm Tăm"}), ("close", {})):
        response = await safety.post(case, data={"csrf": token, "buoc": step, **extra})
        assert response.headers["location"].endswith("ok=case_saved"), step
    page = (await safety.get(case)).text
    assert "antoan" in page and "Công an xã Nậm Tăm" in page and "Mở lại ca" in page
    assert "Đã đóng" in (await safety.get("/an-toan")).text
    async with staff_runtime.db.transaction() as conn:
        actions = [r[0] for r in await conn.execute_fetchall(
            "SELECT action FROM audit_log WHERE account = 'antoan'")]
    assert [a for a in actions if a.startswith("case_")] == [
        "case_take", "case_contacted", "case_referred", "case_close"]
    assert "view_case" in actions
