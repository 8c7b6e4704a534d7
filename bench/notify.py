"""Telling every asker that her question has an answer, within Telegram's flood limits.

A fake Bot API in a separate process enforces Telegram's limits (30 msg/s overall, 1 msg/s per
chat, sliding one-second windows) and answers 429 with retry_after when a send exceeds them.
One "answer" notification per asker is queued in a fresh database, as
`handlers.answers.tell_answer` queues them, and the production path drains it: TelegramChannel
with PTB's AIORateLimiter, its OutboxWorker marking rows sent. A run ends when every row is sent
or failed for good, or at the deadline.

Figures: achieved msg/s over the steady period (the middle 90 % of deliveries, so start-up and
the last stragglers do not blur the rate), its share of the 30 msg/s cap, 429s counted by the
fake, duplicates (a message the fake accepted more than once) and lost (rows not delivered or
not marked sent).

Baseline, same run: naive sending of a smaller sample, `bot.send_message` as fast as possible
(32 in flight, no limiter, no retry: a 429 is a lost message), on its own fresh fake. It is over
in a few one-second windows, so its msg/s is per whole window touched (its plain average, which
the last partial window lifts above the cap, is msg_per_s_overall).

`--proposed KIND` adds a run with a rate limiter this bench argues for, prototyped by swapping
the channel's limiter (see `proposed`), so before and after sit in one JSON line. The production
run is the code as it is: this file changes nothing in `bot/`. `--leaders N` sends every tenth
notification to one of N commune leaders who relayed those questions, so some chats get several
(`who_should_know_the_answer` includes them); Telegram allows one message per second per chat.

Prints one JSON line. Usage:
    python bench/notify.py [--askers 10000] [--baseline-askers 1500] [--proposed window]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from telegram import constants  # noqa: E402
from telegram.error import RetryAfter, TelegramError  # noqa: E402
from telegram.ext import AIORateLimiter  # noqa: E402

from bench._fake import fake_bot_api  # noqa: E402
from bot.channels.telegram import TelegramChannel  # noqa: E402
from bot.config import load_config  # noqa: E402
from bot.runtime import Runtime, open_runtime  # noqa: E402
from storage import queries as q  # noqa: E402

SEED = 20260514
CAP = float(constants.FloodLimit.MESSAGES_PER_SECOND)  # the fake enforces the same 30/s
TOKEN = "123456:TEST"
FIRST_CHAT = 500_000_000
STEADY = (0.05, 0.95)  # share of deliveries bounding the steady period
RELAYED_EVERY = 10  # with --leaders: every tenth question was relayed by a commune leader

AGENCIES = (
    "Ngân hàng Chính sách xã hội huyện",
    "Phòng Lao động - Thương binh và Xã hội huyện",
    "UBND xã",
    "Trạm Y tế xã",
    "Phòng Nông nghiệp và Phát triển nông thôn",
    "Bảo hiểm xã hội huyện",
)
ANSWERS = (
    "Hộ nghèo, hộ cận nghèo được vay tối đa 100 triệu đồng, lãi suất ưu đãi, không cần thế chấp "
    "với khoản vay dưới 100 triệu. Chị liên hệ Tổ tiết kiệm và vay vốn ở thôn để làm hồ sơ.",
    "Chị mang sổ hộ khẩu và căn cước công dân đến Trạm Y tế xã vào sáng thứ Hai hoặc thứ Tư để "
    "được tiêm phòng miễn phí cho cháu.",
    "Lớp học nghề may công nghiệp khai giảng tháng sau tại trung tâm huyện, học viên được hỗ trợ "
    "tiền ăn và đi lại. Chị đăng ký với cán bộ Hội phụ nữ xã trước ngày 20.",
    "Về đất sản xuất, UBND xã sẽ cử cán bộ địa chính xuống đo đạc lại trong quý này; chị giữ "
    "nguyên giấy tờ cũ và có mặt khi đoàn đến.",
    "Bảo hiểm y tế hộ cận nghèo được Nhà nước hỗ trợ 70 % mức đóng. Chị làm thủ tục tại bưu "
    "điện xã hoặc qua cán bộ thu ở thôn.",
)
DIALOGUES = ("LC27", "LC26", "SP27")

Message = tuple[str, str]  # (chat_id, text); each text carries its own receipt code
Patch = Callable[[TelegramChannel], None]


@dataclass(frozen=True)
class Scenario:
    askers: int
    leaders: int = 0  # commune leaders sharing every tenth notification
    rtt: float = 0.0  # simulated round trip to the Bot API, seconds
    jitter: float = 0.0  # mean exponential extra delay on each leg, seconds

    def apply_network(self, channel: TelegramChannel) -> None:
        if self.rtt or self.jitter:
            simulate_network(channel, self.rtt, self.jitter, SEED)


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


# -- the fake Bot API in its own process --------------------------------------------------------


# -- the queue ----------------------------------------------------------------------------------


def recipient(i: int, leaders: int) -> str:
    if leaders and i % RELAYED_EVERY == 0:
        return str(FIRST_CHAT - 1 - (i // RELAYED_EVERY) % leaders)
    return str(FIRST_CHAT + i)


async def fill_outbox(runtime: Runtime, askers: int, leaders: int = 0) -> set[Message]:
    """One answer notification per question, as `tell_answer` queues them (one asker each)."""
    rng = random.Random(SEED)
    expected: set[Message] = set()
    locale = runtime.services.locale
    async with runtime.db.transaction() as conn:
        for i in range(askers):
            chat_id = recipient(i, leaders)
            cluster = 1 + i // 40  # ~40 askers and supporters per answered cluster
            receipt = f"{rng.choice(DIALOGUES)}-{i + 1:06d}"
            text = locale.t("notify.answer", receipt=receipt, agency=rng.choice(AGENCIES),
                            answer=rng.choice(ANSWERS))
            queued = await q.enqueue(conn, "telegram", chat_id, text, purpose="answer",
                                     dedupe_key=f"answer:{cluster}:{i + 1}", now=runtime.db.clock())
            assert queued, "dedupe keys are unique per question"
            expected.add((chat_id, text))
    return expected


async def outbox_state(runtime: Runtime) -> dict[str, int]:
    async with runtime.db.transaction() as conn:
        cur = await conn.execute(
            """
            SELECT COUNT(*) FILTER (WHERE sent_at IS NOT NULL),
                   COUNT(*) FILTER (WHERE failed_at IS NOT NULL),
                   COUNT(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL),
                   COALESCE(SUM(attempts), 0)
            FROM outbox
            """)
        sent, failed, pending, retries = await cur.fetchone()
    return {"sent": sent, "failed": failed, "pending": pending, "retries": retries}


async def marked_sent(runtime: Runtime) -> set[Message]:
    async with runtime.db.transaction() as conn:
        cur = await conn.execute("SELECT chat_id, text FROM outbox WHERE sent_at IS NOT NULL")
        return {(row[0], row[1]) for row in await cur.fetchall()}


# -- figures ------------------------------------------------------------------------------------


def steady_rate(stamps: list[float]) -> float:
    """Deliveries per second between the 5 % and 95 % marks: the rate a long run settles at."""
    if len(stamps) < 20:
        return 0.0
    stamps = sorted(stamps)
    lo, hi = (int(len(stamps) * share) for share in STEADY)
    span = stamps[hi] - stamps[lo]
    return (hi - lo) / span if span > 0 else 0.0


def tally(expected: set[Message], accepted: list[dict[str, Any]],
          marked: set[Message]) -> dict[str, int]:
    """Duplicates and lost, from what the fake accepted and what the database says was sent."""
    got = Counter((str(m["chat_id"]), m["text"]) for m in accepted if not m.get("edited"))
    not_delivered = sum(1 for message in expected if got[message] == 0)
    return {
        "duplicates": sum(n - 1 for n in got.values() if n > 1),
        "lost": sum(1 for message in expected if got[message] == 0 or message not in marked),
        "not_delivered": not_delivered,
        "not_marked_sent": len(expected - marked),
        "unexpected": sum(1 for message in got if message not in expected),  # wrong chat/text
    }


def burst_rate(stamps: list[float], seconds: float) -> float:
    """A burst that ends mid-window has still spent that window's allowance: count whole ones."""
    return len(stamps) / math.ceil(seconds) if seconds else 0.0


def figures(askers: int, stamps: list[float], seconds: float, stats: dict[str, Any],
            counts: dict[str, int], steady: bool = True) -> dict[str, Any]:
    overall = len(stamps) / seconds if seconds else 0.0
    # Under ten seconds there is no steady period to speak of, only a few windows.
    rate = steady_rate(stamps) if steady and seconds >= 10 else burst_rate(stamps, seconds)
    return {
        "askers": askers,
        "delivered": len(stamps),
        "msg_per_s": round(rate, 2),
        "share_of_cap": round(rate / CAP, 3),
        "msg_per_s_overall": round(overall, 2),
        "rate_limited_429": stats["rate_limited"],
        **counts,
        "seconds": round(seconds, 1),
    }


# -- production path ----------------------------------------------------------------------------


async def run_production(scenario: Scenario, workdir: Path, name: str, deadline_s: float,
                         patch: Patch | None = None,
                         limiter: str = "production: bot/channels/telegram/") -> dict[str, Any]:
    """TelegramChannel + its rate limiter + OutboxWorker, as the bot runs them, until all sent."""
    async with fake_bot_api(workdir, name, limits=True) as client:
        config = load_config(ROOT / "config.toml", environ={})
        runtime = await open_runtime(config, workdir / f"{name}.db")
        try:
            expected = await fill_outbox(runtime, scenario.askers, scenario.leaders)
            channel = TelegramChannel(runtime, token=TOKEN, base_url=client.base_url,
                                      rate_limit=True)
            if patch is not None:
                patch(channel)
            scenario.apply_network(channel)
            await channel.app.initialize()
            stamps = time_deliveries(channel)
            log(f"{name}: {scenario.askers} notifications queued, draining")
            started = time.perf_counter()
            worker = asyncio.create_task(channel.outbox.run(), name=f"{name}-outbox")
            state = await wait_drained(runtime, started + deadline_s, name)
            seconds = (max(stamps) if stamps else time.perf_counter()) - started
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            await channel.app.shutdown()
            counts = tally(expected, await client.asent(), await marked_sent(runtime))
            result = figures(scenario.askers, stamps, seconds, await client.astats(), counts)
            return result | {"retried_rows": state["retries"], "failed_rows": state["failed"],
                             "limiter": limiter, "concurrency": channel.outbox.concurrency}
        finally:
            await runtime.close()


def time_deliveries(channel: TelegramChannel) -> list[float]:
    """Wrap the outbox's sender to stamp each accepted send; the sending itself is untouched."""
    stamps: list[float] = []
    send: Callable[[str, str], Awaitable[None]] = channel.outbox.send

    async def timed(chat_id: str, text: str) -> None:
        await send(chat_id, text)
        stamps.append(time.perf_counter())

    channel.outbox.send = timed
    return stamps


async def wait_drained(runtime: Runtime, deadline: float, name: str) -> dict[str, int]:
    last_report = time.perf_counter()
    while True:
        state = await outbox_state(runtime)
        now = time.perf_counter()
        if state["pending"] == 0 or now > deadline:
            return state
        if now - last_report >= 15:
            log(f"{name}: {state}")
            last_report = now
        await asyncio.sleep(0.5)


# -- baseline: naive sending --------------------------------------------------------------------


async def run_baseline(scenario: Scenario, workdir: Path, in_flight: int = 32) -> dict[str, Any]:
    """The same rows fired with plain send_message, no limiter, no retry: a 429 is lost."""
    async with fake_bot_api(workdir, "baseline", limits=True) as client:
        config = load_config(ROOT / "config.toml", environ={})
        runtime = await open_runtime(config, workdir / "baseline.db")
        try:
            expected = await fill_outbox(runtime, scenario.askers, scenario.leaders)
            async with runtime.db.transaction() as conn:
                rows = await q.claim_outbox(conn, "telegram", "baseline", scenario.askers,
                                            now=runtime.db.clock())
            channel = TelegramChannel(runtime, token=TOKEN, base_url=client.base_url,
                                      rate_limit=False)
            scenario.apply_network(channel)
            await channel.app.initialize()
            gate = asyncio.Semaphore(in_flight)
            stamps: list[float] = []
            refused = Counter[str]()

            async def fire(row: q.OutboxMessage) -> None:
                async with gate:
                    try:
                        await channel.app.bot.send_message(row.chat_id, row.text)
                    except RetryAfter:
                        refused["429"] += 1
                        return
                    except TelegramError as exc:
                        refused[type(exc).__name__] += 1
                        return
                    stamps.append(time.perf_counter())
                    async with runtime.db.transaction() as conn:
                        await q.mark_outbox_sent(conn, row.id, "baseline", now=runtime.db.clock())

            log(f"baseline: {scenario.askers} notifications queued, "
                f"firing {in_flight} at a time")
            started = time.perf_counter()
            await asyncio.gather(*(fire(row) for row in rows))
            seconds = time.perf_counter() - started
            await channel.app.shutdown()
            counts = tally(expected, await client.asent(), await marked_sent(runtime))
            result = figures(scenario.askers, stamps, seconds, await client.astats(), counts,
                             steady=False)
            return result | {"errors": dict(refused), "in_flight": in_flight}
        finally:
            await runtime.close()


# -- the proposed limiter, prototyped -----------------------------------------------------------


class SlidingWindow:
    """At most `limit` messages in any `period` seconds, as the server stamps them.

    Telegram (and the fake) count accepted messages in a sliding one-second window. aiolimiter's
    leaky bucket, inside AIORateLimiter, lets a burst of 30 through and then keeps sending at
    30/s, which puts up to 60 into one window: the 31st send gets a 429 and AIORateLimiter halts
    every send for retry_after + 0.1 s, after which the drained bucket bursts again.

    Here each send holds one of `limit` slots until `period` after its answer arrived, less most
    of the shortest round trip seen. The server stamped the request after it had travelled out
    and before the answer travelled back, so two sends on one slot still land `period` apart
    however much the network or either process stalls; the credit keeps a slow link from
    costing a whole round trip per slot.
    """

    CREDIT = 0.9  # of the shortest round trip: its two legs are not exactly known

    def __init__(self, limit: int, period: float = 1.0) -> None:
        self.period = period
        self._slots = asyncio.Semaphore(limit)
        self._sent_at: dict[asyncio.Task[Any] | None, float] = {}
        self._held = 0
        self._min_rtt = float("inf")

    @property
    def idle(self) -> bool:
        return self._held == 0

    async def __aenter__(self) -> None:
        await self._slots.acquire()
        self._held += 1
        # One request per task at a time: the task says which send is answered in __aexit__.
        self._sent_at[asyncio.current_task()] = asyncio.get_running_loop().time()

    async def __aexit__(self, *exc_info: object) -> None:
        # Also after a 429 or a network error: the server may have counted the request.
        loop = asyncio.get_running_loop()
        self._min_rtt = min(self._min_rtt,
                            loop.time() - self._sent_at.pop(asyncio.current_task()))
        loop.call_later(max(0.0, self.period - self.CREDIT * self._min_rtt), self._release)

    def _release(self) -> None:
        self._held -= 1
        self._slots.release()


class WindowedRateLimiter(AIORateLimiter):
    """AIORateLimiter (group limits, RetryAfter retries) with sliding windows: 30 messages in
    any second overall, and one a second to each private chat, waited for before taking an
    overall slot: a 429 for one chat would make AIORateLimiter halt the sends to every chat."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._base_limiter = SlidingWindow(  # type: ignore[assignment]
            constants.FloodLimit.MESSAGES_PER_SECOND)
        self._chats: dict[int, SlidingWindow] = {}

    async def process_request(self, callback: Any, args: Any, kwargs: dict[str, Any],
                              endpoint: str, data: dict[str, Any],
                              rate_limit_args: int | None) -> Any:
        chat_id = _private_chat(data.get("chat_id"))
        if chat_id is None:
            return await super().process_request(callback, args, kwargs, endpoint, data,
                                                 rate_limit_args)
        window = self._chats.get(chat_id)
        if window is None:
            if len(self._chats) >= 1024:  # a broadcast to 10,000 must not keep 10,000 windows
                for idle in [c for c, w in self._chats.items() if w.idle]:
                    del self._chats[idle]
            window = self._chats[chat_id] = SlidingWindow(
                constants.FloodLimit.MESSAGES_PER_SECOND_PER_CHAT)
        async with window:
            return await super().process_request(callback, args, kwargs, endpoint, data,
                                                  rate_limit_args)


def _private_chat(chat_id: object) -> int | None:
    """Private chats have positive ids; groups and channels keep AIORateLimiter's limits."""
    with contextlib.suppress(TypeError, ValueError):
        number = int(chat_id)  # type: ignore[call-overload]
        return number if number > 0 else None
    return None


def proposed(kind: str, rate: float) -> tuple[Patch, str]:
    """The channel as `bot/channels/telegram/` would build it with the proposed limiter."""
    if kind == "smooth":  # the one-line alternative: a leaky bucket holding one, no burst

        def limiter() -> AIORateLimiter:
            return AIORateLimiter(overall_max_rate=1, overall_time_period=1 / rate,
                                  max_retries=3)

        label = f"AIORateLimiter(overall_max_rate=1, overall_time_period=1/{rate})"
    else:

        def limiter() -> AIORateLimiter:
            return WindowedRateLimiter(max_retries=3)

        label = "WindowedRateLimiter(max_retries=3)"

    def apply(channel: TelegramChannel) -> None:
        channel.app.bot._rate_limiter = limiter()

    return apply, label


# -- a slower network ---------------------------------------------------------------------------


def simulate_network(channel: TelegramChannel, rtt: float, jitter: float, seed: int) -> None:
    """Delay each Bot API request by half `rtt` each way plus exponential `jitter` (mean).

    The fake answers within a millisecond; Telegram, from Vietnam, in a few hundred. A limiter
    that waits for answers pays for that; one that does not trips on the jitter.
    """
    rng = random.Random(seed)
    request = channel.app.bot._request[1]  # [0] is getUpdates, not used here
    do_request = request.do_request

    async def leg() -> None:
        await asyncio.sleep(rtt / 2 + (rng.expovariate(1 / jitter) if jitter else 0.0))

    async def slowed(*args: Any, **kwargs: Any) -> Any:
        await leg()
        answer = await do_request(*args, **kwargs)
        await leg()
        return answer

    request.do_request = slowed  # type: ignore[method-assign]


# -- main ---------------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--askers", type=int, default=10_000)
    parser.add_argument("--baseline-askers", type=int, default=1_500)
    parser.add_argument("--leaders", type=int, default=0,
                        help="commune leaders sharing every tenth notification (default: none)")
    parser.add_argument("--rtt", type=float, default=0.0,
                        help="simulate this round trip to the Bot API, seconds (e.g. 0.15)")
    parser.add_argument("--jitter", type=float, default=None,
                        help="mean exponential extra delay per leg (default: 0.01 with --rtt)")
    parser.add_argument("--deadline", type=float, default=0.0,
                        help="seconds before giving up a run (default: 3× the ideal time + 60)")
    parser.add_argument("--proposed", choices=("window", "smooth"),
                        help="also run a prototyped limiter: sliding windows (window), or "
                             "AIORateLimiter as a leaky bucket without burst (smooth)")
    parser.add_argument("--rate", type=float, default=29.5, help="smooth: msg/s")
    parser.add_argument("--no-production", action="store_true",
                        help="skip the as-is production run (with --proposed, for quick checks)")
    return parser.parse_args()


async def main() -> None:
    args = parse_args()
    jitter = args.jitter if args.jitter is not None else 0.01 if args.rtt else 0.0
    scenario = Scenario(args.askers, args.leaders, args.rtt, jitter)
    deadline = args.deadline or 3 * args.askers / CAP + 60
    report: dict[str, Any] = {"bench": "notify"}
    if args.leaders:
        report["leaders"] = args.leaders
    if args.rtt or jitter:
        report["network"] = {"rtt": args.rtt, "jitter_per_leg": jitter}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if not args.no_production:
            report |= await run_production(scenario, workdir, "production", deadline)
        baseline = Scenario(args.baseline_askers, args.leaders, args.rtt, jitter)
        report["baseline"] = await run_baseline(baseline, workdir)
        if args.proposed:
            patch, limiter = proposed(args.proposed, args.rate)
            report["proposed"] = await run_production(scenario, workdir, "proposed", deadline,
                                                      patch, limiter)
    report["target"] = {"share_of_cap": 0.95, "duplicates": 0, "lost": 0}
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
