"""The command line as a user runs it: piped input, exit codes, what she reads.

Commands run in this process through `main(argv)` (a process start costs seconds); one smoke test
starts the real `python -m bot` to prove the entry point itself works."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from bot.cli import COMMANDS, main
from tests.conftest import ROOT
from tests.fakes.cli import real_process, wide_open_config


def test_the_real_entry_point_runs_a_chat(tmp_path):
    config = wide_open_config(tmp_path)
    script = "/start\n1\nnam tam\n1\nvay von lam kinh te chan nuoi lon o thon em\n2\n1\n"
    result = real_process("chat", "--config", str(config), "--db", str(tmp_path / "c.db"),
                          stdin=script)
    assert result.returncode == 0, result.stderr
    assert "LC27-000001" in result.stdout


def test_chat_with_piped_input_stores_a_question_and_exits_0(tmp_path, cli):
    config = wide_open_config(tmp_path)
    script = "/start\n1\nnam tam\n1\nvay von lam kinh te chan nuoi lon o thon em\n2\n1\n"
    result = cli("chat", "--config", str(config), "--db", str(tmp_path / "c.db"), stdin=script)
    assert result.returncode == 0, result.stderr
    assert re.search(r"LC27-000001", result.stdout)
    assert "1. ✅ Tôi đồng ý" in result.stdout  # numbered menus on the terminal
    again = cli("chat", "--config", str(config), "--db", str(tmp_path / "c.db"),
                stdin="/cua_toi\n")
    assert "LC27-000001" in again.stdout


def test_run_without_a_token_says_how_to_set_it(tmp_path, cli):
    env = {k: "" for k in ("TELEGRAM_BOT_TOKEN", "ZALO_BOT_TOKEN")}
    result = cli("run", "--db", str(tmp_path / "r.db"), env=env)
    assert result.returncode != 0
    assert "TELEGRAM_BOT_TOKEN" in result.stderr and "python -m bot demo" in result.stderr


def test_run_without_a_staff_chat_refuses_and_names_the_key(tmp_path, cli):
    text = (ROOT / "config.toml").read_text(encoding="utf-8").replace(
        'base_url = "https://api.telegram.org/bot"', 'base_url = "http://127.0.0.1:9/bot"', 1)
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    result = cli("run", "--config", str(path), "--db", str(tmp_path / "r.db"),
                 env={"TELEGRAM_BOT_TOKEN": "123:ABC", "ZALO_BOT_TOKEN": ""})
    assert result.returncode != 0
    assert "`[telegram] staff_chat_id`" in result.stderr
    assert "allow_no_staff_alerts" in result.stderr


def test_chat_disclosure_gets_hotlines_and_the_truth_about_alerts(tmp_path, cli):
    config = wide_open_config(tmp_path)  # shipped: no staff chat
    script = "ck e hay dh e, toi qua lai dap e, e so lam\n"
    result = cli("chat", "--config", str(config), "--db", str(tmp_path / "c.db"), stdin=script)
    assert result.returncode == 0, result.stderr
    assert "113" in result.stdout and "1900 969 680" in result.stdout
    assert "chưa chuyển được" in result.stdout and "Hội đã báo" not in result.stdout
    assert "Xin chào" not in result.stdout and "Trang 1/" not in result.stdout
    policy = cli("chat", "--config", str(config), "--db", str(tmp_path / "d.db"),
                 stdin="Xin hỏi mức phạt đối với hành vi tổ chức tảo hôn là bao nhiêu?\n")
    assert "113" not in policy.stdout and "đồng ý" in policy.stdout.lower()


def test_bad_config_names_the_key(tmp_path, cli):
    bad = (ROOT / "config.toml").read_text(encoding="utf-8").replace(
        'time = "07:30"', 'time = "25:99"')
    path = tmp_path / "bad.toml"
    path.write_text(bad, encoding="utf-8")
    result = cli("digest", "--print", "--config", str(path))
    assert result.returncode == 2
    assert "digest.time" in result.stderr and "07:30" in result.stderr


def test_export_digest_stats_backup(tmp_path, cli):
    config = wide_open_config(tmp_path)
    db = str(tmp_path / "e.db")
    cli("chat", "--config", str(config), "--db", db,
        stdin="/start\n1\nmuong te\n2\nnuoc sach o ban em bi duc mua mua\n2\n1\n")
    for fmt in ("xlsx", "docx"):
        out = tmp_path / f"out.{fmt}"
        result = cli("export", "--config", str(config), "--db", db, "--dialogue",
                     "lai-chau-2027", "--format", fmt, "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert out.read_bytes()[:2] == b"PK"
    digest = cli("digest", "--print", "--config", str(config), "--db", db)
    assert "nuoc sach" in digest.stdout
    stats = cli("stats", "--config", str(config), "--db", db)
    assert "Câu hỏi: 1" in stats.stdout
    backup = tmp_path / "copy.db"
    assert cli("backup", str(backup), "--config", str(config), "--db", db).returncode == 0
    assert oct(backup.stat().st_mode)[-3:] == "600"
    assert oct(Path(db).stat().st_mode)[-3:] == "600"  # members' data: owner only


def test_every_command_has_help_with_an_example_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, (fn, _) in COMMANDS.items():
        assert fn.__doc__ and "Example:" in fn.__doc__, name
        assert f"python -m bot {name}" in fn.__doc__.split("Example:")[1], name
        assert f"python -m bot {name}" in readme, name


def test_help_of_the_cli_and_of_every_command_prints_and_exits_0(capsys):
    for argv in (["--help"], *([name, "--help"] for name in COMMANDS)):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 0, argv
        assert "usage: python -m bot" in capsys.readouterr().out


def test_each_command_is_one_whole_sentence_in_the_command_list():
    import argparse

    from bot.cli import build_parser
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for choice in sub._choices_actions:
        assert choice.help and choice.help.endswith("."), (choice.dest, choice.help)


def demo_copy(tmp_path: Path) -> Path:
    """config.demo.toml in a fresh directory: its database lands beside it, in data/."""
    text = (ROOT / "config.demo.toml").read_text(encoding="utf-8")
    path = tmp_path / "config.demo.toml"
    path.write_text(text.replace('locale = "locales/vi.toml"',
                                 f'locale = "{ROOT}/locales/vi.toml"'), encoding="utf-8")
    return path


def test_demo_runs_on_its_own_dialogue_and_database_never_the_production_file(
        tmp_path, monkeypatch, capsys):
    import io

    config = demo_copy(tmp_path)
    production = tmp_path / "data" / "doithoai.db"
    monkeypatch.setattr(sys, "stdin", io.StringIO(
        "/start\n1\nnam tam\n1\nvay von lam kinh te chan nuoi lon o thon em\n2\n1\n"))
    assert main(["demo", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "Đối thoại thử" in out and "DEMO-000001" in out
    assert (tmp_path / "data" / "demo.db").is_file() and not production.exists()


def test_run_refuses_the_demo_config_and_demo_refuses_the_production_config(
        tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:ABC")
    assert main(["run", "--config", str(demo_copy(tmp_path))]) == 2
    assert "cấu hình chạy thử" in capsys.readouterr().err
    assert not (tmp_path / "data" / "demo.db").exists()
    assert main(["demo", "--config", str(ROOT / "config.toml")]) == 2
    assert "not a demo config" in capsys.readouterr().err
