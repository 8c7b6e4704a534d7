"""Vietnamese text helpers shared by flows, matching and safety checks.

`clean` makes user input safe to store and show; `fold` makes two spellings of the same words
comparable (case, diacritics, đ→d, composed/decomposed forms). The original text is always what is
stored; folded forms are derived.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DEFAULT_STOPWORDS",
    "DEFAULT_TEENCODE",
    "Normalizer",
    "clean",
    "fold",
    "load_stopwords",
    "load_teencode",
]

# Zero-width, bidi overrides and other invisible format characters (Unicode category Cf), plus
# C0/C1 controls except newline and tab.
_INVISIBLE = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e"
                        r"\u2060-\u2064\u2066-\u2069\ufeff\ufff9-\ufffb]")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u3000]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean(text: str) -> str:
    """NFC, no control or invisible characters, tidy whitespace. Keeps newlines."""
    text = unicodedata.normalize("NFC", text or "")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def fold(text: str) -> str:
    """Lower case, diacritics removed, đ→d, whitespace collapsed: "Xã Nậm Tăm" → "xa nam tam"."""
    text = unicodedata.normalize("NFD", text or "").lower().replace("đ", "d")
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
    return " ".join(text.split())


# --- Normalisation for matching -------------------------------------------------------------------
# Everything below serves question matching: two spellings of one question ("ko dc ho tro j",
# "Không được hỗ trợ gì ạ") must normalise to the same string. The result is only compared, never
# shown or stored as the member's words.

_REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEENCODE = _REPO_ROOT / "locales" / "teencode.tsv"
DEFAULT_STOPWORDS = _REPO_ROOT / "locales" / "stopwords.txt"

# "vay" is a loan ("vay vốn"); "vậy" (so) folds to the same letters. A table entry that produced or
# removed "vay" would silently turn loans into filler (visonorm ships exactly this bug).
_PROTECTED = frozenset({"vay"})


def _build_fold_table() -> dict[int, str]:
    """Precomposed Latin letter → unaccented lower-case ASCII letter, for str.translate."""
    table: dict[int, str] = {ord("đ"): "d", ord("Đ"): "d"}
    for start, end in ((0x00C0, 0x0250), (0x1E00, 0x1F00)):
        for cp in range(start, end):
            base = unicodedata.normalize("NFD", chr(cp))[0].lower()
            if base.isascii() and base.isalpha():
                table[cp] = base
    return table


# translate() with a table is ~3x faster than NFD + a category test per character.
_FOLD_TABLE = _build_fold_table()
# A word: letters and digits; punctuation, emoji and "_" separate words.
_WORD = re.compile(r"[^\W_]+")
# "nhiềuuuu", "khônggg": three or more of one letter are emphasis. Two are emphasis too, except
# "uu"/"oo", which are real once diacritics are gone ("cuu" = cứu/cừu, "xoong"). Digits never
# squeeze ("1000000"). An explicit letter range is ~2x faster than [^\W\d_] here.
_REPEATED = re.compile("([a-z\u00e0-\u024f\u1e00-\u1eff])\\1+")


def _squeeze(match: re.Match[str]) -> str:
    run = match.group(0)
    return run if len(run) == 2 and run[0] in "ou" else run[0]


def _entries(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, text) for every non-blank, non-comment line."""
    with path.open(encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.split("#", 1)[0].strip()
            if line:
                yield lineno, line


def _word_key(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().lower()


def load_teencode(path: Path) -> dict[str, str]:
    """Read `abbrev<TAB>expansion` lines. Keys: the word as typed (lower case, NFC).

    Raises ValueError naming the line for a malformed entry or one that touches "vay" (loan).
    """
    table: dict[str, str] = {}
    for lineno, line in _entries(path):
        key, sep, value = line.partition("\t")
        key, value = _word_key(key), " ".join(_word_key(value).split())
        if not sep or not key or not value or " " in key:
            raise ValueError(f"{path}:{lineno}: expected 'abbrev<TAB>expansion', got {line!r}")
        touched = set(fold(key).split()) | set(fold(value).split())
        if touched & _PROTECTED and fold(key) != fold(value):
            raise ValueError(f"{path}:{lineno}: {line!r} would rewrite 'vay' (loan); not allowed")
        table[key] = value
    return table


def load_stopwords(path: Path) -> frozenset[str]:
    """Read one word or phrase per line; entries are returned folded ("ạ" → "a").

    Raises ValueError naming the line for an entry that folds to "vay" (loan), e.g. "vậy".
    """
    words: set[str] = set()
    for lineno, line in _entries(path):
        entry = fold(line)
        if set(entry.split()) & _PROTECTED:
            raise ValueError(f"{path}:{lineno}: {line!r} folds to 'vay' (loan); not allowed")
        words.add(entry)
    return frozenset(words)


@dataclass(frozen=True)
class Normalizer:
    """Question text → space-joined folded content words, for matching only.

    Steps: NFC, lower case, squeeze repeated letters, split into words (drops punctuation and
    emoji), expand teencode word by word (keys as typed), fold diacritics, drop stopword phrases,
    drop stopwords (compared folded).
    """

    teencode: Mapping[str, str] = field(default_factory=dict)
    stopwords: frozenset[str] = frozenset()
    _single: frozenset[str] = field(init=False, repr=False, compare=False)
    _phrases: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        single = frozenset(w for w in self.stopwords if " " not in w)
        # Longest phrase first so "lam the nao" wins over a shorter overlapping phrase.
        phrases = sorted((w for w in self.stopwords if " " in w), key=len, reverse=True)
        pattern = (re.compile(r"\b(?:" + "|".join(map(re.escape, phrases)) + r")\b")
                   if phrases else None)
        object.__setattr__(self, "_single", single)
        object.__setattr__(self, "_phrases", pattern)

    @classmethod
    def from_files(cls, teencode_path: Path = DEFAULT_TEENCODE,
                   stopwords_path: Path = DEFAULT_STOPWORDS) -> Normalizer:
        return cls(load_teencode(Path(teencode_path)), load_stopwords(Path(stopwords_path)))

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize("NFC", text or "").lower()
        if _REPEATED.search(text):  # rare; the search alone is 4x cheaper than sub()
            text = _REPEATED.sub(_squeeze, text)
        teen = self.teencode
        folded = " ".join([teen.get(w, w) for w in _WORD.findall(text)]).translate(_FOLD_TABLE)
        if self._phrases is not None:
            folded = self._phrases.sub(" ", folded)
        single = self._single
        return " ".join([w for w in folded.split() if w not in single])
