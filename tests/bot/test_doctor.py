"""`python -m bot doctor` as the IT person runs it, against the fake Bot API on loopback."""

from __future__ import annotations

import sqlite3

import pytest

from bot.cli import main
from tests.conftest import ROOT
from tests.fakes.fake_chats import fake_in_thread

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
GROUP = "-1001234567890"


def config_for(tmp_path, base_url: str, staff_chat: str = GROUP):
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    text = text.replace('base_url = "https://api.telegram.org/bot"', f'base_url = "{base_url}"')
    text = text.replace("staff_ids = []\nstaff_chat_id = 0",
                        f"staff_ids = [900]\nstaff_chat_id = {staff_chat}", 1)
    text = text.replace('locale = "locales/vi.toml"', f'locale = "{ROOT}/locales/vi.toml"')
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def doctor(capsys, monkeypatch, config, token: str, *extra: str) -> tuple[int, str]:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", token)
    monkeypatch.delenv("ZALO_BOT_TOKEN", raising=False)
    code = main(["doctor", "--config", str(config), *extra])
    out = capsys.readouterr()
    return code, out.out + out.err


@pytest.fixture
def fake():
    with fake_in_thread(TOKEN) as server:
        server.member_of[GROUP] = {"id": int(GROUP), "type": "supergroup", "title": "Cán bộ"}
        yield server


def test_a_ready_installation_passes(tmp_path, capsys, monkeypatch, fake):
    assert main(["migrate", "--config", str(config_for(tmp_path, fake.base_url))]) == 0
    code, out = doctor(capsys, monkeypatch, tmp_path / "config.toml", TOKEN)
    assert code == 0, out
    assert "token hợp lệ" in out and "bot ở trong nhóm cán bộ" in out
    assert "database integrity ok" in out and "all migrations applied" in out


def test_a_missing_staff_chat_is_caught_with_what_to_do(tmp_path, capsys, monkeypatch, fake):
    config = config_for(tmp_path, fake.base_url, staff_chat="-1009999")  # the bot is not in it
    code, out = doctor(capsys, monkeypatch, config, TOKEN)
    assert code == 1
    assert "không tìm thấy nhóm cán bộ -1009999" in out and "/id" in out
    assert ("getChat", {"chat_id": "-1009999"}) in fake.calls


def test_a_wrong_token_is_caught_and_never_printed(tmp_path, capsys, monkeypatch, fake):
    wrong = "123456:ZZwrongwrongwrongwrongwrongwrong1"
    code, out = doctor(capsys, monkeypatch, config_for(tmp_path, fake.base_url), wrong, "-v")
    assert code == 1
    assert "token sai" in out and "@BotFather" in out
    for piece in (wrong, wrong.split(":")[1], wrong.split(":")[1][:8], TOKEN.split(":")[1][:8]):
        assert piece not in out


def test_an_unreachable_api_is_caught(
        tmp_path, capsys, monkeypatch):
    config = config_for(tmp_path, "http://127.0.0.1:9/bot")  # nothing listens on port 9
    code, out = doctor(capsys, monkeypatch, config, TOKEN)
    assert code == 1 and "không kết nối được" in out


def test_a_damaged_database_is_caught(tmp_path, capsys, monkeypatch, fake):
    config = config_for(tmp_path, fake.base_url)
    assert main(["migrate", "--config", str(config)]) == 0
    database = tmp_path / "data" / "doithoai.db"
    with sqlite3.connect(database) as conn:
        conn.execute("DELETE FROM schema_migrations WHERE name LIKE '0007%'")
        conn.execute("INSERT INTO schema_migrations VALUES ('9999_from_the_future', '')")
    code, out = doctor(capsys, monkeypatch, config, TOKEN)
    assert code == 1 and "9999_from_the_future" in out and "restore" in out
    raw = bytearray(database.read_bytes())
    raw[4096 * 2 + 100: 4096 * 2 + 400] = b"\xff" * 300  # scribble over a table page
    database.write_bytes(bytes(raw))
    code, out = doctor(capsys, monkeypatch, config, TOKEN)
    assert code == 1 and "restore" in out
