"""Masking personal data inside question text before staff, departments or others read it.

Women write their phone number, ID-card number or email into a question ("gọi em số 0912 345
678"). Staff need the question, not the number: contact details live in the member record, where
consent and anonymity rules apply. `mask_pii` replaces each with a short bracketed label that
keeps the LAST THREE digits, so two numbers can still be told apart and a woman can confirm on
the phone that it was hers, without the full number leaking into an Excel sheet:

    0912 345 678, +84 912 345 678, 84912345678   →  [SĐT ẩn …678]
    012345678901 (CCCD, 12 digits)               →  [CCCD ẩn …901]
    123456789    (CMND, 9 digits)                →  [CMND ẩn …789]
    after "stk", "số tài khoản"                  →  [STK ẩn …321]
    other unbroken runs of 9+ digits             →  [số ẩn …321]
    C1234613     (passport: a letter, 7-8 digits) →  [Hộ chiếu ẩn …613]
    "không chín một hai ba bốn năm sáu bảy tám"   →  [số ẩn …678]
    "không chín một hai 345 678", "0912 ba bốn năm sáu bảy tám", "0 9 1 2 . 3 4 5 . 6 7 8",
    "o912345678" (the letter o for a zero)        →  [SĐT ẩn …678]
    lan.nguyen@gmail.com, "lan a còng gmail chấm com", "lan at gmail dot com",
    "lan@gmail .com"                             →  [email ẩn l…@gmail.com]
    "số 12 ngõ 5 đường Trần Phú", "số nhà 45", "nhà thứ 3 cạnh trường bản Nà Tăm",
    "nhà em đối diện UBND xã"                    →  [địa chỉ ẩn]
    "em ten la nguyen thi hoa", "Tôi, Vàng Thị Mỷ,", "anh Vàng A Sử", "lo thi hoa",
    "Tôi Lò Hoa"                                 →  "[tên ẩn]", ...

Names are found by handlers.person_names (a "tên" cue, a full name with thị/văn/A, a kinship
word + capitalised name, a mountain surname + a usual given name); overlapping or touching
spans become one mask, no syllable left.
Another member reads `mask_for_member`: the same, with no digit and no email domain left. The
similar-question matcher reads `matching_text`: that, without the masks and their cue words.
A place named alone (a commune, a bản, a street: "đường vào bản Nà Tăm bị sạt") is not her
address and stays; so does a bản after her name ("[tên ẩn], bản Nà Tăm").

Money, years, ages, dates and counts are left alone ("2026", "50 triệu", "500.000.000 đồng",
"15 tuổi", "200 hộ", "25/7/2026", hotlines "111", "1900 969 680"). How a number is read:
  - a digit run may contain single spaces, dots or dashes ("0912.345.678"); groups are glued
    only while the number has fewer than 10 digits, so "0912345678 15 tuổi" stays two numbers;
  - digits mixed with digit words, spaced one by one around dots, or with an o for a zero,
    are read as one number of 9-12 digits, then labelled by the rules below (a phone starts
    with 0: "ba năm 2023 2024" and "năm 2025" do not);
  - fewer than 9 digits: never personal, left alone;
  - right after "sđt", "zalo", "cccd", "cmnd", "stk", "số tài khoản"...: always masked;
  - starting with 0 or +84/84: phone (10-11 digits), CCCD (12), CMND (9) - amounts, years and
    counts never start with 0;
  - otherwise masked only as one unbroken group of 9+ digits that does not end in 000 and is not
    followed by a money unit (đồng, đ, vnđ, k, triệu...): "500.000.000", "200000000" and
    "250000001 đồng" are amounts.
The output never contains 4 digits in a row from a masked number, so masking twice changes
nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.person_names import MASK_LABEL, WORD, replace_names
from handlers.text import FOLD_TABLE, fold, replace_spans

__all__ = ["mask_for_member", "mask_pii", "matching_text", "published_text", "shared_words"]

_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-]+)@([\w-]+(?:\.[\w-]+)+)")
# A run of digit groups; "(+84)" and "+84" prefixes included so the mask covers them.
# Digits apart by a space, dot, dash, comma or a line break (a phone split over two lines,
# "0912,345,678": red-team pass 5, F3) are one run; the run decides what it is.
_RUN = re.compile(r"(?<!\d)(?:\(\+?(?=84)|\+\s?)?\d+(?:(?:\)?(?:, |[ .\-\u00a0,\n])|\))\d+)*")
_GROUP = re.compile(r"\d+")
# A phone written with slashes ("0912/345/686"): groups of 3-4 digits, which a date (d/m/yyyy)
# never has in the middle; read as if spaced, so the run below labels it.
_SLASHED_PHONE = re.compile(r"(?<![\d/])(?:\+?84|0)\d{2,3}(?:/\d{3,4}){2}(?![\d/])")
_MONEY_AFTER = re.compile(
    r"\s?(?:(?:đồng|dong|vnđ|vnd|nghìn|ngàn|nghin|ngan|triệu|trieu|tỷ|ty|tr|đ|d|k)\b|₫)",
    re.IGNORECASE,
)
# Words after which any 9+ digit number is personal, whatever its shape.
_PHONE_WORDS = re.compile(
    r"(?:sdt|so dt|so dien thoai|dien thoai|dt|zalo|lien he|goi)\W*(?:so)?\W*$"
)
_ID_WORDS = re.compile(r"(?:cmnd|cccd|cmt|can cuoc|chung minh|dinh danh|ho chieu)\W*(?:so)?\W*$")
_ACCOUNT_WORDS = re.compile(r"(?:tai khoan|stk|tk|the atm|so the)\W*(?:so)?\W*$")
# A passport number: one letter and 7-8 digits ("C1234613"); receipts carry a dash ("LC27-…").
_PASSPORT = re.compile(r"(?<![\w\-])[A-Za-z]\d{7,8}(?![\w\-])")
# A number spelled out digit by digit ("không chín một hai…"): nine digits or more in a row.
_DIGIT_WORDS = {
    "khong": "0", "linh": "0", "le": "0", "mot": "1", "hai": "2", "ba": "3",
    "bon": "4", "tu": "4", "nam": "5", "lam": "5", "sau": "6", "bay": "7", "bai": "7",
    "tam": "8", "chin": "9",
}
_DIGIT_WORD = (r"(?:kh[oô]ng|linh|l[eẻ]|m[oộ]t|hai|ba|b[oố]n|t[uư]|n[aă]m|l[aă]m|s[aá]u|b[aả]y"
               r"|b[aẩ]y|t[aá]m|ch[ií]n)")
_SPELLED = re.compile(rf"(?<!\w){_DIGIT_WORD}(?:[\s,.\-]+{_DIGIT_WORD}){{8,}}(?!\w)",
                      re.IGNORECASE)
# A number written partly in digits, partly in words, with spaced or dotted groups, or with the
# letter o for a zero: "không chín một hai 345 678", "0912 ba bốn năm sáu bảy tám",
# "0 9 1 2 . 3 4 5 . 6 7 8", "o912345678". Read as its digits, then labelled as a written
# number is (a phone starts with 0; "năm 2025" and "ba năm 2023 2024" do not).
_MIXED_TOKEN = re.compile(rf"(?:[oO](?=\d))?\d+|{_DIGIT_WORD}(?!\w)", re.IGNORECASE)
_MIXED = re.compile(
    rf"(?<![\w+\-.])(?:\+[ \u00a0]?)?(?:{_MIXED_TOKEN.pattern})"
    rf"(?:(?:[ \u00a0]*[.\-][ \u00a0]*|[ \u00a0]+)(?:{_MIXED_TOKEN.pattern}))*",
    re.IGNORECASE,
)
# An email spelled out: "hoa a còng gmail chấm com", "hoa at gmail dot com", "hoa@gmail .com".
_AT = r"(?:@|[(\[]at[)\]]|at|a[ \u00a0]?c[oò]ng)"
_DOT = r"(?:\.|[(\[]dot[)\]]|dot|ch[aấ]m)"
_SPELLED_EMAIL = re.compile(
    rf"(?<![\w.+\-@])([\w.+\-]+)[ \u00a0]*{_AT}[ \u00a0]*([\w\-]+"
    rf"(?:[ \u00a0]*{_DOT}[ \u00a0]*[\w\-]+)*[ \u00a0]*{_DOT}[ \u00a0]*"
    rf"(?:com|vn|net|org|edu|gov|info))(?!\w)",
    re.IGNORECASE,
)
_DOMAIN_PART = re.compile(rf"[ \u00a0]*{_DOT}[ \u00a0]*", re.IGNORECASE)
# Her home, written into a question: a house number, lane or street ("số 12 ngõ 5 đường Trần
# Phú", "số nhà 12", "ngõ 5"), or a house found from a landmark ("nhà thứ 3 cạnh trường bản Nà
# Tăm", "nhà em đối diện UBND xã"). Read on the folded text; a commune, a bản or a street named
# alone ("đường vào bản bị sạt") is a place, not her address, and stays.
_ADDRESS = "[địa chỉ ẩn]"
_LANE = r"(?:ngo|ngach|hem|kiet)\s*(?:so\s*)?\d+[a-z]?(?:/\d+[a-z]?)*"
_HOUSE_NUMBER = r"\d+[a-z]?(?:/\d+[a-z]?)*"
_STREET_WORD = r"(?:duong|pho)\s+"
_BARE_NUMBER = re.compile(rf"so\s*{_HOUSE_NUMBER}\s*,?\s*")
_HOUSE = re.compile(
    rf"(?<!\w)(?:(?:so\s+nha|nha\s+so)\s*{_HOUSE_NUMBER}"
    rf"|so\s*{_HOUSE_NUMBER}(?=\s*,?\s*(?:ngo|ngach|hem|kiet|duong|pho)\s)"
    rf"|{_LANE})(?!\w)"
    rf"(?:\s*,?\s*{_LANE}(?!\w))*(?P<street>\s*,?\s*{_STREET_WORD})?"
)
_PRONOUN = r"(?:em|e|toi|tui|minh|mk|chi|co|ba|chau|con)"
_HER = rf"(?:nha|can nha)\s+(?:cua\s+)?(?:{_PRONOUN}\s+)?(?:o\s+)?"
# "nhà ở gần trường" is housing near a school: a landmark tells her house only with "em/tôi…".
_HER_OWN = rf"(?:nha|can nha)\s+(?:cua\s+)?{_PRONOUN}\s+(?:o\s+)?"
_NTH = r"(?:\d+|mot|hai|ba|bon|tu|nam|sau|bay|tam|chin|muoi|cuoi)"
_LANDMARK = (r"(?:truong|ubnd|uy ban|cho|tram|nha van hoa|cong|dinh|chua|nha tho|buu dien|quan"
             r"|cua hang|don|tru so|nha ong|nha ba|nha anh|nha chi|nha co|nha chu|nha bac|cau)")
# "thu" is "thứ" only with its mark, or before a word that places the house ("nhà thu 5 triệu"
# is an income): "nha thu 3 canh truong".
_NTH_PLACE = r"(?:canh|gan|tu|tinh|ke|o|ben|doi|sat|trong|cuoi|dau|sau|truoc)"
_LOCATOR = re.compile(
    rf"(?<!\w){_HER}(?:(?:la\s+)?(?:can|nha)\s+)?(?P<nth>thu)\s+{_NTH}(?!\w)"
    rf"|(?<!\w){_HER_OWN}(?:ngay\s+)?(?:ben\s+canh|canh|sat\s+vach|sat|doi\s+dien|gan)\s+"
    rf"(?={_LANDMARK}(?!\w))"
)
_NTH_AFTER = re.compile(rf"\s+{_NTH_PLACE}(?!\w)")
_ADDRESS_WORD = re.compile(r"[^\W_]+")
# Where the words after a landmark stop being her address: the rest of her sentence.
_ADDRESS_STOP = frozenset({
    "a", "ak", "bi", "can", "cho", "co", "con", "cung", "da", "dang", "dc", "de", "deu", "duoc",
    "e", "em", "hay", "hien", "hoi", "khi", "khong", "ko", "la", "lai", "ma", "minh", "muon",
    "nay", "nen", "neu", "nhe", "nhung", "phai", "rat", "se", "thi", "toi", "va", "ve",
    "vi", "xin", "chua",
})
_ADDRESS_MAX_WORDS = 6
_SPACES_ONLY = re.compile(r"[ \u00a0]*")
# The words that announce a personal detail, just before its mask: dropped with it for matching.
_CUE_WORD = (r"(?:s[đd]t|[đd]t|s[oố]|[đd]i[eệ]n|tho[aạ]i|zalo|e?mail|gmail|th[uư]|cccd|cmnd|cmt"
             r"|c[aă]n|c[uư][oớ]c|ch[uứ]ng|minh|stk|t[aà]i|kho[aả]n|h[oộ]|chi[eế]u|t[eê]n"
             r"|h[oọ]|l[aà]|c[uủ]a|em|e|t[oô]i|tui|m[iì]nh|mk|ch[iị]|li[eê]n|h[eệ]|g[oọ]i"
             r"|nh[aà]|[oở]|[đd][iị]a|ch[iỉ]|ng[uư][oờ]i|h[oỏ]i|k[yý]|v[aà])")
_MASK_AND_CUE = re.compile(
    rf"(?:(?<!\w){_CUE_WORD}(?!\w)[\s:,.\-]*)*\[[^\[\]]{{0,40}}ẩn[^\[\]]{{0,40}}\]",
    re.IGNORECASE,
)
_CONTEXT_WINDOW = 30
_MIN_DIGITS = 9
_JOIN_BELOW = 10  # a phone has 10 digits: stop gluing groups once a number is that long
_BY_LENGTH = {9: "CMND", 12: "CCCD"}
_BY_LENGTH_NATIONAL = {9: "CMND", 10: "SĐT", 11: "SĐT", 12: "CCCD"}


@dataclass(frozen=True)
class _Chunk:
    start: int
    end: int
    digits: str
    grouped: bool
    plus: bool


def mask_pii(text: str) -> str:
    """Phones, ID-card numbers and emails replaced by labelled hints. Never raises on a str."""
    if not text:
        return text or ""
    return _mask_names(_mask_numbers(text, strict=False))


def _mask_numbers(text: str, strict: bool) -> str:
    """Emails, spelled-out and written numbers, passports; `strict` leaves no hint."""
    text = _EMAIL.sub(lambda m: _mask_email(m, strict), text)
    text = _SPELLED_EMAIL.sub(lambda m: _mask_spelled_email(m, strict), text)
    text = _SPELLED.sub(lambda m: _mask_spelled(m, strict), text)
    text = _PASSPORT.sub(lambda m: _hint("Hộ chiếu", m.group(0), strict), text)
    text = _SLASHED_PHONE.sub(lambda m: m.group(0).replace("/", " "), text)
    text = _MIXED.sub(lambda m: _mask_mixed(m, text, strict), text)
    text = _RUN.sub(lambda m: _mask_run(m, text, strict), text)
    return _mask_addresses(text)


def _mask_names(text: str, extra: list[tuple[int, int]] | None = None) -> str:
    """Every name span (and `extra`, her display name where she wrote it) replaced by one
    "[tên ẩn]", no syllable of a name left beside the mask ("[tên ẩn] Bốn")."""
    return replace_names(text, "[tên ẩn]", extra)




def mask_for_member(text: str, asker_name: str = "") -> str:
    """Another member's question as one member may read it, stricter than what staff see:
    phones, ID and passport numbers and emails masked whole (no last digits, no domain: an
    address is often her name), names masked, and the asker's own display name masked wherever
    she wrote it with a capital ("Giàng Thị Mỷ ở bản…": "ngày mai" keeps its "mai")."""
    if not text:
        return text or ""
    text = _mask_numbers(text, strict=True)
    return _mask_names(text, _display_name_spans(text, asker_name))


def matching_text(text: str) -> str:
    """What the similar-question matcher reads of a question: `mask_for_member` with the masks
    taken out, and the words that announced them ("sđt", "zalo", "email", "số em", "tên em
    là"), so neither a name, a phone, an email or an address, nor the label standing for one,
    nor its cue can make two questions look alike."""
    return _MASK_AND_CUE.sub(" ", mask_for_member(text)) if text else ""


_MIDDLE_NAMES = frozenset({"Thị", "Văn", "Thi", "Van"})  # alone they are ordinary words


def _display_name_spans(text: str, name: str) -> list[tuple[int, int]]:
    words = {w for w in WORD.findall(name) if len(w) > 1 and w[0].isupper()}
    core = sorted(words - _MIDDLE_NAMES, key=len, reverse=True)
    if not core:
        return []
    middle = sorted(words & _MIDDLE_NAMES, key=len, reverse=True)

    def alternatives(items: list[str]) -> str:
        return r"(?<!\w)(?:" + "|".join(map(re.escape, items)) + r")(?!\w)"

    any_word = alternatives(core + middle)
    lead = rf"(?:{alternatives(middle)}[ \u00a0]+)*" if middle else ""
    run = rf"{lead}{alternatives(core)}(?:[ \u00a0]+{any_word})*"
    return [m.span() for m in re.finditer(run, text)]


def shared_words(hers: str, other: str) -> str:
    """What she may read of another member's question before staff worded it: runs of two or
    more of HER words, in her order, that `other` holds too, joined by "…". Nothing she did not
    type herself; a lone shared word ("em", "hỏi") says nothing and is left out, and so are
    the words that announced a masked detail ("zalo", "email", "số em"): that they are shared
    would tell her the other woman wrote one."""
    theirs = {fold(w) for w in re.findall(r"\w+", _MASK_AND_CUE.sub(" ", other))}
    runs: list[list[str]] = [[]]
    for word in _sayable(hers):
        if word and fold(word) in theirs:
            runs[-1].append(word)
        elif runs[-1]:
            runs.append([])
    kept = [" ".join(run) for run in runs
            if len(run) > 1 and any(fold(w) not in _FILLER and fold(w) not in _PLACE_CUES
                                    for w in run)]
    return " … ".join(kept) if kept else "…"


# Words that say nothing of what a question asks: a run of them alone is not shared content.
_FILLER = frozenset({
    "a", "ah", "ak", "ay", "chi", "cho", "co", "cua", "da", "dc", "de", "di", "do", "duoc", "e",
    "em", "gi", "ha", "hoi", "khong", "k", "ko", "la", "lam", "luc", "ma", "minh", "muon", "nao",
    "nay", "nhe", "nhi", "o", "oi", "roi", "sao", "the", "thi", "toi", "tui", "va", "ve", "voi",
    "vs", "xin"})
# After these, the next words are a place's name (her bản, her hamlet, her street): written
# with marks, or plain where the plain form is no everyday word ("ban" is also bán, bạn).
_PLACE = frozenset({"bản", "thôn", "xóm", "tổ", "khu", "đội", "xã", "phường", "huyện",
                    "đường", "phố", "ngõ", "hẻm", "thon", "xom", "phuong", "huyen"})
# Beside filler, these say where she lives, not what she asks: "ở bản" shared is no content (it
# would tell B that a question from a bản exists, found by the bản's name she guessed). Not
# "đường" (a road is a concern), nor cues whose bare letters are everyday words (tổ, đội, khu).
_PLACE_CUES = frozenset({"ban", "thon", "xom", "xa", "phuong", "huyen"})


def _sayable(hers: str) -> list[str]:
    """Her words, with "" where a word may not be echoed: what would confirm a detail of the
    other woman's if it were shared (red-team pass 5, F1: "bản Nà Tăm", "3 con", a name).
    Out: numbers, capitalised words inside a sentence (names, places), and the two words
    after a place word ("ban na tam" typed plainly)."""
    out: list[str] = []
    after_place = 0
    for match in re.finditer(r"\w+|[.!?\n]", hers):
        word = match.group(0)
        if word in ".!?\n":
            out.append("")
            after_place = 0
            continue
        starts_sentence = not out or out[-1] == ""
        blocked = (any(ch.isdigit() for ch in word) or after_place > 0
                   or (word[0].isupper() and not starts_sentence))
        after_place = 2 if word.lower() in _PLACE else max(0, after_place - 1)
        out.append("" if blocked else word)
    return out


def published_text(text: str, public_text: str, disclosure: bool, reference: str) -> str:
    """A cluster's words in a digest or an export that leaves the union's hands: staff's
    wording, or the masked question; a danger disclosure only as `reference` (a case number
    staff can open), never its words."""
    if public_text:
        return public_text
    return reference if disclosure else mask_pii(text)


def _mask_email(match: re.Match[str], strict: bool) -> str:
    return "[email ẩn]" if strict else f"[email ẩn {match.group(1)[0]}…@{match.group(2)}]"


def _hint(label: str, digits: str, strict: bool) -> str:
    return f"[{label} ẩn]" if strict else f"[{label} ẩn …{digits[-3:]}]"


def _mask_spelled(match: re.Match[str], strict: bool) -> str:
    digits = "".join(_DIGIT_WORDS.get(fold(t), t) for t in re.findall(r"\w+", match.group(0)))
    return _hint("số", digits, strict)


def _mask_spelled_email(match: re.Match[str], strict: bool) -> str:
    if MASK_LABEL.search(match.group(0)):
        return match.group(0)
    domain = ".".join(_DOMAIN_PART.split(match.group(2)))
    return "[email ẩn]" if strict else f"[email ẩn {match.group(1)[0]}…@{domain.lower()}]"


def _mask_mixed(match: re.Match[str], text: str, strict: bool) -> str:
    """A number in words and digits ("không chín một hai 345 678"): masked when its digits
    make a phone, an ID or an account number as `_label` reads them. Digit words at either end
    that the number does not need stay ("ba 0912345678", "0912345678 năm nay")."""
    tokens = list(_MIXED_TOKEN.finditer(match.group(0)))
    values = [m.group(0).replace("o", "0").replace("O", "0") if m.group(0)[-1].isdigit()
              else _DIGIT_WORDS[fold(m.group(0))] for m in tokens]
    words = [not m.group(0)[-1].isdigit() for m in tokens]
    first, last = 0, len(tokens)
    while (last - first > 1 and words[first]
           and len("".join(values[first + 1 : last])) >= _MIN_DIGITS
           and values[first + 1].startswith("0")):
        first += 1
    while last - first > 1 and words[last - 1] and len("".join(values[first : last - 1])) >= 10:
        last -= 1
    digits = "".join(values[first:last])
    start, end = match.start() + tokens[first].start(), match.start() + tokens[last - 1].end()
    if first == 0 and match.group(0)[0] == "+":
        start = match.start()
    written = text[start:end]
    if (not any(words[first:last]) and "o" not in written.lower()
            and any(len(value) > 1 for value in values[first:last])):
        return match.group(0)  # digits as _RUN reads them: its rules (money, dates) apply
    if not _MIN_DIGITS <= len(digits) <= 12:
        return match.group(0)
    label = _label(_Chunk(start, end, digits, grouped=True, plus=written[0] == "+"), text)
    if label is None:
        return match.group(0)
    return (text[match.start() : start] + _hint(label, digits, strict)
            + text[end : match.end()])


def _mask_addresses(text: str) -> str:
    folded = _fold_in_place(text)
    if len(folded) != len(text):
        return text
    spans = [span for m in _HOUSE.finditer(folded) if (span := _house_span(text, m))]
    spans += [_locator_span(folded, m) for m in _LOCATOR.finditer(folded)
              if m.group("nth") is None or text[m.start("nth") : m.end("nth")].lower() == "thứ"
              or _NTH_AFTER.match(folded, m.end())]
    return replace_spans(text, spans, _ADDRESS)  # overlapping spans: one mask


def _fold_in_place(text: str) -> str:
    """`fold` that keeps every character where it was: no whitespace collapsed."""
    folded = text.translate(FOLD_TABLE)
    if folded.isascii():
        return folded.lower()
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in folded)


def _house_span(text: str, match: re.Match[str]) -> tuple[int, int] | None:
    """A house number and lane, and the street's name after "đường"/"phố" (its capitalised
    words or its number: "đường Trần Phú", "phố 3")."""
    end = match.end()
    if match.group("street"):
        named = _street_length(text[end:])
        if not named:  # "số 12 đường lối": no street's name, so no address either
            end = match.start("street")
            if _BARE_NUMBER.fullmatch(match.group(0), 0, end - match.start()):
                return None
        end += named
    return match.start(), end


_NAME_MAX_STREET = 4


def _street_length(rest: str) -> int:
    """How many characters of `rest` name the street: up to four capitalised words or a
    number, one space apart."""
    length = 0
    for taken, word in enumerate(re.finditer(r"[^\s,.;:!?()]+", rest)):
        if taken == _NAME_MAX_STREET or (taken and not _SPACES_ONLY.fullmatch(rest, length,
                                                                             word.start())):
            break
        token = word.group(0)
        if not (token[0].isupper() or token.isdigit()):
            break
        length = word.end()
    return length


def _locator_span(folded: str, match: re.Match[str]) -> tuple[int, int]:
    """"nhà thứ 3 cạnh trường bản Nà Tăm": the cue and up to six words after it, to the end of
    her clause."""
    end = match.end()
    for taken, word in enumerate(_ADDRESS_WORD.finditer(folded, match.end())):
        if (taken == _ADDRESS_MAX_WORDS or word.group(0) in _ADDRESS_STOP
                or not _SPACES_ONLY.fullmatch(folded, end, word.start())):
            break
        end = word.end()
    return match.start(), end


def _chunks(match: re.Match[str]) -> list[_Chunk]:
    """Split a run into numbers: glue groups while the number is shorter than a phone."""
    plus = match.group(0)[0] in "(+"
    out: list[_Chunk] = []
    current: list[re.Match[str]] = []
    for group in _GROUP.finditer(match.group(0)):
        if sum(len(g.group(0)) for g in current) >= _JOIN_BELOW:
            out.append(_chunk(current, match.start(), plus and not out))
            current = []
        current.append(group)
    out.append(_chunk(current, match.start(), plus and not out))
    return out


def _chunk(groups: list[re.Match[str]], base: int, plus: bool) -> _Chunk:
    return _Chunk(
        start=base if plus else base + groups[0].start(),  # "+84 ..." is masked with its "+"
        end=base + groups[-1].end(),
        digits="".join(g.group(0) for g in groups),
        grouped=len(groups) > 1,
        plus=plus,
    )


def _mask_run(match: re.Match[str], text: str, strict: bool) -> str:
    pieces: list[str] = []
    position = match.start()
    for chunk in _chunks(match):
        label = _label(chunk, text)
        if label:
            pieces.append(text[position : chunk.start])
            pieces.append(_hint(label, chunk.digits, strict))
            position = chunk.end
    pieces.append(text[position : match.end()])
    return "".join(pieces)


def _national(chunk: _Chunk) -> str:
    digits = chunk.digits
    if digits.startswith("84") and (chunk.plus or len(digits) == 11):
        return "0" + digits[2:]
    return digits


def _label(chunk: _Chunk, text: str) -> str | None:
    """What the number is, or None to leave it as written."""
    if len(chunk.digits) < _MIN_DIGITS:
        return None
    number = _national(chunk)
    before = fold(text[max(0, chunk.start - _CONTEXT_WINDOW) : chunk.start])
    if _PHONE_WORDS.search(before):
        return "SĐT"
    if _ID_WORDS.search(before):
        return _BY_LENGTH.get(len(number), "số")
    if _ACCOUNT_WORDS.search(before):
        return "STK"
    if number.startswith("0"):  # amounts, years and counts never start with 0
        return _BY_LENGTH_NATIONAL.get(len(number), "số")
    if chunk.grouped or number.endswith("000") or _MONEY_AFTER.match(text, chunk.end):
        return None  # 500.000.000, 200000000 and "250000000 đồng" are amounts
    return _BY_LENGTH.get(len(number), "số")
