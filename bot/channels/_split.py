"""Splitting long texts at paragraph boundaries for platforms with a message size limit."""

from __future__ import annotations

__all__ = ["split_text"]


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut at blank lines, then lines, then spaces."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), 0)
        if cut < limit // 3:
            cut = window.rfind("\n")
        if cut < limit // 3:
            cut = window.rfind(" ")
        if cut < limit // 3:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n ")
    if rest:
        pieces.append(rest)
    return [p for p in pieces if p]
