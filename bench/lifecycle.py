"""Cost of the after-answer work (issue 16) on a dialogue of N clusters, each forwarded to a
lead and a co-operating department, half of them answered.

Figures (ms, best of 3): the reminder job's first pass (claims and queues every reminder due on
the deadline day) and a rerun (claims nothing), /quahan's overdue list, the per-department tally
(/thongke, the annex), the period report, gathering the export data, and writing the Excel and
Word files. Baselines, same run and database: building the daily digest (text, no chart), the
heaviest read staff already run daily; and writing the same exports without what issue 16 added.

Prints one JSON line. Usage: python bench/lifecycle.py [--clusters 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import json
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.config import load_config  # noqa: E402
from bot.digest import build_digest  # noqa: E402
from bot.exports import write_docx, write_xlsx  # noqa: E402
from bot.period import period_report  # noqa: E402
from bot.reminders import send_reminders  # noqa: E402
from bot.staff_tools import export_data  # noqa: E402
from handlers.locale import Locale  # noqa: E402
from storage import lifecycle as lc  # noqa: E402
from storage import queries as q  # noqa: E402
from storage.db import Database  # noqa: E402

START = dt.datetime(2026, 12, 1, 3, 0, tzinfo=dt.UTC)
DEADLINE_DAY = dt.datetime(2027, 7, 20, 1, 0, tzinfo=dt.UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> dt.datetime:
        return self.now


async def build(db: Database, settings, n: int) -> None:
    dialogue = settings.dialogue("lai-chau-2027")
    lead = settings.department("so-y-te")
    helper = settings.department("so-tai-chinh")
    async with db.transaction() as conn:
        user = await q.ensure_user(conn, "terminal", "bench", "bench", "Bench", now=START)
        for i in range(n):
            cid = await q.create_cluster(conn, dialogue.id, 1 + i % 6, now=START)
            receipt = await q.next_receipt(conn, dialogue.id, dialogue.code)
            await q.insert_question(conn, q.NewQuestion(
                dialogue_id=dialogue.id, user_id=user.id, channel="terminal", cluster_id=cid,
                filing=q.Filing(kind="member", commune="Xã Nậm Tăm", topic=1 + i % 6,
                                text=f"Câu hỏi số {i} về vay vốn", anonymous=True)),
                receipt, now=START)
            await lc.forward_cluster(
                conn, dialogue, cid, lc.Assignment(lead, dt.date(2027, 7, 20)),
                [lc.Assignment(helper, dt.date(2027, 7, 20))], by="bench", now=START,
                today=START.date())
            if i % 2:
                await lc.record_department_answer(conn, cid, lead.id, "Trả lời.", by="bench",
                                                  now=START + dt.timedelta(days=i % 300))


async def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - t0)
    return round(min(times) * 1000, 1)


async def main(n: int) -> dict:
    config = load_config(ROOT / "config.toml", environ={})
    settings = config.settings
    locale = Locale.load()
    dialogue = settings.dialogue("lai-chau-2027")
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp:
        db = await Database.open(Path(tmp) / "bench.db", clock)
        try:
            await build(db, settings, n)
            clock.now = DEADLINE_DAY
            today = DEADLINE_DAY.astimezone(settings.timezone).date()

            async def read(fn):
                async def run():
                    async with db.transaction() as conn:
                        await fn(conn)
                return run

            t0 = time.perf_counter()
            fired = await send_reminders(db, settings, locale, clock.now)
            first = round((time.perf_counter() - t0) * 1000, 1)
            rerun = await best(lambda: send_reminders(db, settings, locale, clock.now))

            async with db.transaction() as conn:
                data = await export_data(conn, settings, dialogue, today, locale)
            # The same export without what issue 16 added (forwards, receipts, department
            # sheets and annex): the second baseline.
            plain = replace(data, departments=(), clusters=tuple(
                replace(c, forwards=(), receipts=(), followup="", number=0)
                for c in data.clusters))

            async def write(fn, what):
                fn(what, io.BytesIO())

            out = {
                "bench": "lifecycle", "clusters": n, "forwards": 2 * n,
                "reminders_fired": fired, "reminders_first_pass_ms": first,
                "reminders_rerun_ms": rerun,
                "overdue_ms": await best(await read(
                    lambda c: lc.overdue(c, dialogue, today + dt.timedelta(days=7)))),
                "tally_ms": await best(await read(
                    lambda c: lc.department_tally(c, dialogue, today, settings.timezone))),
                "period_report_ms": await best(await read(
                    lambda c: period_report(c, settings, dt.date(2027, 1, 1), today))),
                "export_data_ms": await best(await read(
                    lambda c: export_data(c, settings, dialogue, today, locale))),
                "xlsx_ms": await best(lambda: write(write_xlsx, data)),
                "baseline_xlsx_without_lifecycle_ms": await best(lambda: write(write_xlsx, plain)),
                "docx_ms": await best(lambda: write(write_docx, data)),
                "baseline_docx_without_lifecycle_ms": await best(lambda: write(write_docx, plain)),
                "baseline_digest_ms": await best(await read(
                    lambda c: build_digest(c, settings, locale, clock.now, "",
                                           with_chart=False))),
            }
            return out
        finally:
            await db.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--clusters", type=int, default=2000)
    print(json.dumps(asyncio.run(main(parser.parse_args().clusters)), ensure_ascii=False))
