"""Server time of the console's pages on a big round beside a small one, same run.

Two fresh databases: 10,000 clusters / 100,000 questions (sizes skewed: a few big clusters, many
of one or two; forwarded clusters have their forwards, one in five past its deadline) and 100
clusters / 1,000 questions. Each page is requested `--rounds` times
in-process (httpx over ASGI, a logged-in staff session: the real middleware, session check,
SQL and template rendering; no network) and timed from request to last byte.

Pages: the queue (first page, a later page, a topic filter, a search without diacritics), the
dashboard, and a cluster's page (the biggest cluster and random ones). `queue_after_change` and
`dashboard_after_change` file a new question in a random cluster before every request (a busy
day): the counts the pages show must already include it. Target: p95 ≤ 200 ms.

Prints one JSON line. Usage: python bench/console.py [--clusters 10000] [--questions 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402

from bot.config import load_config  # noqa: E402
from bot.runtime import open_runtime  # noqa: E402
from bot.web.app import create_app  # noqa: E402
from bot.web.auth import Passwords  # noqa: E402
from storage import console as store  # noqa: E402

DIALOGUE = "lai-chau-2027"
NOW = "2026-12-01T03:00:00+00:00"
PHRASES = ("vay vốn chăn nuôi bò sinh sản nước sạch suối cạn rác thải bạo lực gia đình học nghề "
           "may mặc trạm y tế thuốc mang thai chuyển đổi số điện thoại thông minh đường bản "
           "lở đất bảo hiểm y tế hộ nghèo trồng chè ngân hàng chính sách")
WORDS = PHRASES.split()
STATUSES = ("moi", "da_duyet", "da_chuyen", "da_tra_loi", "khong_phu_hop")
DEPARTMENTS = (("so-tai-chinh", "Sở Tài chính"), ("so-y-te", "Sở Y tế"),
               ("so-noi-vu", "Sở Nội vụ"), ("so-nn-mt", "Sở Nông nghiệp và Môi trường"))


def _sizes(clusters: int, questions: int, rng: random.Random) -> list[int]:
    """Cluster sizes summing to `questions`: Zipf-like, every cluster at least one."""
    weights = [1 / (i + 1) ** 0.8 for i in range(clusters)]
    rng.shuffle(weights)
    total = sum(weights)
    sizes = [max(1, int(w / total * questions)) for w in weights]
    i = 0
    while sum(sizes) < questions:
        sizes[i % clusters] += 1
        i += 1
    return sizes


async def fill(runtime, clusters: int, questions: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    communes = [f"Xã Bản {i}" for i in range(60)]
    async with runtime.db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO users (id, channel, external_id, chat_id, display_name, consent_at, "
            "created_at) VALUES (?, 'telegram', ?, ?, ?, ?, ?)",
            [(u, str(u), str(u), f"Chị {u}", NOW, NOW) for u in range(1, questions // 4 + 1)])
        cluster_rows, question_rows, forward_rows, qid = [], [], [], 0
        for cid, size in enumerate(_sizes(clusters, questions, rng), 1):
            status = rng.choice(STATUSES)
            forwarded = status in ("da_chuyen", "da_tra_loi")
            # A forward's deadline: one in five already past (late unless answered).
            deadline = rng.choice(("2026-11-20",) + ("2027-07-20",) * 4)
            lead, partner = rng.sample(DEPARTMENTS, 2)
            topic = rng.randint(1, 7)
            cluster_rows.append((cid, DIALOGUE, topic, status,
                                 int(rng.random() < 0.01), lead[1] if forwarded else None,
                                 deadline if forwarded else None, NOW))
            if forwarded:
                answered = NOW if status == "da_tra_loi" else None
                forward_rows.append((cid, *lead, "lead", deadline, answered))
                if rng.random() < 0.3:
                    forward_rows.append((cid, *partner, "cooperating", deadline, None))
            for _ in range(size):
                qid += 1
                kind = rng.choices(("member", "support", "relay"), (6, 3, 1))[0]
                text = "" if kind == "support" else " ".join(rng.choices(WORDS, k=14))
                user = rng.randint(1, questions // 4)
                question_rows.append((qid, DIALOGUE, f"LC27-{qid:06d}", user, kind,
                                      rng.choice(communes), topic, text,
                                      rng.randint(2, 30) if kind == "relay" else 1, cid, NOW))
        await conn.executemany(
            "INSERT INTO clusters (id, dialogue_id, topic, status, urgent, department, deadline, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", cluster_rows)
        await conn.executemany(
            "INSERT INTO forwards (cluster_id, department_id, department_name, role, deadline, "
            "forwarded_at, forwarded_by, answer, answered_at, answered_by) "
            "VALUES (?, ?, ?, ?, ?, '2026-11-15T03:00:00+00:00', 'bench', "
            "CASE WHEN ?6 IS NOT NULL THEN 'Trả lời.' END, ?6, "
            "CASE WHEN ?6 IS NOT NULL THEN 'bench' END)", forward_rows)
        await conn.executemany(
            "INSERT INTO questions (id, dialogue_id, receipt, user_id, channel, kind, commune, "
            "topic, text, represented, cluster_id, created_at) "
            "VALUES (?, ?, ?, ?, 'telegram', ?, ?, ?, ?, ?, ?, ?)", question_rows)
    await runtime.db.conn.execute("ANALYZE")


async def _new_question(conn, qid: int, cluster_id: int, rng: random.Random) -> None:
    """A member's question filed into a cluster (the filing flow's row, without its replies)."""
    await conn.execute(
        "INSERT INTO questions (id, dialogue_id, receipt, user_id, channel, kind, commune, "
        "topic, text, represented, cluster_id, created_at) SELECT ?, ?, ?, NULL, 'telegram', "
        "'member', ?, topic, ?, 1, id, ? FROM clusters WHERE id = ?",
        (qid, DIALOGUE, f"LC27-{qid:06d}", f"Xã Bản {rng.randint(0, 59)}",
         " ".join(rng.choices(WORDS, k=14)), NOW, cluster_id))


async def measure(config, folder: Path, clusters: int, questions: int, rounds: int,
                  rng: random.Random) -> dict:
    runtime = await open_runtime(config, folder / f"bench-{clusters}.db")
    try:
        t0 = time.perf_counter()
        await fill(runtime, clusters, questions)
        print(f"filled {clusters} clusters / {questions} questions in "
              f"{time.perf_counter() - t0:.1f}s", file=sys.stderr)
        cheap = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        async with runtime.db.transaction() as conn:
            await store.create_account(conn, "bench", cheap.hash("bench-password"), "staff",
                                       None, now=runtime.services.clock())
        app = create_app(runtime, cheap)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://bench") as http:
            form = await http.get("/login")
            token = form.text.split('name="csrf" value="')[1].split('"')[0]
            await http.post("/login", data={"login": "bench", "password": "bench-password",
                                            "csrf": token})
            async with runtime.db.transaction() as conn:
                biggest = (await conn.execute_fetchall(
                    "SELECT cluster_id FROM questions GROUP BY cluster_id "
                    "ORDER BY COUNT(*) DESC LIMIT 1"))[0][0]
            pages = {
                "queue": lambda: "/cum",
                "queue_page_5": lambda: "/cum?trang=5" if clusters > 250 else "/cum?trang=2",
                "queue_topic_status": lambda: "/cum?chu_de=2&trang_thai=da_chuyen",
                "queue_search": lambda: "/cum?tim=" + rng.choice(("nuoc sach", "vay von bo",
                                                                  "tram y te", "lo dat")),
                "dashboard": lambda: "/",
                "cluster_biggest": lambda: f"/cum/{biggest}",
                "cluster_random": lambda: f"/cum/{rng.randint(1, clusters)}",
            }
            # "…_after_change": a question arrived just before each request: the cost on a busy
            # day (before migration 0010 the console counted every question again).
            pages["queue_after_change"] = pages["queue"]
            pages["dashboard_after_change"] = pages["dashboard"]
            out = {}
            next_id = questions + 1
            for name, path in pages.items():
                times = []
                for _ in range(rounds):
                    if name.endswith("_after_change"):
                        async with runtime.db.transaction() as conn:
                            await _new_question(conn, next_id, rng.randint(1, clusters), rng)
                        next_id += 1
                    started = time.perf_counter()
                    response = await http.get(path())
                    times.append((time.perf_counter() - started) * 1000)
                    assert response.status_code == 200, (name, response.status_code)
                times.sort()
                out[name] = {"p50_ms": round(statistics.median(times), 1),
                             "p95_ms": round(times[max(0, int(len(times) * 0.95) - 1)], 1)}
            return out
    finally:
        await runtime.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clusters", type=int, default=10_000)
    parser.add_argument("--questions", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args()
    config = load_config(ROOT / "config.toml", environ={})
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as folder:
        small = await measure(config, Path(folder), 100, 1_000, args.rounds, rng)
        big = await measure(config, Path(folder), args.clusters, args.questions, args.rounds,
                            rng)
    print(json.dumps({"bench": "console", "clusters": args.clusters,
                      "questions": args.questions, "rounds": args.rounds, "target_p95_ms": 200,
                      "pages": big, "baseline_100_clusters": small}, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
