"""`/id`: anyone learns her own id on this channel and, in a group, the group's id.

This is how an installation finds staff user ids (`[telegram] staff_ids`) and the staff group
(`staff_chat_id`) without calling the platform's API by hand (docs/deploy.md). It answers in a
group even to someone who is not staff yet: the ids are not secret, and nobody is staff before
the config names her. Nothing is stored.
"""

from __future__ import annotations

from .engine import IDLE, Context

__all__ = ["WhoAmI"]

COMMANDS = frozenset({"id", "myid", "chatid"})


class WhoAmI:
    def __init__(self) -> None:
        self.states: dict = {}
        self.prompts: dict = {}

    async def command(self, ctx: Context, name: str, args: str) -> bool:
        if name not in COMMANDS:
            return False
        incoming = ctx.incoming
        key = "whoami.group" if incoming.is_group else "whoami.private"
        ctx.say(ctx.t(key, channel=incoming.channel.capitalize(), user_id=incoming.user_id,
                      chat_id=incoming.chat_id))
        if ctx.state != IDLE:
            await ctx.show(ctx.state)  # mid-question: her step again, never a dead end
        return True
