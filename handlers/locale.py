"""User-facing text, kept in a TOML file staff can edit (locales/vi.toml)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_LOCALE", "Locale", "LocaleError"]

DEFAULT_LOCALE = Path(__file__).resolve().parent.parent / "locales" / "vi.toml"


class LocaleError(Exception):
    """The locale file is missing a key or a placeholder is wrong."""


@dataclass(frozen=True)
class Locale:
    messages: dict[str, str]
    path: Path

    @classmethod
    def load(cls, path: Path = DEFAULT_LOCALE) -> Locale:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise LocaleError(f"cannot read locale file {path}: {exc}") from exc
        messages: dict[str, str] = {}
        _flatten("", raw, messages)
        return cls(messages, path)

    def t(self, key: str, /, **values: object) -> str:
        """The text for `key`, with `{name}` placeholders filled in."""
        try:
            template = self.messages[key]
        except KeyError as exc:
            raise LocaleError(f"{self.path} has no text for `{key}`") from exc
        if not values:
            return template
        try:
            return template.format_map(values)
        except (KeyError, IndexError, ValueError) as exc:
            raise LocaleError(f"{self.path}: `{key}` has a bad placeholder: {exc}") from exc



    def status_name(self, status: str) -> str:
        """A cluster's status as members, leaders and staff read it ([status] in the locale)."""
        return self.t(f"status.{status}")

    def words(self, key: str) -> tuple[str, ...]:
        """A comma-separated list of words staff can edit, e.g. the answers that mean "yes"."""
        return tuple(w.strip() for w in self.t(key).split(",") if w.strip())


def _flatten(prefix: str, node: dict, out: dict[str, str]) -> None:
    for key, value in node.items():
        full = f"{prefix}{key}"
        if isinstance(value, dict):
            _flatten(full + ".", value, out)
        elif isinstance(value, str):
            out[full] = value.strip("\n")
        else:
            raise LocaleError(f"locale key `{full}` must be text, got {value!r}")
