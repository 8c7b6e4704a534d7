"""Reading "yes" or "no" in the words women actually type: "dong y", "đồng ý ạ", "ok", "có",
"dc", "ừ", "vâng"… and "không", "ko", "thôi"… The word lists are in locales/vi.toml
([yes_no] yes / no), for staff to extend; matching is on the whole answer, folded (no
diacritics, no case), so "không đồng ý" is a no and never a yes.
"""

from __future__ import annotations

import re

from .locale import Locale
from .text import fold

__all__ = ["yes_or_no"]

# Polite words around the answer that change nothing: "dạ vâng ạ", "ok chị", "đồng ý nhé".
_AROUND = frozenset({"a", "ah", "ak", "da", "nhe", "nha", "nhen", "chi", "em", "co", "ha",
                     "roi", "luon", "nhi", "vay"})
_LEADING = frozenset({"da", "vang", "u"})


def yes_or_no(text: str, locale: Locale) -> bool | None:
    """True for a yes, False for a no, None when the answer is neither (or both)."""
    words = re.sub(r"[^\w ]+", " ", fold(text)).split()
    if not words or len(words) > 6:
        return None
    yes = {fold(w) for w in locale.words("yes_no.yes")}
    no = {fold(w) for w in locale.words("yes_no.no")}
    for candidate in _trimmed(words):
        phrase = " ".join(candidate)
        if phrase in no:
            return False
        if phrase in yes:
            return True
    return None


def _trimmed(words: list[str]) -> list[list[str]]:
    """The answer, then without trailing polite words, then without a leading "dạ"/"vâng"."""
    out = [words]
    core = list(words)
    while len(core) > 1 and core[-1] in _AROUND:
        core = core[:-1]
        out.append(core)
    while len(core) > 1 and core[0] in _LEADING:
        core = core[1:]
        out.append(core)
    return out
