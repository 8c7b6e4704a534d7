"""[[departments]] in config: ids and contacts, checked at start-up."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config
from tests.conftest import ROOT


def _config(tmp_path, extra: str, replace: tuple[str, str] | None = None):
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    if replace:
        assert replace[0] in text
        text = text.replace(replace[0], replace[1], 1)
    path = tmp_path / "config.toml"
    path.write_text(text + extra, encoding="utf-8")
    return load_config(path, environ={})


def test_a_dialogue_lists_department_ids_or_names(config):
    d = config.settings.dialogue("lai-chau-2027")
    assert d.departments[0] == "Sở Nông nghiệp và Môi trường"
    assert d.department_ids[0] == "so-nn-mt"
    # Known by name only: an id made from the name, no contact.
    assert config.settings.department("so-khoa-hoc-va-cong-nghe").name == \
        "Sở Khoa học và Công nghệ"
    assert config.settings.department("so-y-te").contacts() == ()


def test_contacts_are_read(tmp_path):
    cfg = _config(tmp_path, "", ('id = "so-y-te"\nname = "Sở Y tế"\n',
                                 'id = "so-y-te"\nname = "Sở Y tế"\n'
                                 'telegram_chat_id = -100555\nzalo_chat_id = "z9"\n'))
    assert cfg.settings.department("so-y-te").contacts() == (
        ("telegram", "-100555"), ("zalo", "z9"))


@pytest.mark.parametrize("extra, words", [
    ('\n[[departments]]\nid = "so-y-te"\nname = "Sở Y tế 2"\n', "used twice"),
    ('\n[[departments]]\nid = "Sở"\nname = "X"\n', "lowercase"),
    ('\n[[departments]]\nid = "x"\nname = "X"\nphone = "1"\n', "unknown key"),
    ('\n[[departments]]\nid = "x"\nname = "X"\ntelegram_chat_id = 1.5\n', "telegram_chat_id"),
])
def test_bad_departments_stop_start_up_naming_the_key(tmp_path, extra, words):
    with pytest.raises(ConfigError, match=words):
        _config(tmp_path, extra)


def test_a_misspelt_id_in_a_dialogue_is_not_taken_for_a_new_department(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'so-y-te'"):
        _config(tmp_path, "", ('  "so-y-te",\n  "so-gd-dt",', '  "so y te",\n  "so-gd-dt",'))
