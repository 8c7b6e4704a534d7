"""`python -m bot report`: the period report from the command line, with its chart."""

from __future__ import annotations

import asyncio
import datetime as dt

from bot.runtime import open_runtime
from storage import lifecycle as lc
from storage import queries as q
from tests.conftest import ROOT, Clock

NOW = dt.datetime(2027, 7, 1, 3, 0, tzinfo=dt.UTC)


def test_report_prints_the_figures_and_writes_a_chart(tmp_path, cli, config):
    db = tmp_path / "cli.db"

    async def seed() -> None:
        rt = await open_runtime(config, db, clock=Clock(NOW))
        try:
            s = config.settings
            dialogue = s.dialogue("lai-chau-2027")
            async with rt.db.transaction() as conn:
                cid = await q.create_cluster(conn, dialogue.id, 1, now=NOW)
                await lc.forward_cluster(
                    conn, dialogue, cid, lc.Assignment(s.department("so-y-te"),
                                                       dt.date(2027, 7, 20)),
                    by="telegram:900", now=NOW, today=NOW.date())
                await lc.record_department_answer(conn, cid, "so-y-te", "Đã trả lời.",
                                                  by="console:yte",
                                                  now=NOW + dt.timedelta(days=3))
        finally:
            await rt.close()

    asyncio.run(seed())
    chart = tmp_path / "bao-cao.png"
    result = cli("report", "--config", str(ROOT / "config.toml"), "--db", str(db),
                 "--from", "01/01/2027", "--to", "2027-12-31", "--chart", str(chart))
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Từ ngày 01/01/2027 đến ngày 31/12/2027" in out
    assert "• Sở Y tế: 1 · 1 · 0 · 100% · 3 ngày · 0 (0 quá hạn)" in out
    assert chart.read_bytes()[:4] == b"\x89PNG"
