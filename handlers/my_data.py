"""A member's own data: delete it (/xoa_du_lieu), turn announcements on or off."""

from __future__ import annotations

from storage import queries as q

from .engine import IDLE, Context
from .menus import menu
from .privacy import mask_pii
from .questions import forget_questions

__all__ = ["MyData"]

CONFIRM_DELETE = "data.confirm_delete"


class MyData:
    def __init__(self) -> None:
        self.states = {CONFIRM_DELETE: self.on_confirm_delete}
        self.prompts = {CONFIRM_DELETE: self.ask_confirm_delete}

    async def command(self, ctx: Context, name: str, args: str) -> bool:
        if name in ("xoa_du_lieu", "xoadulieu"):
            if (not ctx.user.consented and ctx.state == IDLE
                    and await q.forget_visitor(ctx.conn, ctx.user.id)):
                ctx.erased = True  # never agreed, nothing kept: nothing to confirm either
                ctx.say(ctx.t("data.nothing_kept"))
                return True
            ctx.data = {"resume": ctx.state} if ctx.state != CONFIRM_DELETE else ctx.data
            await ctx.show(CONFIRM_DELETE)
        elif name in ("tat_thong_bao", "tatthongbao"):
            await q.set_announcements(ctx.conn, ctx.user.id, False)
            ctx.say(ctx.t("data.announcements_off"))
        elif name in ("nhan_thong_bao", "nhanthongbao"):
            await q.set_announcements(ctx.conn, ctx.user.id, True)
            ctx.say(ctx.t("data.announcements_on"))
        else:
            return False
        return True

    async def ask_confirm_delete(self, ctx: Context) -> None:
        count = len(await q.questions_of_user(ctx.conn, ctx.user.id, limit=10_000))
        ctx.say(ctx.t("data.confirm_delete", count=count), menu([
            (ctx.t("data.button.delete"), "data:delete"),
            (ctx.t("data.button.keep"), "data:keep"),
        ]))

    async def on_confirm_delete(self, ctx: Context) -> None:
        if ctx.action == "data:delete":
            gone = await q.live_questions_of_user(ctx.conn, ctx.user.id)
            deleted = await q.delete_user_data(ctx.conn, ctx.user.id, now=ctx.now,
                                               masked=mask_pii, scrubbed=ctx.t("data.scrubbed"))
            ctx.erased = True
            forget_questions(ctx, gone)  # erased: no later question may join because of them
            ctx.reset(IDLE)
            ctx.say(ctx.t("data.deleted", questions=deleted.questions, outbox=deleted.outbox))
        elif ctx.action == "data:keep":
            ctx.reset(IDLE)
            ctx.say(ctx.t("data.kept"))
        else:
            ctx.say(ctx.t("error.choose_from_list"))
            await ctx.show(CONFIRM_DELETE)
