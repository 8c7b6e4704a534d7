"""Building option menus and matching what a user typed against them.

Choices are numbered 1..n so she can type the number on any channel; "Quay lại" is 0; "Hủy" has
no number and is reached by its button or by typing "hủy"/"huy". Typed labels match without
diacritics ("gui" → "Gửi").
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from .text import fold
from .types import Option, Reply

__all__ = [
    "BACK",
    "CANCEL",
    "menu",
    "offered_from",
    "render_text",
    "resolve_typed",
]

BACK = "nav:back"
CANCEL = "nav:cancel"

_NUMBER = re.compile(r"^\s*(?:so\s*)?(\d{1,3})\s*[.)]?\s*$")
_PUNCT = re.compile(r"[^\w ]+")


def menu(
    choices: Iterable[tuple[str, str]],
    *,
    back_label: str | None = None,
    cancel_label: str | None = None,
    cancel_keywords: Sequence[str] = ("huy", "thoat", "dung"),
    extra: Iterable[Option] = (),
) -> tuple[Option, ...]:
    """Numbered choices, then unnumbered extras, then Quay lại (0) and Hủy."""
    options = [Option(label, action, i) for i, (label, action) in enumerate(choices, 1)]
    options.extend(extra)
    if back_label:
        options.append(Option(back_label, BACK, 0, ("quay lai", "lai", "tro lai")))
    if cancel_label:
        options.append(Option(cancel_label, CANCEL, None, tuple(cancel_keywords)))
    return tuple(options)


def offered_from(replies: Sequence[Reply]) -> list[dict]:
    """What the last menu offered, stored with the conversation to validate the next input."""
    for reply in reversed(replies):
        if reply.options:
            return [
                {"a": o.action, "n": o.number, "l": _folded_label(o.label), "k": list(o.keywords)}
                for o in reply.options
            ]
    return []


# A label is the locale's or config's (buttons, communes, topics, dialogues, "#12"), never what a
# member typed, so the few hundred of them are folded once, not on every message (a commune page
# is 11 of them: bench/throughput.py). Her own words are never kept here.
@functools.lru_cache(maxsize=4096)
def _folded_label(label: str) -> str:
    return fold(label)


@functools.lru_cache(maxsize=4096)
def _label_words(folded_label: str) -> str:
    """A stored option's folded label as typed words are compared with it."""
    return _strip_punct(folded_label)


def resolve_typed(text: str, offered: Sequence[dict]) -> str | None:
    """The action a typed number or label stands for, or None."""
    typed = fold(text)
    match = _NUMBER.match(typed)
    if match:
        number = int(match[1])
        return next((o["a"] for o in offered if o["n"] == number), None)
    folded = _strip_punct(typed)
    if not folded:
        return None
    for option in offered:
        if folded == _label_words(option["l"]) or folded in option["k"]:
            return option["a"]
    return None


def _strip_punct(text: str) -> str:
    return _PUNCT.sub("", text).strip()


def render_text(reply: Reply, typed_hint: str, cancel_hint: str) -> str:
    """A reply as plain text with a numbered menu, for channels without buttons."""
    lines = [reply.text] if reply.text else []
    numbered = [o for o in reply.options if o.number is not None]
    if numbered:
        lines.append("")
        lines.extend(f"{o.number}. {o.label}" for o in sorted(numbered, key=_order))
    others = [o for o in reply.options if o.number is None]
    for option in others:
        keyword = option.keywords[0] if option.keywords else fold(option.label)
        lines.append(cancel_hint.format(keyword=keyword, label=option.label.lower()))
    if any(o.number for o in numbered):
        lines.append(typed_hint)
    return "\n".join(lines)


def _order(option: Option) -> int:
    # "0. Quay lại" goes last, after the choices.
    return option.number if option.number else 10_000
