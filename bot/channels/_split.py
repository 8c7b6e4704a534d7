"""Splitting long texts at paragraph boundaries for platforms with a message size limit."""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["split_text", "utf16_units"]


def utf16_units(text: str) -> int:
    """Length as UTF-16 code units: what a platform counting "characters" in JavaScript or Java
    sees (an emoji outside the BMP counts 2)."""
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def split_text(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Pieces of at most `limit` (by `measure`), cut at blank lines, then lines, then spaces."""
    if measure(text) <= limit:
        return [text]
    pieces: list[str] = []
    rest = text
    while measure(rest) > limit:
        size = _fitting(rest, limit, measure)
        window = rest[:size]
        cut = max(window.rfind("\n\n"), 0)
        if cut < size // 3:
            cut = window.rfind("\n")
        if cut < size // 3:
            cut = window.rfind(" ")
        if cut < size // 3:
            cut = size
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest:
        pieces.append(rest)
    return [p for p in pieces if p]


def _fitting(text: str, limit: int, measure: Callable[[str], int]) -> int:
    """How many code points of `text` fit in `limit` (at least one, so the split progresses)."""
    if measure is len:
        return limit
    size = min(len(text), limit)
    while size > 1 and measure(text[:size]) > limit:
        size -= max(1, (measure(text[:size]) - limit) // 2)
    return max(size, 1)
