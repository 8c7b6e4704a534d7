"""Attack (notes/redteam.md, promise 8): a department account reads the pages of a question
forwarded to it, looking for the name of the anonymous woman who asked. The red team found
"em ten la nguyen thi hoa" and "em Tòng Thị Xuân bản Nà Cang" in full."""

from __future__ import annotations

from .conftest import ask, cluster_of, logged_in, page_csrf

DEPARTMENT = "so-tai-chinh"  # Sở Tài chính
QUESTION = ("em ten la nguyen thi hoa, chồng mình là anh Vàng A Sử, em Tòng Thị Xuân bản Nà "
            "Cang cũng muốn hỏi vay vốn nuôi lợn thế nào ạ")


async def test_department_pages_carry_no_name_of_an_anonymous_asker(app, staff_runtime):
    receipt = await ask(staff_runtime, "51", QUESTION)
    cid = await cluster_of(staff_runtime, receipt)
    staff = await logged_in(app, "lan", "staff", runtime=staff_runtime)
    token = await page_csrf(staff, "/cum")
    await staff.post("/cum/hang-loat", data={"csrf": token, "cum": [str(cid)],
                                             "viec": "forward", "so_chu_tri": DEPARTMENT,
                                             "han": "2027-07-20", "dot": "lai-chau-2027"})
    dept = await logged_in(app, "taichinh", "department", DEPARTMENT, runtime=staff_runtime)
    seen = ""
    for path in ("/so", f"/so/cum/{cid}"):
        response = await dept.get(path)
        assert response.status_code == 200, path
        seen += response.text
    assert "vay vốn nuôi lợn" in seen and "bản Nà" in seen  # her question is there, the place too
    for name in ("nguyen thi hoa", "Vàng A Sử", "Tòng Thị Xuân", "Xuân", "hoa,"):
        assert name not in seen, name
