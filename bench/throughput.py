"""Throughput of the whole Telegram path as a share of python-telegram-bot's own ceiling.

N members type the whole flow (/start, consent, commune by name, topic, question, anonymity,
Gửi) through the real PTB Application, against a fake Bot API in a separate process (so bot and
"Telegram" do not share one core). All updates are queued up front, interleaved across members;
an arm ends when every update was handled (and, for the full flow, every member has her
receipt).

The ceiling, in the same run: a bare PTB echo bot (one MessageHandler answering each text with
`reply_text`) through the same fake and the same transport (our aiohttp `BaseRequest`), fed the
same updates. Both are measured twice:

- polling: our channel's own long polling vs PTB's `Updater.start_polling`;
- webhook: the fake POSTs each update (40 at a time, one at a time per chat, as Telegram does)
  to our webhook server; the echo bot sits behind the same Starlette/uvicorn server calling
  `Application.process_update` (PTB's own tornado webhook is not installed, and it answers 200
  before the update is handled, which is not what we ship).

The AIORateLimiter is off everywhere: it would cap both at Telegram's 30 msg/s and hide the
bot's own capacity, which is what this measures.

Prints one JSON line; `cpu_share` is the echo bot's CPU per update over ours (the share the
CPU alone would allow, steadier than updates/s on a shared machine).
Usage: python bench/throughput.py [--members 1000] [--modes polling,webhook] [--before]
[--unscreened]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import Route  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, MessageHandler, filters  # noqa: E402

from bench._fake import fake_bot_api  # noqa: E402
from bot.channels._webhook import WebhookServer  # noqa: E402
from bot.channels.telegram.adapter import TelegramChannel  # noqa: E402
from bot.channels.telegram.admin import TelegramWebhookAdmin  # noqa: E402
from bot.channels.telegram.http import AiohttpRequest  # noqa: E402
from bot.config import Secret, load_config  # noqa: E402
from bot.runtime import open_runtime  # noqa: E402
from handlers.engine import IDLE, Context, offered_from  # noqa: E402
from storage import queries as q  # noqa: E402

TOKEN = "123456:TEST"
SECRET = "bench-webhook-secret-0123456789"
SCRIPT = ("/start", "1", "nam tam", "1",
          "Chị em trong bản muốn vay vốn ưu đãi để chăn nuôi, xin hỏi thủ tục thế nào ạ?",
          "2", "1")


def cpu_seconds() -> float:
    """CPU time of this process (the bot, every thread; the fake Bot API is another process):
    steadier than updates/s when other jobs share the cores."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def fake_cpu_seconds() -> float:
    """CPU time of this process's waited-for children: the fake Bot API, once an arm ends."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def log(*args: object) -> None:
    print(*args, file=sys.stderr, flush=True)


def specs(members: int) -> list[dict]:
    return [{"chat_id": 10_000 + m, "text": line} for line in SCRIPT for m in range(members)]


async def register(client, port: int, path: str) -> None:
    config = load_config(ROOT / "config.toml", environ={})
    settings = config.with_channel(
        "telegram", token=Secret(TOKEN), base_url=client.base_url,
        webhook_url=f"http://127.0.0.1:{port}{path}", webhook_secret=Secret(SECRET),
    ).channel("telegram")
    await TelegramWebhookAdmin(settings).set()


async def wait_until(done, deadline: float = 600) -> None:
    limit = time.perf_counter() + deadline
    while time.perf_counter() < limit and not await done():
        await asyncio.sleep(0.05)


async def one_trip_per_statement(self, incoming):
    """Dispatcher._handle as it was before storage.message: each bookkeeping statement its own
    trip to the database thread (6 a message). Only for the before/after figure of this run;
    no group, flood or failure paths, which the bench never takes."""
    async with self.db.transaction() as conn:
        if incoming.update_key and not await q.claim_update(
                conn, incoming.channel, incoming.bot, incoming.update_key,
                now=self.services.clock()):
            return []
        user = await q.ensure_user(conn, incoming.channel, incoming.user_id, incoming.chat_id,
                                   incoming.display_name, now=self.services.clock())
        conv = await q.get_conversation(conn, incoming.channel, incoming.chat_id)
        state, data, offered = (conv.state, conv.data, conv.offered) if conv else (IDLE, {}, [])
        ctx = Context(incoming, conn, user, state, data, offered, self.services,
                      prompts=self.prompts)
        await self._route(ctx)
        await q.save_conversation(
            conn, incoming.channel, incoming.chat_id, ctx.state, ctx.data,
            offered_from(ctx.replies) or (ctx.offered if not ctx.replies else []), now=ctx.now)
    for hook in ctx.after_commit:
        hook()
    return ctx.replies


async def full_flow(members: int, mode: str, workdir: Path, before: bool = False,
                    unscreened: bool = False) -> dict:
    workdir.mkdir(exist_ok=True)
    fake_cpu = fake_cpu_seconds()
    async with fake_bot_api(workdir, f"full-{mode}-{before}-{unscreened}") as client:
        config = load_config(ROOT / "config.toml", environ={})
        if mode == "webhook":
            config = config.with_channel("telegram", mode="webhook", webhook_port=0,
                                         webhook_secret=Secret(SECRET))
        runtime = await open_runtime(config, workdir / f"bench-{mode}-{before}-{unscreened}.db")
        if before:
            runtime.dispatcher._handle = one_trip_per_statement.__get__(runtime.dispatcher)
        if unscreened:
            # Diagnostic only: what the flow costs without screening her text (the danger
            # detector, the sensitive-data words). The bench's question names neither, so
            # the flow and its replies are the same; the bot never runs like this.
            runtime.dispatcher.services = dataclasses.replace(
                runtime.dispatcher.services, danger=None, sensitive=None)
            runtime.dispatcher.screens = []
        channel = TelegramChannel(runtime, token=TOKEN, base_url=client.base_url,
                                  rate_limit=False, mode=mode)
        latencies: list[float] = []
        handle = runtime.dispatcher.handle

        async def timed(incoming, deliver=None):
            start = time.perf_counter()
            try:
                return await handle(incoming, deliver)
            finally:
                latencies.append(time.perf_counter() - start)

        runtime.dispatcher.handle = timed  # type: ignore[method-assign]
        updates = specs(members)
        await client.apush_messages(updates)
        log(f"full flow, {mode}: {members} members, {len(updates)} updates queued")

        async def stored() -> int:
            async with runtime.db.transaction() as conn:
                (count,) = await (await conn.execute(
                    "SELECT COUNT(*) FROM questions")).fetchone()
            return count

        async def done() -> bool:
            return len(latencies) >= len(updates) and await stored() >= members

        if mode == "webhook":
            await channel.start()
            started, cpu = time.perf_counter(), cpu_seconds()
            await register(client, channel.webhook_port, channel.settings.webhook_path)
        else:
            started, cpu = time.perf_counter(), cpu_seconds()
            await channel.start(poll_timeout=1)
        await wait_until(done)
        elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        await channel.stop()
        count = await stored()
        await runtime.close()
    fake_cpu = fake_cpu_seconds() - fake_cpu  # the whole arm's, start-up included
    latencies.sort()
    return {
        "updates": len(updates), "processed": len(latencies), "seconds": round(elapsed, 2),
        "updates_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2) if latencies else None,
        "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 2) if latencies else None,
        "cpu_ms_per_update": round(cpu * 1000 / max(1, len(latencies)), 3),
        "fake_cpu_ms_per_update": round(fake_cpu * 1000 / max(1, len(latencies)), 3),
        "lost": members - count,
    }


async def echo_bot(members: int, mode: str, workdir: Path) -> dict:
    """The ceiling: PTB with nothing of ours but the transport."""
    workdir.mkdir(exist_ok=True)
    fake_cpu = fake_cpu_seconds()
    async with fake_bot_api(workdir, f"echo-{mode}") as client:
        base = client.base_url
        app = (ApplicationBuilder().token(TOKEN).base_url(base)
               .base_file_url(base[: -len("/bot")] + "/file/bot")
               .request(AiohttpRequest(pool_size=32, pool_timeout=10))
               .get_updates_request(AiohttpRequest(read_timeout=10))
               .concurrent_updates(256).build())
        answered = 0

        async def echo(update: Update, context) -> None:
            nonlocal answered
            await update.message.reply_text(update.message.text)
            answered += 1

        app.add_handler(MessageHandler(filters.TEXT, echo))
        updates = specs(members)
        await client.apush_messages(updates)
        log(f"echo bot, {mode}: {len(updates)} updates queued")

        async def done() -> bool:
            return answered >= len(updates)

        async with app:
            await app.start()
            server = None
            if mode == "webhook":
                async def on_webhook(request: Request) -> Response:
                    update = Update.de_json(json.loads(await request.body()), app.bot)
                    await app.process_update(update)
                    return Response(status_code=200)

                server = WebhookServer(Starlette(routes=[
                    Route("/echo", on_webhook, methods=["POST"])]), "127.0.0.1", 0, "echo")
                await server.start()
                started, cpu = time.perf_counter(), cpu_seconds()
                await register(client, server.port, "/echo")
            else:
                started, cpu = time.perf_counter(), cpu_seconds()
                await app.updater.start_polling(timeout=1, poll_interval=0)
            await wait_until(done)
            elapsed, cpu = time.perf_counter() - started, cpu_seconds() - cpu
            if server is not None:
                await server.stop()
            else:
                await app.updater.stop()
            await app.stop()
    fake_cpu = fake_cpu_seconds() - fake_cpu
    return {"updates": len(updates), "processed": answered, "seconds": round(elapsed, 2),
            "updates_per_s": round(answered / elapsed, 1),
            "cpu_ms_per_update": round(cpu * 1000 / max(1, answered), 3),
            "fake_cpu_ms_per_update": round(fake_cpu * 1000 / max(1, answered), 3),
            "lost": len(updates) - answered}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--before", action="store_true",
                        help="also run the full flow with one database trip per statement")
    parser.add_argument("--unscreened", action="store_true",
                        help="also run the full flow without the danger and sensitive-data "
                             "screens (diagnostic: what they cost)")
    parser.add_argument("--modes", default="polling,webhook")
    args = parser.parse_args()
    out: dict = {"bench": "throughput", "cores": os.cpu_count(), "members": args.members}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        # Warm-up, not reported: compiled patterns, caches and imports are paid once per
        # process, and would otherwise be charged to whichever arm runs first.
        await full_flow(20, "polling", workdir / "warm")
        await echo_bot(20, "polling", workdir / "warm")
        for mode in args.modes.split(","):
            echo = await echo_bot(args.members, mode, workdir)
            full = await full_flow(args.members, mode, workdir)
            out[mode] = {"full": full, "echo_ceiling": echo,
                         "share_of_ceiling": round(full["updates_per_s"]
                                                   / echo["updates_per_s"], 2),
                         "cpu_share": round(echo["cpu_ms_per_update"]
                                            / full["cpu_ms_per_update"], 2)}
            if args.unscreened:
                bare = await full_flow(args.members, mode, workdir, unscreened=True)
                out[mode]["full_without_text_screening"] = bare
                out[mode]["share_without_text_screening"] = round(
                    bare["updates_per_s"] / echo["updates_per_s"], 2)
            if args.before:
                old = await full_flow(args.members, mode, workdir, before=True)
                out[mode]["full_one_trip_per_statement"] = old
                out[mode]["share_before"] = round(old["updates_per_s"]
                                                  / echo["updates_per_s"], 2)
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    out["target_share"] = 0.6
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
