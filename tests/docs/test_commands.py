"""The commands README and /help name are the commands the bot answers, and no others."""

from __future__ import annotations

import re

import pytest

from handlers.staff import Staff
from tests.chat import Member
from tests.conftest import ROOT, STAFF_TELEGRAM_ID

_COMMAND = re.compile(r"(?<![\w/])/([a-z_]+)")  # not the "/mm/yyyy" of a date


def _readme_part(start: str, end: str) -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return text[text.index(start):text.index(end, text.index(start))]


async def test_staff_commands_in_help_and_readme_are_the_commands_the_bot_answers(staff_runtime):
    locale = staff_runtime.services.locale
    in_help = set(_COMMAND.findall(locale.t("help.staff"))) - {"help"}
    readme = set(_COMMAND.findall(_readme_part("Staff: `/help` lists theirs", "\n\n"))) - {"help"}
    staff_flow = set(Staff().commands) - {"help"}
    assert staff_flow <= in_help, sorted(staff_flow - in_help)  # every staff command is listed
    assert readme == in_help, (sorted(in_help - readme), sorted(readme - in_help))
    unknown = _unknown(locale)
    for name in sorted(in_help - staff_flow):  # listed, answered by another flow (/moi_can_bo)
        staff = Member(staff_runtime, user=STAFF_TELEGRAM_ID, channel="telegram")
        await staff.send(f"/{name}")
        assert unknown not in staff.text, name


def _unknown(locale) -> str:
    return locale.t("error.unknown_command", command="§").split("§")[0]


async def test_every_member_command_in_help_is_answered_as_a_command(staff_runtime):
    listed = _COMMAND.findall(staff_runtime.services.locale.t("help.member"))
    assert {"start", "cua_toi", "xoa_du_lieu"} <= set(listed)
    unknown = _unknown(staff_runtime.services.locale)
    for name in listed:
        member = Member(staff_runtime, user=f"m-{name}")
        await member.send(f"/{name}")
        assert unknown not in member.text, name


@pytest.mark.parametrize("name", ["khong_co_lenh_nay"])
async def test_an_unknown_command_is_named_back_to_her(staff_runtime, name):
    member = Member(staff_runtime, user="m-unknown")
    await member.send(f"/{name}")
    assert f"/{name}" in member.text and "/help" in member.text
