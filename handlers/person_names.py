"""Where a question names a person: the spans handlers.privacy masks as "[tên ẩn]".

A name is found in four ways, each kept narrow so ordinary words stay ("chị em phụ nữ", "Hội",
"lo vấn đề", "thị trấn"):
  - after a "tên" cue ("em tên", "tên em là", "tên là", "họ tên:"): whatever follows, in any
    case ("em ten la nguyen thi hoa"); "tên mình"/"tên chồng" without "là" only before
    capitalised words ("đứng tên chồng thì..." is not a name);
  - "em/tôi/mình là" + capitalised words ("tôi là Hoa"; "em là hội viên" is not a name);
  - a full name: surname + middle marker (thị, văn, thi, A) + given name(s). Capitalised with
    any surname ("Hà Thị Lan", "Vàng A Sử"); typed in lower case only with a known surname
    ("lò thị mến", "nguyen thi hoa"), and without diacritics only with "thi" ("lo van de" is
    "lo vấn đề");
  - a kinship word or title + capitalised words ("anh Vàng A Sử", "cháu Páo", "bà Mai");
  - a surname of the mountain peoples + a usual given name, no middle name ("Tôi Lò Hoa",
    "Giàng Mỷ hỏi"): Kinh surnames begin too many place names for this ("Thái Hòa", "Hoàng
    Mai"); without diacritics "lo thi hoa" counts only before a usual given name.
Capitalised-only rules are skipped in a text written in Title Case, where capitals say nothing.
Place names after "xã/bản/thôn" are kept: staff need the place, and they are not a person.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

from handlers.text import fold, replace_spans

__all__ = ["GAP", "MASK_LABEL", "WORD", "name_spans", "replace_names"]

Span = tuple[int, int]

WORD = re.compile(r"(?:[^\W\d_]|[\u0300-\u036f])+")
GAP = re.compile(r"[ \u00a0]+")
# A mask already written ("[tên ẩn]", "[SĐT ẩn …678]"): never read again as words.
MASK_LABEL = re.compile(r"\[[^\[\]]{0,40}ẩn[^\[\]]{0,40}\]")
_NAME_MAX_WORDS = 4

# Words that end a name: the rest of her sentence ("Hoa ở bản...", "tên em là hoa năm nay").
NOT_NAME = frozenset({
    "a", "ak", "ban", "bi", "bo", "can", "cho", "chong", "co", "con", "cua", "cung", "da",
    "dang", "danh", "day", "dc", "de", "deu", "di", "do", "duoc", "em", "goi", "hai", "hay",
    "hien", "hoi", "khong", "kia", "ko", "la", "lam", "me", "minh", "mot", "muon", "nay",
    "nen", "nguoi", "nha", "nhe", "nhieu", "nu", "o", "phu", "que", "rat", "roi", "sau",
    "say", "sdt", "so", "song", "tai", "the", "thi", "thon", "thuoc", "toi", "truoc", "tu",
    "tuoi", "uong", "va", "van", "vao", "vi", "vien", "vo", "voi", "xa", "xin",
})
# Capitalised words that are not a person: the union, offices, places, the state, the months.
_NOT_A_PERSON = frozenset({
    "ban", "benh", "bi", "bo", "can", "chi", "chu", "cong", "dang", "doan", "giam", "hoi",
    "huyen", "lhpn", "lien", "mat", "nam", "ngan", "nha", "nong", "nuoc", "phong", "phuong",
    "quoc", "so", "tet", "kinh", "mong", "hmong", "dao", "tay", "nung", "muong", "khmu", "lao",
    "thanh", "thi", "thon", "thu", "tinh", "to", "tram", "trung",
    "truong", "ubnd", "uy", "viet", "xa",
})
# Surnames, Kinh and of the northern mountain peoples, as typed with diacritics.
_SURNAMES = frozenset(unicodedata.normalize("NFC", s) for s in [
    "nguyễn", "trần", "lê", "phạm", "hoàng", "huỳnh", "phan", "vũ", "võ", "đặng", "bùi", "đỗ", "hồ",
    "ngô", "dương", "lý", "lò", "vàng", "sùng", "giàng", "mùa", "tòng", "quàng", "lường", "cầm",
    "hờ", "thào", "lầu", "ly", "hạng", "chang", "vừ", "lù", "sần", "nông", "lục", "lưu", "đèo",
    "bạc", "điêu", "khoàng", "mè", "hà", "đinh", "lương", "trịnh", "đào", "mai", "tạ", "cao", "lâm",
    "chu", "tô", "vi", "ma", "triệu", "phùng", "thái", "kiều", "tăng", "quách", "sầm", "hứa",
    "chảo", "tẩn", "phàn", "sình", "sì", "hảng", "thàng", "giáp", "la", "lộc", "tráng", "hầu", "lỳ",
    "cứ", "mua", "vàn", "tao"
])
# Typed without diacritics "X thi Y" is mostly "X thì Y" ("vo thi nau com", "so do thi vay",
# "dang thi cong"): only surnames that are no common word without their marks count there,
# not after a word they make a compound with ("tu nguyen thi", "vi pham thi", "phu huynh thi"),
# and not before a word that goes on her sentence ("nguyen thi dk").
_SURNAMES_FOLDED = frozenset([
    "nguyen", "tran", "pham", "hoang", "huynh", "bui", "vang", "sung", "giang", "tong", "quang",
    "thao", "chang", "trinh", "phung", "khoang",
])
# Surnames that are common words without their marks ("lo", "le", "ly", "ha"): "lo thi hoa"
# is a name only before a usual given name ("lo thi lo" is not).
_SURNAMES_FOLDED_WORDS = frozenset([
    "lo", "lu", "le", "ly", "ha", "cam", "tan", "luong", "dieu", "chao", "lau", "ngo", "tao",
    "phan", "luu", "dao", "mai", "cao", "chu", "vi", "trieu", "sam", "hang", "sin",
])
# Usual given names, as typed with marks (NFC, lower case) and without; none an everyday word
# a sentence would put after "thì" ("cho", "la", "may" are left out).
_GIVEN = frozenset(unicodedata.normalize("NFC", s) for s in [
    "hoa", "mai", "lan", "hương", "hằng", "linh", "ngọc", "phương", "trang", "thảo", "nga",
    "nhung", "dung", "yến", "hiền", "tuyết", "xuân", "mỷ", "mỹ", "pà", "sua", "mẩy", "dế",
    "mến", "nụ", "hạnh", "liên", "thơm", "thu", "huyền", "loan", "oanh", "nhàn", "hồng", "hà",
    "thủy", "thuỷ", "thắm", "diệp", "quyên", "như", "chở", "súa", "dua", "mỉ", "sáy", "pằng",
    "dính", "lả", "chi", "vân", "hoà", "hòa", "tâm", "thanh", "nhài", "lụa", "gấm", "nương",
    "hiên", "dợ", "xuyến", "sinh",
])
# Without marks only the given names no common word folds to ("dung": dùng, đúng, dừng).
_GIVEN_FOLDED = frozenset([
    "hoa", "mai", "lan", "huong", "linh", "ngoc", "phuong", "trang", "thao", "nga", "nhung",
    "yen", "hien", "tuyet", "xuan", "pa", "sua", "men", "hanh", "thom", "huyen", "loan", "oanh",
    "thuy", "diep",
])
# Without a middle name only these surnames count ("Lò Hoa", "Giàng Mỷ"): Kinh surnames begin
# too many place names ("Thái Hòa", "Quảng Hà", "Hoàng Mai", "Lương Tâm").
_SURNAMES_ALONE = frozenset(unicodedata.normalize("NFC", s) for s in [
    "lò", "lù", "vàng", "giàng", "sùng", "thào", "tòng", "quàng", "chảo", "tẩn", "lường", "cầm",
    "điêu", "mùa", "hờ", "lầu", "vừ", "sần", "lỳ", "hạng", "sình", "phàn", "khoàng", "mè", "hảng",
    "thàng", "sì", "cứ", "lý", "ly",
])
# Two capitalised words that are a place or a people, not a surname and a given name.
_NOT_A_NAME_PAIR = frozenset({"hà lan", "hà giang", "lê hoa", "mai hoa", "mai lan"})
# A place word before "Lò Hoa" makes it a place or a street ("đường Lê Lợi", "bản Lò Mai").
_PLACE_BEFORE = frozenset({
    "ban", "xa", "thon", "duong", "pho", "truong", "huyen", "tinh", "phuong", "cho", "song",
    "nui", "ho", "cau", "to", "xom", "lang", "khu", "ngo", "doi", "suoi", "deo", "cong", "chua",
    "den", "dinh", "quan", "benh", "vien", "cty", "hang", "hieu",
})
_COMPOUND_BEFORE = frozenset(["tu", "y", "vi", "quy", "xam", "tinh", "cau", "niem", "qua", "phu",
                              "bo", "kien", "ban"])
_NOT_GIVEN_UNMARKED = frozenset(["dk", "phai", "phat", "sao", "ai", "gi", "j", "nao", "moi",
                                 "cu", "lai", "se", "tot", "kho", "tien", "xu", "ve", "ra"])
_MARKERS = frozenset({"thị", "văn", "thi", "van"})
# After a marker these make an ordinary word: "thị trấn", "thi hành", "văn hóa", "văn bản"
# (with diacritics: "Thị Hạnh" and "Văn Hoà" are names); without diacritics only the sure ones.
_NOT_GIVEN = {
    "thị": frozenset([
        "trấn", "xã", "trường", "hành", "công", "đấu", "hiếu", "sát", "ủy", "uỷ", "thực", "lực",
        "giác"
    ]),
    "văn": frozenset(["hóa", "hoá", "bản", "phòng", "học", "nghệ", "kiện", "minh", "thư"]),
}
_NOT_GIVEN_FOLDED = frozenset({"tran", "xa", "truong"})
_KIN = frozenset(unicodedata.normalize("NFC", s) for s in [
    "anh", "chị", "em", "ông", "bà", "cô", "chú", "bác", "cháu", "con", "bé", "mẹ", "bố", "chồng",
    "vợ", "cụ", "dì", "thím", "mợ", "dượng"
])
_PRONOUN = r"(?:em|e|t[oô]i|tui|m[iì]nh|mk|ch[iị]|con|ch[aá]u|b[aà]|c[ô]|n[oó]|ch[oồ]ng)"
# "em tên", "tên em là", "tên là", "họ tên:": whatever follows is a name, in any case.
_NAME_CUE = re.compile(
    rf"(?<![\w\[])(?:{_PRONOUN}\s+t[eê]n(?:\s+(?:l[aà]|g[oọ]i\s+l[aà]))?"
    rf"|h[oọ]\s+(?:v[aà]\s+)?t[eê]n\s*:?"
    rf"|t[eê]n\s+(?:c[uủ]a\s+)?{_PRONOUN}\s+(?:l[aà]|g[oọ]i\s+l[aà])"
    rf"|t[eê]n\s+(?:l[aà]|g[oọ]i\s+l[aà])|t[eê]n(?=\s*:))\s*:?\s+",
    re.IGNORECASE,
)
# A bare "tên" ("đặt tên đường", "tên chồng"): only capitalised words after it are a name.
_BARE_NAME_CUE = re.compile(r"(?<![\w\[])t[eê]n\s+", re.IGNORECASE)
# "em là Hoa": only capitalised words count as a name here ("em là hội viên" is not one).
_SELF_CUE = re.compile(r"(?<!\w)(?:em|e|t[oô]i|tui|m[iì]nh|mk)\s+l[aà]\s+", re.IGNORECASE)


@dataclass(frozen=True)
class _Word:
    start: int
    end: int
    text: str
    lower: str  # NFC, lower case, diacritics kept

    @cached_property
    def folded(self) -> str:  # read for few words: computed when asked
        return fold(self.lower)

    @property
    def capital(self) -> bool:
        return self.text[0].isupper()

    @property
    def marked(self) -> bool:  # typed with diacritics
        return not self.lower.isascii()


def name_spans(text: str) -> list[Span]:
    """Spans of `text` that name a person (overlapping spans possible; the caller merges)."""
    labels = [m.span() for m in MASK_LABEL.finditer(text)]
    words = [w for w in _words(text) if not any(a <= w.start < b for a, b in labels)]
    title_case = _title_case(words)
    spans = list(_after_cues(text, labels))
    spans += _full_names(text, words, title_case)
    spans += _surname_and_given(text, words)  # Title Case too: both words come from lists
    if not title_case:
        spans += _after_kin(text, words)
    return spans


def _words(text: str) -> Iterator[_Word]:
    for m in WORD.finditer(text):
        lower = unicodedata.normalize("NFC", m.group(0).lower())
        yield _Word(m.start(), m.end(), m.group(0), lower)


def _title_case(words: list[_Word]) -> bool:
    long_words = [w for w in words if len(w.text) > 1]
    return len(long_words) >= 4 and sum(w.capital for w in long_words) >= 0.8 * len(long_words)


def _adjacent(text: str, left: _Word, right: _Word) -> bool:
    return GAP.fullmatch(text, left.end, right.start) is not None


def _chain(text: str, words: list[_Word], i: int) -> list[_Word]:
    """words[i] and the words after it that follow one another with only spaces between."""
    out = [words[i]]
    for word in words[i + 1 : i + _NAME_MAX_WORDS + 1]:
        if not _adjacent(text, out[-1], word):
            break
        out.append(word)
    return out


# -- after a cue ----------------------------------------------------------------------------


def _after_cues(text: str, labels: list[Span]) -> Iterator[Span]:
    for cue, any_case in ((_NAME_CUE, True), (_BARE_NAME_CUE, False), (_SELF_CUE, False)):
        for match in cue.finditer(text):
            if any(a <= match.start() < b for a, b in labels):
                continue
            span = _name_after(text, match.end(), any_case)
            if span:
                yield span


def _name_after(text: str, start: int, any_case: bool) -> Span | None:
    """The name starting at `start`: up to four words, one space apart; a middle marker
    ("Thị", "văn", "A") is part of the name once a first word was taken."""
    end, taken, position = start, 0, start
    while taken < _NAME_MAX_WORDS:
        match = WORD.match(text, position)
        if match is None:
            break
        word = match.group(0)
        lower = unicodedata.normalize("NFC", word.lower())
        middle = taken > 0 and (lower in _MARKERS or word == "A") and _word_follows(text, match)
        if not middle and (fold(word) in NOT_NAME or not (any_case or word[0].isupper())):
            break
        end, taken = match.end(), taken + 1
        gap = GAP.match(text, end)
        if gap is None:
            break
        position = gap.end()
    return (start, end) if taken else None


def _word_follows(text: str, match: re.Match[str]) -> bool:
    gap = GAP.match(text, match.end())
    return gap is not None and WORD.match(text, gap.end()) is not None


# -- full names -----------------------------------------------------------------------------


def _full_names(text: str, words: list[_Word], title_case: bool) -> Iterator[Span]:
    for i in range(len(words) - 2):
        if words[i + 1].lower not in _MARKERS and words[i + 1].text != "A":
            continue  # most words: no middle marker after them, no full name
        chain = _chain(text, words, i)
        if len(chain) < 3:
            continue
        surname, marker, given = chain[0], chain[1], chain[2]
        capital = surname.capital and given.capital and (marker.capital or marker.text == "A")
        if capital and not _capital_surname_ok(surname, title_case):
            continue
        before = words[i - 1] if i and _adjacent(text, words[i - 1], surname) else None
        if not capital and not _lower_full_name(surname, marker, given, before):
            continue
        if not capital and marker.text == "A":
            continue
        if not _given_ok(marker, given):
            continue
        last = given
        if len(chain) > 3 and _given_ok(marker, chain[3]) and chain[3].capital == given.capital:
            last = chain[3]
        yield surname.start, last.end


def _capital_surname_ok(surname: _Word, title_case: bool) -> bool:
    if surname.lower in _SURNAMES or (not surname.marked and surname.folded in _SURNAMES_FOLDED):
        return True
    return not title_case and surname.folded not in _NOT_A_PERSON | NOT_NAME


def _lower_full_name(surname: _Word, marker: _Word, given: _Word, before: _Word | None) -> bool:
    """Lower case: a known surname; without diacritics only with "thi" ("lo van de")."""
    if surname.marked:
        return surname.lower in _SURNAMES and marker.lower in ("thị", "văn")
    known = surname.folded in _SURNAMES_FOLDED or (surname.folded in _SURNAMES_FOLDED_WORDS
                                                   and given.folded in _GIVEN_FOLDED)
    return (known and marker.lower == "thi"
            and not (before and before.folded in _COMPOUND_BEFORE)
            and given.folded not in _NOT_GIVEN_UNMARKED)


def _given_ok(marker: _Word, word: _Word) -> bool:
    if word.folded in _NOT_GIVEN_FOLDED and not word.marked:
        return False
    key = "thị" if marker.folded == "thi" else "văn"
    if word.lower in _NOT_GIVEN[key] and not (word.lower == "minh" and word.capital):
        return False
    if word.capital and word.marked and marker.capital:
        return True  # "Hoàng Thị Nụ": capitals on all three, whatever "nụ" folds to
    return word.folded not in NOT_NAME and (word.capital or word.folded not in _NOT_A_PERSON)


# -- surname + usual given name, no middle name --------------------------------------------


def _surname_and_given(text: str, words: list[_Word]) -> Iterator[Span]:
    """"Tôi Lò Hoa ở bản…", "Giàng Mỷ hỏi": a capitalised surname from the list, then a
    capitalised usual given name, with no place word before them ("đường Lê Lợi")."""
    for i, surname in enumerate(words[:-1]):
        if not surname.capital or surname.lower not in _SURNAMES_ALONE:
            continue
        given = words[i + 1]
        if not (given.capital and _adjacent(text, surname, given) and _usual_given(given)):
            continue
        if f"{surname.lower} {given.lower}" in _NOT_A_NAME_PAIR:
            continue
        if i and _adjacent(text, words[i - 1], surname) and words[i - 1].folded in _PLACE_BEFORE:
            continue
        last = given
        if (i + 2 < len(words) and words[i + 2].capital and _usual_given(words[i + 2])
                and _adjacent(text, given, words[i + 2])):
            last = words[i + 2]
        yield surname.start, last.end


def _usual_given(word: _Word) -> bool:
    return word.lower in _GIVEN or (not word.marked and word.folded in _GIVEN_FOLDED)


# -- kinship word + capitalised name --------------------------------------------------------


_STOP_AFTER_KIN = _NOT_A_PERSON | NOT_NAME | {"ten", "quoc", "nhat", "campuchia"}
_NOT_A_PERSON_MARKED = frozenset({"hàn"})  # "chồng Hàn" is Korean; "Hân" is a name


def _after_kin(text: str, words: list[_Word]) -> Iterator[Span]:
    for i, kin in enumerate(words[:-1]):
        if kin.lower not in _KIN:
            continue
        chain = _chain(text, words, i)[1:]
        taken: list[_Word] = []
        for word in chain:
            middle = bool(taken) and word.text in ("A", "Thị", "Văn")
            shouted = len(word.text) > 1 and word.text.isupper()  # "EM TÊN…": capitals say nothing
            stop = word.folded in _STOP_AFTER_KIN or word.lower in _NOT_A_PERSON_MARKED
            if not middle and (not word.capital or shouted or stop):
                break
            taken.append(word)
        while taken and taken[-1].text in ("A", "Thị", "Văn"):
            taken.pop()
        if taken:
            yield taken[0].start, taken[-1].end


def replace_names(text: str, replacement: str, extra: list[Span] | None = None) -> str:
    """Every name span (and `extra`) replaced by one `replacement`: spans that overlap or touch
    across spaces become one, so no syllable of a name is left beside it."""
    return replace_spans(text, name_spans(text) + (extra or []), replacement, _touching)


def _touching(text: str, end: int, start: int) -> bool:
    return start <= end or GAP.fullmatch(text, end, start) is not None
