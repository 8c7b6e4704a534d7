"""Issue 16, the console path: a bulk forward from the web console tells each asker, supporter
and relaying leader once, in her own channel, which lead department and by when; a second
identical forward, after a restart, tells nobody again."""

from __future__ import annotations

from bot.runtime import open_runtime
from bot.web.app import create_app
from tests.fakes.staff_round import (
    LOAN,
    LOAN_TYPED,
    WATER,
    ask,
    cluster_of,
    notices,
    relay,
    staff,
    support,
)
from tests.web.conftest import CHEAP, client, log_in, logged_in, page_csrf

FINANCE = "so-tai-chinh"  # Sở Tài chính


async def forward(http, cluster: int, deadline: str) -> str:
    token = await page_csrf(http)
    response = await http.post("/cum/hang-loat", data={
        "csrf": token, "dot": "lai-chau-2027", "cum": str(cluster), "viec": "forward",
        "so_chu_tri": FINANCE, "han": deadline, "so_phoi_hop": "so-noi-vu"})
    assert response.status_code == 303
    return response.headers["location"]


async def test_console_forward_tells_each_person_once_across_a_restart(
        staff_config, clock, tmp_path):
    path = tmp_path / "staff.db"
    runtime = await open_runtime(staff_config, path, clock=clock)
    try:
        cluster = await cluster_of(runtime, await ask(runtime, "21", LOAN))
        await support(runtime, "22", LOAN_TYPED)
        relayed = await relay(runtime, WATER)
        await staff(runtime).send(f"/gop {await cluster_of(runtime, relayed)} {cluster}")
        http = await logged_in(create_app(runtime, CHEAP), "lan", "staff", runtime=runtime)
        assert "ok=forwarded" in await forward(http, cluster, "2027-07-20")
        for chat in ("21", "22", "chi-hoi"):
            [text] = await notices(runtime, chat)
            assert "tới Sở Tài chính; hạn trả lời: 20/07/2027" in text
        # A refused forward (deadline after the dialogue) is rolled back and tells nobody.
        assert "ok=bad_deadline" in await forward(http, cluster, "2027-08-30")
        assert len(await notices(runtime, "21")) == 1
    finally:
        await runtime.close()

    again = await open_runtime(staff_config, path, clock=clock)
    try:
        http = client(create_app(again, CHEAP))
        assert (await log_in(http, "lan")).status_code == 303
        assert "ok=forwarded" in await forward(http, cluster, "2027-07-20")
        for chat in ("21", "22", "chi-hoi"):
            assert len(await notices(again, chat)) == 1
    finally:
        await again.close()
