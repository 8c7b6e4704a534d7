"""Config is validated at start-up; a bad value names its key and the fix."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config
from tests.conftest import ROOT
from tests.fakes.shipped_config import SHIPPED


def load_with(tmp_path, old: str, new: str, environ: dict | None = None):
    assert old in SHIPPED
    path = tmp_path / "c.toml"
    path.write_text(SHIPPED.replace(old, new, 1), encoding="utf-8")
    return load_config(path, environ=environ or {})


@pytest.mark.parametrize(("old", "new", "key"), [
    ('timezone = "Asia/Ho_Chi_Minh"', 'timezone = "Asia/Hanoi_City"', "bot.timezone"),
    ('time = "07:30"', "time = 730", "digest.time"),
    ("question_min_chars = 15", "question_min_chars = 5000", "bot.question_min_chars"),
    ("similar_threshold = 15", "similar_threshold = 170", "matching.similar_threshold"),
    ("closes = 2027-07-15", "closes = 2026-01-01", "dialogues[0].closes"),
    ('code = "LC27"', 'code = "lc-27"', "dialogues[0].code"),
    ("opens = 2026-11-01", 'opens = "01/11/2026"', "dialogues[0].opens"),
    ('base_url = "https://api.telegram.org/bot"', 'base_url = "api.telegram.org"',
     "telegram.base_url"),
    ("staff_ids = []", "staff_ids = [1.5]", "telegram.staff_ids[0]"),
    ('mode = "polling"', 'mode = "push"', "telegram.mode"),
    ('development only.\nmode = "polling"', 'development only.\nmode = "push"', "zalo.mode"),
    ('webhook_url = ""', 'webhook_url = "http://plain.example/hook"', "telegram.webhook_url"),
    ("allow_no_staff_alerts = false", 'allow_no_staff_alerts = "yes"',
     "safety.allow_no_staff_alerts"),
    ("allow_no_staff_alerts = false", "allow_no_staff_alert = true", "safety.allow_no_staff_alert"),
])
def test_bad_value_names_key(tmp_path, old, new, key):
    with pytest.raises(ConfigError) as error:
        load_with(tmp_path, old, new)
    assert f"`{key}`" in str(error.value)


TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


@pytest.mark.parametrize(("old", "new", "key"), [
    ("staff_ids = []", 'staff_ids = ["lan"]', "telegram.staff_ids[0]"),
    ("staff_ids = []", "staff_ids = [-5]", "telegram.staff_ids[0]"),
    ("staff_chat_id = 0", 'staff_chat_id = "abc"', "telegram.staff_chat_id"),
    ("staff_chat_id = 0", f'staff_chat_id = "{TOKEN}"', "telegram.staff_chat_id"),
    ('mode = "polling"', f'mode = "polling"\ntoken = "{TOKEN}"', "telegram.token"),
])
def test_ids_that_are_not_ids_and_secrets_in_the_file_are_refused(tmp_path, old, new, key):
    # Red-team pass 4, F11: a name, a token pasted into staff_chat_id were "valid"; a token in
    # the file was only "unknown key". Found at the first danger alert, or never.
    with pytest.raises(ConfigError) as error:
        load_with(tmp_path, old, new)
    message = str(error.value)
    assert f"`{key}`" in message and "AAHdq" not in message and "123456789:" not in message
    if key.endswith("token"):
        assert "TELEGRAM_BOT_TOKEN" in message and "revoke" in message


def test_missing_file_says_how_to_fix(tmp_path):
    with pytest.raises(ConfigError, match="--config"):
        load_config(tmp_path / "nope.toml", environ={})


def test_tokens_come_from_the_environment_and_never_print(tmp_path):
    config = load_with(tmp_path, "[bot]", "[bot]",
                       environ={"TELEGRAM_BOT_TOKEN": "123456:AAAAAAAAAAAAAAAAAAAAAAAAAAAA"})
    assert config.telegram_token.value.startswith("123456:")
    assert "AAAA" not in repr(config) and "AAAA" not in str(config.telegram_token)


def test_shipped_config_has_the_seed_dialogues():
    config = load_config(ROOT / "config.toml", environ={})
    lai_chau = config.settings.dialogue("lai-chau-2027")
    assert lai_chau is not None and len(lai_chau.topics) == 7
    assert (lai_chau.answer_deadline.day, lai_chau.answer_deadline.month) == (25, 7)
    assert (lai_chau.summary_deadline.day, lai_chau.summary_deadline.month) == (31, 7)
    assert str(config.settings.timezone) == "Asia/Ho_Chi_Minh"


def test_the_other_seed_plans_ship_as_closed_examples():
    import datetime as dt

    settings = load_config(ROOT / "config.toml", environ={}).settings
    kon_tum = settings.dialogue("kon-tum-2024")
    assert kon_tum is not None and kon_tum.closes == dt.date(2024, 10, 29)
    assert kon_tum.answer_deadline == dt.date(2024, 11, 15)
    assert settings.dialogue("thai-nguyen-2023") is not None
    assert [d.id for d in settings.open_dialogues(dt.date(2026, 12, 1))] == ["lai-chau-2027"]


def test_danger_alerts_need_a_staff_chat_unless_said_on_purpose(tmp_path):
    assert load_config(ROOT / "config.toml", environ={}).allow_no_staff_alerts is False
    config = load_with(tmp_path, "allow_no_staff_alerts = false", "allow_no_staff_alerts = true")
    assert config.allow_no_staff_alerts is True


@pytest.mark.parametrize(("old", "new", "unknown", "closest"), [
    ('time = "07:30"', 'tme = "07:30"', "`digest.tme`", "`digest.time`"),
    ("[digest]", "[digets]", "[digets]", "`digest`"),
    ("staff_ids = []\nstaff_chat_id = 0", "staff_ids = []\nstaf_chat_id = -100123",
     "`telegram.staf_chat_id`", "`telegram.staff_chat_id`"),
    ('dialogue_when = "tháng 8 năm 2027"', 'dialog_when = "tháng 8"',
     "`dialogues[0].dialog_when`", "`dialogues[0].dialogue_when`"),
    ("[[hotlines]]\nname", "[[hotlines]]\nnote = 1\nname", "`hotlines[0].note`", ""),
])
def test_an_unknown_key_or_table_is_an_error_naming_the_closest_one(tmp_path, old, new,
                                                                     unknown, closest):
    # A typo in staff_chat_id would silently turn off danger alerts: it must stop start-up.
    with pytest.raises(ConfigError) as error:
        load_with(tmp_path, old, new)
    message = str(error.value)
    assert f"unknown {'table' if unknown.startswith('[') else 'key'} {unknown}" in message
    assert (f"Did you mean {closest}?" in message) if closest else "Did you mean" not in message


def test_free_form_tables_take_any_names_and_the_shipped_config_has_no_unknown_key(tmp_path):
    config = load_with(tmp_path, "[communes.rename]", '[communes.rename]\n"Xã Cũ" = "Xã Mới"')
    assert config.communes_rename == {"Xã Cũ": "Xã Mới"}
    load_config(ROOT / "config.toml", environ={})
