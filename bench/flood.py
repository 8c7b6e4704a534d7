"""A newcomer during a flood: how soon does a woman who writes during a burst of 1,000 senders get
her first reply, beside the same with no flood (same run, same limiter)?

The real PTB Application polls a fake Bot API in a separate process, with the production rate
limiter on (29.5 messages a second, bot/channels/fair_limiter.py): the flood is then limited by
Telegram's cap, as in production, not by the bot's CPU. 1,000 distinct senders each push three
messages at t=0; ten newcomers write /start at evenly spaced times during the flood. Her latency
is from the push to the moment the fake accepted the bot's first reply to her.

Prints one JSON line. Usage: python bench/flood.py [--senders 1000] [--newcomers 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
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

FLOOD = ("/start", "1", "nam tam")


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000, 1)


async def run_arm(name: str, senders: int, newcomers: int, spacing: float,
                  workdir: Path) -> dict:
    async with fake_bot_api(workdir, name) as client:
        config = load_config(ROOT / "config.toml", environ={})
        runtime = await open_runtime(config, workdir / f"{name}.db")
        channel = TelegramChannel(runtime, token="123456:TEST", base_url=client.base_url)
        first_reply: dict[str, float] = {}
        replies: dict[str, int] = {}
        send_replies = channel.send_replies

        async def timed(chat_id, batch):
            await send_replies(chat_id, batch)
            key = str(chat_id)
            first_reply.setdefault(key, time.perf_counter())
            replies[key] = replies.get(key, 0) + 1

        channel.send_replies = timed  # type: ignore[method-assign]
        await channel.start(poll_timeout=1)
        started = time.perf_counter()
        if senders:
            specs = [{"chat_id": 20_000 + m, "text": line} for line in FLOOD
                     for m in range(senders)]
            await client.apush_messages(specs)
            log(f"{name}: {len(specs)} messages from {senders} senders pushed")
        pushed: dict[str, float] = {}
        for i in range(newcomers):
            await asyncio.sleep(max(0.0, started + (i + 1) * spacing - time.perf_counter()))
            chat = 90_000 + i
            pushed[str(chat)] = time.perf_counter()
            await client.apush_message(chat, "/start")
        deadline = time.perf_counter() + 300
        while time.perf_counter() < deadline and not all(c in first_reply for c in pushed):
            await asyncio.sleep(0.05)
        flood_chats = [str(20_000 + m) for m in range(senders)]
        while time.perf_counter() < deadline and any(
                replies.get(c, 0) < len(FLOOD) for c in flood_chats):
            await asyncio.sleep(0.25)
        drained = time.perf_counter() - started
        await channel.stop()
        await runtime.close()
        latencies = [first_reply[c] - t for c, t in pushed.items() if c in first_reply]
        return {
            "senders": senders,
            "flood_messages": senders * len(FLOOD),
            "newcomers": newcomers,
            "newcomer_first_reply_p50_ms": percentile(latencies, 0.5),
            "newcomer_first_reply_p95_ms": percentile(latencies, 0.95),
            "newcomers_unanswered": newcomers - len(latencies),
            "flood_drained_s": round(drained, 1) if senders else None,
            "flood_senders_short_of_replies": sum(replies.get(c, 0) < len(FLOOD)
                                                  for c in flood_chats),
        }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--senders", type=int, default=1000)
    parser.add_argument("--newcomers", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        flood = await run_arm("flood", args.senders, args.newcomers, 3.0, workdir)
        quiet = await run_arm("quiet", 0, args.newcomers, 0.5, workdir)
    ratio = None
    if flood["newcomer_first_reply_p95_ms"] and quiet["newcomer_first_reply_p95_ms"]:
        ratio = round(flood["newcomer_first_reply_p95_ms"] / quiet["newcomer_first_reply_p95_ms"],
                      1)
    print(json.dumps({"bench": "flood", "flood": flood, "no_flood_baseline": quiet,
                      "p95_ratio_flood_to_quiet": ratio}, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
