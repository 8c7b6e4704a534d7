"""Throughput of the whole Telegram path: N members complete the flow concurrently.

The real PTB Application polls a fake Bot API running in a separate process (so the two share
the 2 cores as a bot and Telegram would not share one). Every member types the whole flow
(/start, consent, commune by name, topic, question, anonymity, Gửi); all updates are queued up
front, interleaved across members, and the run ends when every member has her receipt.

The same run with sequential update processing (each update of a batch awaited before the
next, as PTB's concurrent_updates=False does) is the baseline. The AIORateLimiter is off here:
it would cap the bot at Telegram's 30 msg/s and hide the bot's own capacity, which is what this
measures.

Prints one JSON line. Usage: python bench/throughput.py [--members 1000] [--baseline-members 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._fake import fake_bot_api  # noqa: E402
from bot.channels.telegram import TelegramChannel  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.runtime import open_runtime  # noqa: E402

SCRIPT = ("/start", "1", "nam tam", "1",
          "Chị em trong bản muốn vay vốn ưu đãi để chăn nuôi, xin hỏi thủ tục thế nào ạ?",
          "2", "1")


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


async def run_once(members: int, concurrent: bool, workdir: Path) -> dict:
    async with fake_bot_api(workdir, f"throughput-{concurrent}") as client:
        config = load_config(ROOT / "config.toml", environ={})
        runtime = await open_runtime(config, workdir / f"bench-{concurrent}.db")
        channel = TelegramChannel(runtime, token="123456:TEST", base_url=client.base_url,
                                  rate_limit=False,
                                  concurrent_updates=256 if concurrent else False)
        latencies: list[float] = []
        handle = runtime.dispatcher.handle

        async def timed(incoming, deliver=None):
            start = time.perf_counter()
            try:
                return await handle(incoming, deliver)
            finally:
                latencies.append(time.perf_counter() - start)

        runtime.dispatcher.handle = timed  # type: ignore[method-assign]
        specs = [{"chat_id": 10_000 + m, "text": line}
                 for line in SCRIPT for m in range(members)]
        await client.apush_messages(specs)
        total = len(specs)
        log(f"{'concurrent' if concurrent else 'sequential'}: {members} members, "
            f"{total} updates queued")
        started = time.perf_counter()
        await channel.start(poll_timeout=1)
        deadline = started + 600
        stored = 0
        while time.perf_counter() < deadline:
            await asyncio.sleep(0.25)
            if len(latencies) >= total:
                async with runtime.db.transaction() as conn:
                    (stored,) = await (await conn.execute(
                        "SELECT COUNT(*) FROM questions")).fetchone()
                if stored >= members:
                    break
        elapsed = time.perf_counter() - started
        await channel.stop()
        async with runtime.db.transaction() as conn:
            (stored,) = await (await conn.execute("SELECT COUNT(*) FROM questions")).fetchone()
        await runtime.close()
        latencies.sort()
        return {
            "members": members,
            "updates": total,
            "processed": len(latencies),
            "seconds": round(elapsed, 2),
            "updates_per_s": round(len(latencies) / elapsed, 1),
            "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2) if latencies else None,
            "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 2)
            if latencies else None,
            "lost": members - stored,
        }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--baseline-members", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        result = await run_once(args.members, True, workdir)
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        baseline = await run_once(args.baseline_members, False, workdir)
    print(json.dumps({
        "bench": "throughput",
        "cores": os.cpu_count(),
        "concurrent": result,
        "sequential_baseline": baseline,
        "speedup": round(result["updates_per_s"] / baseline["updates_per_s"], 1),
        "peak_rss_mb": round(peak_rss, 1),
        "target_updates_per_s": 500,
    }, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
