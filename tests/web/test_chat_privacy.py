"""[privacy] texts_in_chat = false, the shipped default: chat digests and danger alerts carry
counts, case numbers and console links, never a woman's words (Law 91/2025/QH15: chat servers
abroad)."""

from __future__ import annotations

import pytest

from bot.config import load_config
from bot.digest import send_daily_digest
from bot.runtime import open_runtime
from tests.conftest import ROOT, STAFF_GROUP, STAFF_TELEGRAM_ID

from .conftest import ask

URL = "https://doithoai.example.vn"
LOAN = "Chị em bản em muốn vay vốn chăn nuôi bò sinh sản ạ"
DANGER = "Chồng em đánh em hằng đêm, em sợ lắm, gọi em số 0912 345 678"


@pytest.fixture
async def private_runtime(tmp_path, clock):
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    assert "\ntexts_in_chat = false" in text  # the shipped default
    text = text.replace("staff_ids = []\nstaff_chat_id = 0",
                        f"staff_ids = [{STAFF_TELEGRAM_ID}]\nstaff_chat_id = {STAFF_GROUP}", 1)
    text = text.replace('locale = "locales/vi.toml"', f'locale = "{ROOT}/locales/vi.toml"')
    text = text.replace('public_url = ""', f'public_url = "{URL}"', 1)
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    runtime = await open_runtime(load_config(path, environ={}), tmp_path / "p.db", clock=clock)
    yield runtime
    await runtime.close()


async def chat_texts(runtime) -> list:
    async with runtime.db.transaction() as conn:
        return list(await conn.execute_fetchall(
            "SELECT purpose, text FROM outbox WHERE chat_id = ? ORDER BY id", (STAFF_GROUP,)))


async def test_the_danger_alert_and_the_digest_carry_no_words(private_runtime):
    await ask(private_runtime, "91", LOAN)
    await ask(private_runtime, "92", DANGER)
    services = private_runtime.services
    assert await send_daily_digest(private_runtime.db, services.settings, services.locale,
                                   services.clock())
    sent = await chat_texts(private_runtime)
    alerts = [t for p, t in sent if p == "danger"]
    digests = [t for p, t in sent if p == "digest"]
    assert alerts and digests
    everything = "\n".join(t for _, t in sent)
    for words in ("vay vốn", "đánh em", "0912", "…678"):
        assert words not in everything, words
    assert "/nhan LC27-" in alerts[0] and f"{URL}/an-toan" in alerts[0]
    assert "1 người hỏi" in digests[0] and f"{URL}/cum/" in digests[0]


async def test_staff_chat_commands_carry_no_words_or_names(private_runtime):
    """/cum, /xem and /trung answer in the staff chat too: with texts off, her words and her name
    stay on the union's server; staff's own wording (/noidung) may go."""
    from tests.chat import Member

    await ask(private_runtime, "93", LOAN)
    staff = Member(private_runtime, user=STAFF_TELEGRAM_ID, channel="telegram")
    await staff.send("/cum")
    listing = staff.text
    await staff.send("/xem 1")
    opened = staff.text
    for screen in (listing, opened):
        assert "vay vốn" not in screen and "bò sinh sản" not in screen, screen
        assert "bảng điều hành" in screen, screen
    assert f"{URL}/cum/1" in listing
    await staff.send("/noidung 1 Vay vốn ưu đãi chăn nuôi cho hội viên")
    await staff.send("/cum")
    assert "Vay vốn ưu đãi chăn nuôi cho hội viên" in staff.text


async def test_xuat_in_chat_sends_no_file_with_texts_off(private_runtime):
    """The official summary holds every question: with texts off it is fetched in the console."""
    from tests.chat import Member

    await ask(private_runtime, "94", LOAN)
    staff = Member(private_runtime, user=STAFF_TELEGRAM_ID, channel="telegram")
    await staff.send("/xuat docx")
    assert all(r.document is None for r in staff.replies)
    assert f"{URL}/xuat?dinh_dang=docx" in staff.text
