"""What staff and departments can do in the console, end to end through the real flows: the
member hears what staff decided, in her own channel, through the outbox."""

from __future__ import annotations

from .conftest import ask, cluster_of, logged_in, page_csrf

DEPARTMENT = "so-tai-chinh"  # Sở Tài chính


async def outbox(runtime, purpose: str) -> list:
    async with runtime.db.transaction() as conn:
        return list(await conn.execute_fetchall(
            "SELECT channel, chat_id, text FROM outbox WHERE purpose = ? ORDER BY id",
            (purpose,)))


async def bulk(http, **data):
    token = await page_csrf(http)
    response = await http.post("/cum/hang-loat", data={"csrf": token, "dot": "lai-chau-2027",
                                                       **data})
    assert response.status_code == 303
    return response.headers["location"]


async def test_forward_answer_publish_tells_the_member_in_her_channel(app, staff_runtime):
    receipt = await ask(staff_runtime, "61", "Chị em muốn vay vốn chăn nuôi bò sinh sản ở đâu ạ?")
    cid = await cluster_of(staff_runtime, receipt)
    staff = await logged_in(app, "lan", "staff", runtime=staff_runtime)
    assert "ok=bad_deadline" in await bulk(staff, cum=str(cid), viec="forward",
                                           so_chu_tri=DEPARTMENT, han="2027-08-30")
    assert "ok=bad_deadline" in await bulk(staff, cum=str(cid), viec="forward",
                                           so_chu_tri=DEPARTMENT, han="2026-11-30")
    assert "ok=forwarded" in await bulk(staff, cum=str(cid), viec="forward",
                                        so_chu_tri=DEPARTMENT, han="2027-07-20",
                                        so_phoi_hop="so-noi-vu")
    dept = await logged_in(app, "taichinh", "department", DEPARTMENT, runtime=staff_runtime)
    listing = await dept.get("/so")
    assert "Chủ trì" in listing.text and "231 ngày" in listing.text
    assert f"/so/cum/{cid}" in listing.text
    partner = await logged_in(app, "noivu", "department", "so-noi-vu", runtime=staff_runtime)
    assert "Phối hợp" in (await partner.get("/so")).text
    assert (await partner.get(f"/so/cum/{cid}")).status_code == 200
    outsider = await logged_in(app, "yte", "department", "so-y-te", runtime=staff_runtime)
    assert f"/so/cum/{cid}" not in (await outsider.get("/so")).text
    assert (await outsider.get(f"/so/cum/{cid}")).status_code == 404
    token = await page_csrf(dept, f"/so/cum/{cid}")
    answer = "Chị liên hệ Ngân hàng Chính sách xã hội huyện để vay tới 100 triệu đồng."
    done = await dept.post(f"/so/cum/{cid}/tra-loi", data={"csrf": token, "tra_loi": answer})
    assert done.headers["location"].endswith("ok=submitted")
    assert await outbox(staff_runtime, "answer") == []  # nobody is told before staff publish
    page = await staff.get(f"/cum/{cid}")
    assert answer in page.text and "chờ Hội duyệt" in page.text
    answer_id = page.text.split('action="/tra-loi/')[1].split('"')[0]
    token = await page_csrf(staff, f"/cum/{cid}")
    published = await staff.post(f"/tra-loi/{answer_id}", data={"csrf": token,
                                                               "viec": "publish"})
    assert published.headers["location"].endswith("ok=published")
    told = await outbox(staff_runtime, "answer")
    assert [(r["channel"], r["chat_id"]) for r in told] == [("telegram", "61")]
    assert answer in told[0]["text"] and receipt in told[0]["text"]
    # Publishing twice (a double click, an old tab) tells nobody twice.
    await staff.post(f"/tra-loi/{answer_id}", data={"csrf": token, "viec": "publish"})
    assert len(await outbox(staff_runtime, "answer")) == 1
    history = (await staff.get(f"/cum/{cid}")).text
    assert "Chủ trì" in history and "Phối hợp" in history  # the lifecycle's forwards
    for action in ("Chuyển sở, ngành", "Sở, ngành gửi câu trả lời", "Công bố câu trả lời"):
        assert action in history


async def test_bulk_reject_with_a_template_tells_each_asker_the_reason(app, staff_runtime):
    first = await cluster_of(staff_runtime, await ask(
        staff_runtime, "71", "Em muốn hỏi giá vé xem bóng đá ở sân vận động tỉnh ạ"))
    second = await cluster_of(staff_runtime, await ask(
        staff_runtime, "72", "Cho em hỏi lịch chiếu phim ở rạp trung tâm thành phố", "7"))
    staff = await logged_in(app, "lan", "staff", runtime=staff_runtime)
    assert "need_reason" in await bulk(staff, cum=[str(first), str(second)], viec="reject",
                                       ly_do="999")
    assert "ok=rejected" in await bulk(staff, cum=[str(first), str(second)], viec="reject",
                                       ly_do="1")
    told = await outbox(staff_runtime, "rejected")
    assert sorted(r["chat_id"] for r in told) == ["71", "72"]
    assert all("không thuộc chủ đề" in r["text"] for r in told)


async def test_bulk_merge_and_approve_and_queue_filters(app, staff_runtime):
    a = await cluster_of(staff_runtime, await ask(
        staff_runtime, "81", "Bản em chưa có nước sạch, suối cạn cả mùa khô", "2"))
    b = await cluster_of(staff_runtime, await ask(
        staff_runtime, "82", "Xin hỗ trợ vay vốn mua máy may cho tổ hợp tác phụ nữ", "1"))
    c = await cluster_of(staff_runtime, await ask(
        staff_runtime, "83", "Đề nghị mở lớp dạy nghề may cho chị em dân tộc Mông", "1"))
    staff = await logged_in(app, "lan", "staff", runtime=staff_runtime)
    assert "need_target" in await bulk(staff, cum=[str(b), str(c)], viec="merge", gop_vao=str(a))
    assert "ok=merged" in await bulk(staff, cum=[str(b), str(c)], viec="merge", gop_vao=str(b))
    assert "ok=approved" in await bulk(staff, cum=[str(a)], viec="approve")
    by_topic = (await staff.get("/cum", params={"chu_de": "1"})).text
    assert f'href="/cum/{b}"' in by_topic and f'href="/cum/{c}"' not in by_topic
    assert f'href="/cum/{a}"' not in by_topic
    approved = (await staff.get("/cum", params={"trang_thai": "da_duyet"})).text
    assert f'href="/cum/{a}"' in approved and f'href="/cum/{b}"' not in approved
    merged = await staff.get(f"/cum/{c}")
    assert merged.status_code == 303 and merged.headers["location"] == f"/cum/{b}"
    board = (await staff.get("/")).text
    assert "Theo nhóm vấn đề" in board and "Xã Nậm Tăm" in board


async def test_queue_pages_and_sorts_by_how_many_asked(app, staff_runtime):
    staff = await logged_in(app, "lan", "staff", runtime=staff_runtime)
    async with staff_runtime.db.transaction() as conn:
        now = "2026-12-01T03:00:00+00:00"
        for i in range(120):
            cur = await conn.execute(
                "INSERT INTO clusters (dialogue_id, topic, created_at) VALUES (?, 1, ?)",
                ("lai-chau-2027", now))
            for j in range(i % 5 + 1):
                await conn.execute(
                    "INSERT INTO questions (dialogue_id, receipt, channel, topic, text, "
                    "cluster_id, created_at) VALUES ('lai-chau-2027', ?, 'telegram', 1, ?, ?, ?)",
                    (f"T-{i}-{j}", f"câu hỏi số {i}", cur.lastrowid, now))
    first = (await staff.get("/cum")).text
    assert "120 cụm" in first and "Trang 1/3" in first and "Trang sau" in first
    counts = [int(x.split("<")[0]) for x in first.split('<td>')[3::6][:50]]
    assert counts == sorted(counts, reverse=True) and counts[0] == 5
    last = (await staff.get("/cum", params={"trang": "3"})).text
    assert "Trang 3/3" in last and "Trang trước" in last


async def test_a_corrected_department_answer_is_one_text_per_version_told_once(app,
                                                                            staff_runtime):
    """The department answers, staff send it back, it sends a corrected one: the page shows
    both versions with their review, the lifecycle holds the current one (reports, exports),
    and publishing it tells the member once, with the corrected text only."""
    from storage import console as store
    from storage import lifecycle

    receipt = await ask(staff_runtime, "64", "Xin hỏi thủ tục vay vốn hộ nghèo để nuôi lợn ạ")
    cid = await cluster_of(staff_runtime, receipt)
    staff = await logged_in(app, "lan", "staff", runtime=staff_runtime)
    assert "ok=forwarded" in await bulk(staff, cum=str(cid), viec="forward",
                                        so_chu_tri=DEPARTMENT, han="2027-07-20")
    dept = await logged_in(app, "taichinh", "department", DEPARTMENT, runtime=staff_runtime)
    first = "Chị liên hệ ngân hàng xã để được hướng dẫn."
    second = "Chị liên hệ Ngân hàng Chính sách xã hội huyện, mức vay tới 100 triệu đồng."
    token = await page_csrf(dept, f"/so/cum/{cid}")
    await dept.post(f"/so/cum/{cid}/tra-loi", data={"csrf": token, "tra_loi": first})
    page = (await staff.get(f"/cum/{cid}")).text
    first_id = page.split('action="/tra-loi/')[1].split('"')[0]
    token = await page_csrf(staff, f"/cum/{cid}")
    await staff.post(f"/tra-loi/{first_id}", data={"csrf": token, "viec": "return",
                                                   "ghi_chu": "Ghi rõ mức vay"})
    token = await page_csrf(dept, f"/so/cum/{cid}")
    await dept.post(f"/so/cum/{cid}/tra-loi", data={"csrf": token, "tra_loi": second})
    page = (await staff.get(f"/cum/{cid}")).text
    assert first in page and second in page and "Ghi rõ mức vay" in page
    second_id = page.split('action="/tra-loi/')[1].split('"')[0]
    assert second_id != first_id
    async with staff_runtime.db.transaction() as conn:
        [forward] = await lifecycle.forwards_of_cluster(conn, cid)
        versions = [(a.text, a.status) for a in await store.department_answers(conn, cid)]
        stored = [r[0] for r in await conn.execute_fetchall(
            "SELECT COUNT(*) FROM cluster_steps WHERE cluster_id = ? AND note = ?",
            (cid, second))]
    assert forward.answer == second
    assert versions == [(second, "submitted"), (first, "returned")]
    assert stored == [1]  # one journal step per version, nothing else holds a copy
    token = await page_csrf(staff, f"/cum/{cid}")
    await staff.post(f"/tra-loi/{second_id}", data={"csrf": token, "viec": "publish"})
    await staff.post(f"/tra-loi/{second_id}", data={"csrf": token, "viec": "publish"})
    told = await outbox(staff_runtime, "answer")
    assert [(r["channel"], r["chat_id"]) for r in told] == [("telegram", "64")]
    assert second in told[0]["text"] and first not in told[0]["text"]
