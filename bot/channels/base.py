"""The channel port: what every chat platform adapter offers the rest of the bot.

`bot/service.py`, the scheduler and the config loop over `registry.CHANNELS`; none of them
names a platform. An adapter only translates: platform updates become `Incoming`, each `Reply`
is shown the platform's way, and queued outbox rows go out through `send_queued`.

Errors a sender raises (from `bot.outbox`):
    DeliveryError
      ├─ RetryLater(seconds)   429, network trouble: the outbox tries again later
      └─ Undeliverable         blocked the bot, chat gone: the outbox stops trying
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from handlers.types import Reply

from ..outbox import DeliveryError, OutboxWorker, RetryLater, Undeliverable

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["Channel", "ChannelSettings", "ChannelSpec", "DeliveryError", "RetryLater",
           "StartFailed", "Undeliverable", "WebhookAdmin"]


class StartFailed(Exception):
    """`start()` could not reach the platform, or it refused the token: something the operator
    fixes, told in one line (no traceback). The text never holds the token."""


@runtime_checkable
class Channel(Protocol):
    """One running chat platform."""

    name: str
    outbox: OutboxWorker  # its queued messages (answers, alerts); `wake()` sends now

    async def start(self) -> None:
        """Connect and begin receiving; raise (with nothing left open) if it cannot:
        StartFailed or ConfigError for what the operator fixes, anything else is a bug."""

    async def stop(self) -> None:
        """Finish the updates in hand, stop receiving and sending, close connections."""

    async def send_replies(self, chat_id: str, replies: Sequence[Reply]) -> None:
        """Show the flow's replies to the chat she wrote from, now."""

    async def send_queued(self, chat_id: str, text: str) -> None:
        """Send one outbox row; raise RetryLater or Undeliverable when it did not go."""


class ChannelSettings(Protocol):
    """An adapter's own [section] of config.toml, read by its `read_settings`."""

    @property
    def enabled(self) -> bool:
        """True when `python -m bot run` should start it (its token is set)."""

    def secrets(self) -> tuple[str, ...]:
        """Secret values set, for the log filter to redact."""


class WebhookAdmin(Protocol):
    """`python -m bot webhook set|info|delete` for one platform."""

    async def set(self) -> dict[str, Any]: ...

    async def info(self) -> dict[str, Any]: ...

    async def delete(self) -> dict[str, Any]: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class ChannelSpec:
    """How the bot finds one adapter. Everything heavy is imported only when called."""

    name: str
    # Reads [name] of the config (reader: bot.config._Reader) and the environment.
    read_settings: Callable[[Any, Mapping[str, str]], ChannelSettings]
    # The running adapter; None for channels `run` never starts (the terminal).
    open: Callable[[Runtime], Channel] | None = None
    webhook_admin: Callable[[ChannelSettings], WebhookAdmin] | None = None
    env_token: str = ""  # the environment variable holding its token, for messages
    # Its outbox sender sends a file with a caption (`send_document`): a department's PDF
    # answer goes as the file; elsewhere she is told the Union holds it (handlers.answers).
    sends_documents: bool = False
