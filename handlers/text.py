"""Input cleaning shared by every flow: `from_outside` makes what a platform sent safe to store,
`clean` tidies it for the flows, `fold` makes two spellings of the same words comparable (case,
diacritics, đ→d, composed/decomposed forms). The original text is always what is stored; folded
forms are derived.

Turning a question into its matching form (teencode, stopwords, concept and request tables) is
handlers.normalise.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

__all__ = ["FOLD_TABLE", "clean", "fold", "from_outside", "replace_spans"]

# Every invisible format character (Unicode category Cf: soft hyphen, zero-width, bidi marks
# and overrides, tags), the blanks that draw nothing (combining grapheme joiner, Hangul fillers),
# plus C0/C1 controls except newline and tab. One left inside a phone number hid it from the
# masking (red-team pass 4, F10: "0987<U+00AD>654<U+00AD>321").
_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f"
    "\u0890\u0891\u08e2\u115f\u1160\u180b-\u180f\u200b-\u200f\u202a-\u202e\u2060-\u206f"
    "\u3164\ufeff\uffa0\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
    "\U000e0100-\U000e01ef]")
# Variation selectors belong after an emoji ("✍️" on a button she may type back); after a
# letter or a digit they only hide it.
_SELECTOR_IN_WORD = re.compile(r"(?<=\w)[\ufe00-\ufe0f]+")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")


# Code points no UTF-8 text can hold (lone surrogates: JSON's "\ud800" decodes to one), and the
# controls that have no business in a chat message. Newline and tab stay; the line and paragraph
# separators and CR become newlines.
_UNENCODABLE = re.compile(r"[\ud800-\udfff]")
_CONTROLS = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]")
_NEWLINES = re.compile(r"\r\n?|[\u2028\u2029\u0085]")


def from_outside(value: str) -> str:
    """Whatever a platform sent, made safe to store, log and show: lone surrogates become
    U+FFFD, CR, NEL and the line/paragraph separators become newlines, other controls and
    invisible format characters (bidi overrides, zero-width) go.
    Nothing else changes (no trimming, no cutting): `clean` tidies for the flows later."""
    if not value:
        return ""
    if not isinstance(value, str):
        value = str(value)
    if value.isascii() and value.isprintable():
        return value
    value = _UNENCODABLE.sub("\ufffd", value)
    value = _NEWLINES.sub("\n", value)
    value = _SELECTOR_IN_WORD.sub("", value)
    return _INVISIBLE.sub("", _CONTROLS.sub("", value))  # bidi overrides, zero-width: never kept


def clean(text: str) -> str:
    """NFC, no control or invisible characters, tidy whitespace. Keeps newlines."""
    text = unicodedata.normalize("NFC", text or "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SELECTOR_IN_WORD.sub("", _INVISIBLE.sub("", text))
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def _build_fold_table() -> dict[int, str | None]:
    """Precomposed Latin letter → unaccented lower-case ASCII letter, for str.translate."""
    table: dict[int, str | None] = {ord("đ"): "d", ord("Đ"): "d"}
    for start, end in ((0x00C0, 0x0250), (0x1E00, 0x1F00)):
        for cp in range(start, end):
            bare = "".join(ch for ch in unicodedata.normalize("NFD", chr(cp)).lower()
                           if unicodedata.category(ch) != "Mn")
            if bare.isascii() and bare.isalpha() and len(bare) == 1:
                table[cp] = bare
    return table


# translate() with a table is ~3x faster than NFD + a category test per character.
FOLD_TABLE = _build_fold_table()
# fold() also takes text typed decomposed (NFD): its combining marks simply go.
_FOLD_WITH_MARKS = FOLD_TABLE | dict.fromkeys(range(0x300, 0x370))


def fold(text: str) -> str:
    """Lower case, diacritics removed, đ→d, whitespace collapsed: "Xã Nậm Tăm" → "xa nam tam"."""
    # Every message folds many times (menus, communes, danger words): Latin letters go through
    # one table; only what is left outside ASCII takes the slow character-by-character path.
    text = (text or "").lower().translate(_FOLD_WITH_MARKS)
    if not text.isascii():
        text = unicodedata.normalize("NFD", text).replace("đ", "d")
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return " ".join(text.split())


def _overlap(text: str, end: int, start: int) -> bool:
    return start < end


def replace_spans(text: str, spans: Iterable[tuple[int, int]], replacement: str,
                  joins: Callable[[str, int, int], bool] = _overlap) -> str:
    """`text` with each run of `spans` replaced by one `replacement`: a span joins the run
    before it when `joins(text, run_end, span_start)` (by default when they overlap)."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and joins(text, merged[-1][1], start):
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    if not merged:
        return text
    out, position = [], 0
    for start, end in merged:
        out += [text[position:start], replacement]
        position = end
    out.append(text[position:])
    return "".join(out)
