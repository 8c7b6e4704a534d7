"""What one message costs the bot, database bookkeeping included, with no network: the
dispatcher alone, one message after another (so each trip to the database thread is waited
for, as it is inside the transaction every other message waits behind).

Arms, interleaved in rounds in the same run: `two_trips` (storage.message: BEGIN + delivery
claim + user + conversation in one trip, save + COMMIT in another) and the baseline
`one_trip_per_statement` (each of those six statements its own trip, as before). Each message
is `/help` from one of 500 returning members (no flood limit reached, no text screening).

Prints one JSON line. Usage: python bench/message_trips.py [--rounds 6] [--messages 500]
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

from bench.throughput import one_trip_per_statement  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.runtime import open_runtime  # noqa: E402
from handlers.types import Incoming  # noqa: E402


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--messages", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        runtime = await open_runtime(load_config(ROOT / "config.toml", environ={}),
                                     Path(tmp) / "trips.db")
        dispatcher = runtime.dispatcher
        arms = {"two_trips": dispatcher._handle,
                "one_trip_per_statement": one_trip_per_statement.__get__(dispatcher)}
        timings: dict[str, list[float]] = {name: [] for name in arms}
        sent = 0
        for round_ in range(args.rounds + 1):  # round 0 warms up and is not counted
            for name, handle in arms.items():
                dispatcher._handle = handle
                started = time.perf_counter()
                for i in range(args.messages):
                    sent += 1
                    await dispatcher.handle(Incoming(
                        channel="telegram", chat_id=str(i), user_id=str(i), text="/help",
                        update_key=str(sent), bot="bench"))
                if round_:
                    timings[name].append((time.perf_counter() - started) / args.messages)
        await runtime.close()
    medians = {name: sorted(t)[len(t) // 2] * 1e6 for name, t in timings.items()}
    print(json.dumps({
        "bench": "message_trips", "messages_per_round": args.messages, "rounds": args.rounds,
        "two_trips_us": round(medians["two_trips"]),
        "one_trip_per_statement_us": round(medians["one_trip_per_statement"]),
        "speedup": round(medians["one_trip_per_statement"] / medians["two_trips"], 2),
    }))


if __name__ == "__main__":
    asyncio.run(main())
