"""The command line: `python -m bot SUBCOMMAND [--config PATH] …`.

Each subcommand is one small function whose docstring is its help text and ends with an example.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import os
import re
import sys
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

from handlers.locale import LocaleError
from storage.lock import database_in_use

from .config import DEMO_CONFIG, Config, ConfigError, load_config
from .logs import RedactingStream, setup_logging

if TYPE_CHECKING:  # the heavy imports wait until a command needs them
    from storage.db import Database

    from .runtime import Runtime

__all__ = ["main"]

log = logging.getLogger("bot")

Command = Callable[[argparse.Namespace, Config], int]
COMMANDS: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], None]]] = {}


def command(configure: Callable[[argparse.ArgumentParser], None] = lambda p: None):
    def register(fn: Command) -> Command:
        COMMANDS[fn.__name__.removeprefix("cmd_")] = (fn, configure)
        return fn

    return register


def _with_runtime(config: Config, database: Path | None,
                  work: Callable[[Runtime], Awaitable[int]]) -> int:
    """Open the database and flows, run `work`, always close (its thread would keep us alive)."""
    from .runtime import open_runtime

    async def go() -> int:
        runtime = await open_runtime(config, database)
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    with database_in_use(database or config.database):  # `restore` waits for us to close
        return asyncio.run(go())


def _with_database(config: Config, database: Path | None,
                   work: Callable[[Database], Awaitable[int]]) -> int:
    from storage.db import Database

    async def go() -> int:
        db = await Database.open(database or config.database)
        try:
            return await work(db)
        finally:
            await db.close()

    with database_in_use(database or config.database):
        return asyncio.run(go())


def _today(runtime: Runtime) -> dt.date:
    services = runtime.services
    return services.clock().astimezone(services.settings.timezone).date()


def _db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, help="database file (default: bot.database in config)")


# --- subcommands -------------------------------------------------------------------------------


def _chat_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", default="demo", help="who you are in the chat (default: demo)")
    _db_option(parser)


@command(_chat_options)
def cmd_chat(args: argparse.Namespace, config: Config) -> int:
    """Talk to the bot in the terminal, with no token and no network.

    Each line you type is one message; menus are numbered. Reads piped input too, one message a
    line, and exits at the end of it.

    Example: python -m bot chat --user lan
    """
    from .channels.terminal import run_terminal

    return _with_runtime(config, args.db, lambda runtime: run_terminal(runtime, user=args.user))


def _demo_options(parser: argparse.ArgumentParser) -> None:
    _chat_options(parser)
    parser.set_defaults(config=DEMO_CONFIG)


@command(_demo_options)
def cmd_demo(args: argparse.Namespace, config: Config) -> int:
    """The bot in the terminal on the demo dialogue (config.demo.toml, data/demo.db).

    No token, no network, and never the production database: it refuses a config file that
    does not say `[bot] demo = true`. `--user staff` is a staff member.

    Example: python -m bot demo --user lan
    """
    if not config.demo:
        print(f"{config.path} không phải cấu hình chạy thử: `demo` chỉ chạy trên tệp có "
              "`[bot] demo = true` (config.demo.toml), để không ghi vào cơ sở dữ liệu thật.\n"
              f"{config.path} is not a demo config (no `[bot] demo = true`): the demo never "
              "writes into a production database.", file=sys.stderr)
        return 2
    return cmd_chat(args, config)


@command(_db_option)
def cmd_run(args: argparse.Namespace, config: Config) -> int:
    """Run the bot on every channel whose token is set (TELEGRAM_BOT_TOKEN, ZALO_BOT_TOKEN).

    Example: TELEGRAM_BOT_TOKEN=123:ABC python -m bot run
    """
    from .service import enabled_channels, run_service

    if config.demo:
        print(f"{config.path} là cấu hình chạy thử (`[bot] demo = true`): không chạy bot thật "
              "trên đó. Dùng config.toml của Hội (--config PATH), hoặc `python -m bot demo` "
              f"để thử trong cửa sổ lệnh.\n{config.path} is the demo config: `run` needs the "
              "production config (--config PATH); try the demo with `python -m bot demo`.",
              file=sys.stderr)
        return 2
    if not enabled_channels(config):
        print(
            "Chưa có token nào. Đặt biến môi trường TELEGRAM_BOT_TOKEN (token từ @BotFather) "
            "và/hoặc ZALO_BOT_TOKEN rồi chạy lại, ví dụ:\n"
            "  export TELEGRAM_BOT_TOKEN=123456:ABC...\n  python -m bot run\n"
            "No bot token set: export TELEGRAM_BOT_TOKEN and/or ZALO_BOT_TOKEN. "
            "To try the bot without a token: python -m bot demo",
            file=sys.stderr,
        )
        return 2
    from storage.lock import AlreadyRunning

    try:
        return asyncio.run(run_service(config, args.db))
    except AlreadyRunning as exc:
        print(f"Bot đang chạy trên cơ sở dữ liệu này rồi: không chạy thêm bản thứ hai "
              f"(tin nhắn sẽ bị gửi hai lần). Dừng bản kia trước.\n{exc}", file=sys.stderr)
        return 3


@command(_db_option)
def cmd_migrate(args: argparse.Namespace, config: Config) -> int:
    """Create the database or bring it up to date with storage/migrations.

    Example: python -m bot migrate
    """

    from storage import queries

    async def work(db: Database) -> int:
        async with db.transaction() as conn:
            applied = await queries.applied_migrations(conn)
        print(f"{db.path}: {len(applied)} migration(s): {', '.join(applied)}")
        return 0

    return _with_database(config, args.db, work)


def _digest_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--print", dest="print_only", action="store_true",
                        help="print today's digest without sending or claiming the day")
    _db_option(parser)


@command(_digest_options)
def cmd_digest(args: argparse.Namespace, config: Config) -> int:
    """Today's staff digest. With --print: show it, send nothing.

    Without --print it claims today and queues the digest for the staff chats, exactly as the
    scheduled job does (a second call the same day does nothing); `run` sends it.

    Example: python -m bot digest --print
    """
    from .digest import send_daily_digest

    async def work(runtime: Runtime) -> int:
        services = runtime.services
        if args.print_only:
            async with runtime.db.transaction() as conn:
                digest = await services.tools.digest(conn, services.clock())
            print(digest.text)
            return 0
        queued = await send_daily_digest(runtime.db, services.settings, services.locale,
                                         services.clock())
        print("queued" if queued else "today's digest was already sent")
        return 0

    return _with_runtime(config, args.db, work)


def _dialogue_option(parser: argparse.ArgumentParser, required: bool = False) -> None:
    parser.add_argument("--dialogue", required=required,
                        help="dialogue id from config (default: the open one)")


def _stats_options(parser: argparse.ArgumentParser) -> None:
    _dialogue_option(parser)
    _db_option(parser)


def _pick_dialogue(config: Config, dialogue_id: str | None, today):
    settings = config.settings
    if dialogue_id:
        dialogue = settings.dialogue(dialogue_id)
        if dialogue is None:
            known = ", ".join(d.id for d in settings.dialogues)
            raise SystemExit(f"Unknown dialogue {dialogue_id!r}. Known: {known}")
        return dialogue
    return settings.current_dialogue(today)


@command(_stats_options)
def cmd_stats(args: argparse.Namespace, config: Config) -> int:
    """Follow-up figures: totals, answered %, overdue by department, by topic and commune.

    Example: python -m bot stats --dialogue lai-chau-2027
    """
    async def work(runtime: Runtime) -> int:
        tools, today = runtime.services.tools, _today(runtime)
        dialogue = _pick_dialogue(config, args.dialogue, today)
        async with runtime.db.transaction() as conn:
            stats = await tools.stats(conn, dialogue, today)
        print(tools.stats_text(stats))
        return 0

    return _with_runtime(config, args.db, work)


def _export_options(parser: argparse.ArgumentParser) -> None:
    _dialogue_option(parser)
    parser.add_argument("--format", choices=("xlsx", "docx"), default="xlsx")
    parser.add_argument("--out", type=Path, required=True, help="file to write")
    _db_option(parser)


@command(_export_options)
def cmd_export(args: argparse.Namespace, config: Config) -> int:
    """The official summary of a dialogue: Excel (one sheet per topic) or Word (NĐ 30/2020).

    Anonymous askers are never named; phone numbers, ID numbers and emails are masked.

    Example: python -m bot export --dialogue lai-chau-2027 --format docx --out tong-hop.docx
    """
    async def work(runtime: Runtime) -> int:
        today = _today(runtime)
        dialogue = _pick_dialogue(config, args.dialogue, today)
        async with runtime.db.transaction() as conn:
            _, content = await runtime.services.tools.export(conn, dialogue, args.format, today)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_bytes(content)
        print(f"{args.out}: {len(content)} bytes")
        return 0

    return _with_runtime(config, args.db, work)


def _backup_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", type=Path, nargs="?", default=None,
                        help="file to write the copy to (default: a dated file in [backup] dir, "
                             "rotated to [backup] keep)")
    _db_option(parser)


@command(_backup_options)
def cmd_backup(args: argparse.Namespace, config: Config) -> int:
    """A consistent copy of the live database (SQLite backup API), safe while the bot runs.

    Without OUT: a dated copy in `[backup] dir`, keeping the newest `[backup] keep`, exactly as
    the daily scheduled backup does.

    Example: python -m bot backup backups/doithoai-2026-12-01.db
    """
    from .backups import backup_now

    async def work(db: Database) -> int:
        if args.out is None:
            out = await backup_now(db, config)
        else:
            await db.backup(args.out)
            out = args.out
        print(f"{out}: backup written")
        return 0

    return _with_database(config, args.db, work)


def _restore_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("backup", type=Path, help="the backup file to put back")
    _db_option(parser)


@command(_restore_options)
def cmd_restore(args: argparse.Namespace, config: Config) -> int:
    """Put a backup back in place of the database. Stop the bot first.

    The copy must open, pass SQLite's integrity_check and migrate to this code's schema; only
    then is the current database moved aside (FILE.replaced-DATE, kept: delete it once you are
    sure, it holds personal data) and the copy put in its place. Refused while a bot runs on
    the database. Deletions members made after the backup was taken (read from the database it
    replaces) are done again on the copy, so nobody who deleted her data comes back.

    Example: python -m bot restore data/backups/doithoai-20261203-023000.db
    """
    from storage.lock import AlreadyRunning, InUse

    from .backups import BackupError, restore

    database = args.db or config.database
    try:
        done = restore(config, args.backup, database)
    except BackupError as exc:
        print(f"Không khôi phục: {exc}\nNothing was changed.", file=sys.stderr)
        return 2
    except AlreadyRunning as exc:
        print(f"Bot đang chạy trên cơ sở dữ liệu này: dừng bot trước khi khôi phục (systemctl "
              f"stop doithoai-bot, hoặc docker compose stop bot).\n{exc}: stop it before a "
              "restore. Nothing was changed.", file=sys.stderr)
        return 3
    except InUse as exc:
        print(f"Cơ sở dữ liệu này đang được mở: dừng trước khi khôi phục (bảng điều hành: "
              f"docker compose stop console; bot: systemctl stop doithoai-bot).\n{exc}: stop "
              "it before a restore. Nothing was changed.", file=sys.stderr)
        return 3
    print(f"{database}: đã khôi phục từ {args.backup} ({done.questions} câu hỏi) / restored.")
    if done.migrations:
        print(f"Migration đã chạy trên bản khôi phục / applied: {', '.join(done.migrations)}")
    if done.erasures_redone is None:
        print("Không có (hoặc không đối chiếu được) cơ sở dữ liệu cũ: những yêu cầu xóa dữ liệu "
              "sau ngày sao lưu chưa được làm lại (docs/deploy.md, mục 9). / No replaced "
              "database of this installation, newer than the copy, to compare with: deletions "
              "made after the backup could not be redone.", file=sys.stderr)
    elif done.erasures_redone:
        print(f"Đã xóa lại {done.erasures_redone} mục bị xóa sau ngày sao lưu / deletions made "
              "after the backup, redone.")
    if done.aside:
        print(f"Tệp cũ để riêng tại / the replaced file is kept at: {done.aside} "
              "(có dữ liệu cá nhân: xóa khi đã chắc chắn / personal data: delete it when sure)")
    return 0


@command(_db_option)
def cmd_doctor(args: argparse.Namespace, config: Config) -> int:
    """Check this installation and say what to fix: config, tokens, staff chats, webhooks,
    disk space, database integrity and migrations. Exit 1 when something must be fixed.

    Reads only (the database read-only); never prints a token, not even in part.

    Example: TELEGRAM_BOT_TOKEN=123:ABC python -m bot doctor
    """
    from .doctor import FAIL, diagnose, render

    findings = asyncio.run(diagnose(config, args.db))
    print(render(findings))
    return 1 if any(f.level == FAIL for f in findings) else 0


def _purge_options(parser: argparse.ArgumentParser) -> None:
    _dialogue_option(parser, required=True)
    parser.add_argument("--force", action="store_true",
                        help="purge even before the retention period has passed")
    _db_option(parser)


@command(_purge_options)
def cmd_purge(args: argparse.Namespace, config: Config) -> int:
    """Remove personal data of a closed dialogue once `bot.retention_days` have passed since its
    summary deadline: question texts, voice links and who asked, every copy of them in the
    outbox and in conversations, drafts for it, and the askers themselves when they have
    nothing in another dialogue. Counts, communes, topics and the departments' answers stay
    for the records. The database's WAL is emptied afterwards.

    Example: python -m bot purge --dialogue lai-chau-2026
    """
    from handlers.locale import Locale
    from handlers.privacy import mask_pii
    from storage import queries

    settings = config.settings
    dialogue = settings.dialogue(args.dialogue)
    if dialogue is None:
        known = ", ".join(d.id for d in settings.dialogues)
        print(f"Unknown dialogue {args.dialogue!r}. Known: {known}", file=sys.stderr)
        return 2

    async def work(db: Database) -> int:
        today = db.clock().astimezone(settings.timezone).date()
        allowed = dialogue.summary_deadline + dt.timedelta(days=settings.retention_days)
        if dialogue.closes >= today or (today < allowed and not args.force):
            print(f"{dialogue.id}: personal data is kept until {allowed:%d/%m/%Y} "
                  f"(summary deadline + bot.retention_days); nothing purged. "
                  "Use --force to purge a closed dialogue earlier.", file=sys.stderr)
            return 1
        scrubbed = Locale.load(config.locale).t("data.scrubbed")
        async with db.transaction() as conn:
            purged = await queries.purge_dialogue(conn, dialogue.id, now=db.clock(),
                                                  masked=mask_pii, scrubbed=scrubbed)
        await db.checkpoint()
        print(f"{dialogue.id}: personal data removed from {purged.questions} question(s) "
              f"and {purged.users} member(s)")
        return 0

    return _with_database(config, args.db, work)


def _cluster_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", type=Path, help='JSON lines: {"id": …, "text": …, "topic": …}')


@command(_cluster_options)
def cmd_cluster(args: argparse.Namespace, config: Config) -> int:
    """Cluster questions from a file, with no database: the same code path the bot uses.

    Each input line is {"id": ..., "text": ..., "topic": optional}; each output line on stdout
    is {"id": ..., "cluster": ...}, every id exactly once, in input order, deterministic.

    Example: python -m bot cluster questions.jsonl > clusters.jsonl
    """
    from handlers.normalise import Normalizer

    from .matching import cluster_jsonl
    from .runtime import match_settings

    try:
        with args.input.open(encoding="utf-8") as lines:
            cluster_jsonl(lines, sys.stdout, match_settings(config), Normalizer.from_files())
    except (OSError, ValueError) as exc:
        print(f"{args.input}: {exc}", file=sys.stderr)
        return 2
    return 0


from . import cli_report  # noqa: E402, F401  (registers `report`: issue 16)

# --- entry point -------------------------------------------------------------------------------


def _summary(doc: str) -> str:
    """A command's one line in `--help`: its docstring's first sentence, cut before a colon
    when long (the first line alone stopped mid-sentence: "…staff chats, webhooks,")."""
    paragraph = " ".join(doc.split("\n\n", 1)[0].split())
    sentence = re.split(r"(?<=\.)\s", paragraph, maxsplit=1)[0]
    if len(sentence) > 100 and ": " in sentence:
        sentence = sentence.split(": ", 1)[0] + "."
    return sentence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Đối thoại bot: collects women's questions for the provincial dialogue.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name, (fn, configure) in COMMANDS.items():
        doc = (fn.__doc__ or "").strip()
        summary = _summary(doc) or name
        # argparse %-formats help strings: "answered %" would crash `python -m bot --help`.
        p = sub.add_parser(name, help=summary.replace("%", "%%"), description=doc,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("--config", type=Path, default=None,
                       help="config file (default: config.toml beside the code)")
        p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
        configure(p)
        p.set_defaults(func=fn)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # the database, its WAL and exports hold personal data
    args = build_parser().parse_args(argv)
    setup_logging(verbose=args.verbose)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"Config error: {exc}", file=sys.stderr)
        return 2
    # Now the secrets are known: redact their exact values, whatever their shape, from the logs
    # and from everything the command prints.
    setup_logging(verbose=args.verbose, secrets=config.secrets())
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = RedactingStream(out), RedactingStream(err)
    try:
        return args.func(args, config)
    except LocaleError as exc:
        print(f"Locale error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception:  # a bug: its traceback, as Python prints it, but through the redaction
        traceback.print_exc()
        return 1
    finally:
        sys.stdout, sys.stderr = out, err


from . import webhooks as _webhooks  # noqa: E402,F401  registers `webhook`

# The console's commands (`web`, `user`) register themselves with @command.
from .web import commands as _web_commands  # noqa: E402, F401
