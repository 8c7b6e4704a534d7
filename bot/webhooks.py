"""`python -m bot webhook set|info|delete`: the webhook of Telegram or Zalo, registered from
the config and the environment, so nobody calls the platform's API by hand."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from .channels.registry import CHANNELS, spec
from .cli import command
from .config import Config, ConfigError
from .logs import redact

__all__ = ["cmd_webhook"]

_WITH_WEBHOOKS = tuple(s.name for s in CHANNELS if s.webhook_admin is not None)


def _webhook_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("set", "info", "delete"),
                        help="set: register [CHANNEL] webhook_url with the secret from the "
                             "environment; info: what the platform has; delete: remove it")
    parser.add_argument("--channel", choices=_WITH_WEBHOOKS, default=None,
                        help="which platform (default: every one whose token is set)")


@command(_webhook_options)
def cmd_webhook(args: argparse.Namespace, config: Config) -> int:
    """Register, show or remove the webhook with Telegram or Zalo.

    `set` sends `[telegram] webhook_url` (or `[zalo] webhook_url`) and the secret from
    TELEGRAM_WEBHOOK_SECRET (ZALO_WEBHOOK_SECRET); the bot, in mode = "webhook", checks the same
    secret on every request. `delete` goes back to polling. Prints one JSON line per channel,
    never the token or the secret.

    Example: python -m bot webhook set --channel telegram
    """
    names = [args.channel] if args.channel else [
        n for n in _WITH_WEBHOOKS if config.channel(n).enabled]
    if not names:
        print("Chưa có token nào (TELEGRAM_BOT_TOKEN, ZALO_BOT_TOKEN). "
              "No bot token set in the environment.", file=sys.stderr)
        return 2
    code = 0
    for name in names:
        try:
            result = asyncio.run(_act(name, args.action, config))
        except ConfigError as exc:
            print(f"{name}: {exc}", file=sys.stderr)
            code = 2
            continue
        except Exception as exc:  # the platform refused or is unreachable: say which, go on
            print(f"{name}: {args.action} failed ({type(exc).__name__}: {redact(str(exc))})",
                  file=sys.stderr)
            code = 1
            continue
        print(json.dumps({"channel": name, "action": args.action, **result},
                         ensure_ascii=False, default=str))
    return code


async def _act(name: str, action: str, config: Config) -> dict:
    make = spec(name).webhook_admin
    assert make is not None
    admin = make(config.channel(name))
    try:
        return await getattr(admin, action)()
    finally:
        await admin.aclose()
