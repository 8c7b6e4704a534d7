"""Danger detection: does a message mention violence, trafficking, child marriage or suicide?

A missed message can cost a woman her safety; a false alarm costs a union officer a minute. So the
matching is deliberately forgiving: it runs on folded text (no diacritics, lower case), squeezes
repeated letters ("đánhhhh"), tolerates telex leftovers ("ddanhs"), and spells teencode out
through macros in the keyword file, which staff can extend without touching code. The file's
header documents its syntax; `DangerKeywords.from_lines` compiles it.

Matching works on two aligned token streams built from the same words: a folded one ("danh") for
almost every pattern, and a diacritic-preserving one ("đánh") for the few words whose folded form
collides with an everyday word (tự vẫn / tư vấn). Stop phrases ("đánh giá", "giết mổ") are blanked
before danger patterns run, and never across punctuation, so "bị đánh, giá mà..." still counts.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from handlers.danger_model import DEFAULT_MODEL_PATH, DangerModel
from handlers.normalise import DEFAULT_TEENCODE, load_teencode
from handlers.person_names import replace_names
from handlers.text import clean, fold

__all__ = [
    "DANGER",
    "DEFAULT_CONTEXT_PATH",
    "DEFAULT_KEYWORDS_PATH",
    "MAYBE",
    "MODEL_SIGNAL",
    "Assessment",
    "DangerDetector",
    "DangerHit",
    "DangerKeywords",
    "DangerRule",
    "default_detector",
    "default_keywords",
    "detect_all",
    "detect_danger",
]

DEFAULT_KEYWORDS_PATH = Path(__file__).resolve().parent.parent / "locales" / "danger_keywords.txt"

STOP_CATEGORY = "-"
DEFAULT_GAP = 4
MAX_GAP = 10

# Words, digit runs and punctuation runs. Combining marks stay inside words so a stray accent
# that NFC could not compose does not split "đánh" in two.
_TOKEN = re.compile(r"(?:[^\W\d_]|[\u0300-\u036f])+|\d+|[^\w\s]+")
_BREAK = "."  # stands for punctuation, emoji, symbols: stop phrases must not span it
_BLANK = "_"  # replaces a stop phrase's words, so it keeps its place in gaps but matches nothing
_NON_FOLDED = re.compile(r"[^a-z0-9]")
_SEP = "\x00"
_WHITE = re.compile(r"\s+")
_NON_FOLDED_SEP = re.compile(r"[^a-z0-9\x00]")
_TELEX_W = re.compile(r"(?<=[aou])w")  # "tuwj" (tự typed with the IME off) → "tuj"
_REPEAT = re.compile(r"([^\W\d_])\1+")  # letters only: "100" must stay a hundred
_TELEX_TONE = "[sfrxj]?"  # tone key left at a word's end: "ddanhs", "chongf"
_CATEGORY = re.compile(r"[a-z0-9_]+|-|@[a-z0-9_]+")
_GAP = re.compile(r"\*(\d*)")


@dataclass(frozen=True)
class DangerHit:
    """What raised the alarm: the category and the folded words that matched."""

    category: str
    matched: str


@dataclass(frozen=True)
class DangerRule:
    """One compiled line of the keyword file."""

    category: str
    source: str  # the line as written, for staff reading logs
    line: int
    regex: re.Pattern[str]
    exact: bool  # matched on the diacritic-preserving stream
    # The words a match can start with: a rule whose first word is not in the message is not
    # tried at all (most of ~700 rules, for a typical message).
    first: frozenset[str] = frozenset()
    # For each later word of the pattern, the words one of its choices starts with: all must be
    # in the message too before the regex is worth running.
    later: tuple[frozenset[str], ...] = ()


@dataclass(frozen=True)
class _Prepared:
    folded: str
    exact: str
    words: frozenset[str]  # for `_candidates`


@dataclass(frozen=True)
class DangerKeywords:
    """Compiled danger patterns, tried category by category in the file's order."""

    rules: tuple[DangerRule, ...]
    stops: tuple[DangerRule, ...] = ()
    # first word -> positions in `rules` / `stops` of the rules that can start with it
    rule_index: Mapping[str, tuple[int, ...]] = field(default_factory=dict, compare=False)
    stop_index: Mapping[str, tuple[int, ...]] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.rule_index and self.rules:
            object.__setattr__(self, "rule_index", _first_word_index(self.rules))
        if not self.stop_index and self.stops:
            object.__setattr__(self, "stop_index", _first_word_index(self.stops))

    @property
    def categories(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(rule.category for rule in self.rules))

    def by_category(self) -> dict[str, tuple[DangerRule, ...]]:
        return {c: tuple(r for r in self.rules if r.category == c) for c in self.categories}

    @classmethod
    def from_file(cls, path: Path = DEFAULT_KEYWORDS_PATH) -> DangerKeywords:
        # Compiling ~700 patterns takes half a second; the same unchanged file (same size and
        # modification time) is compiled once per process. A staff edit changes the key.
        stat = path.stat()
        return _compiled(str(path), stat.st_mtime_ns, stat.st_size)

    @classmethod
    def from_lines(cls, lines: Iterable[str], source: str = "<lines>") -> DangerKeywords:
        """Compile keyword-file lines. A bad line raises ValueError naming file and line: a
        silently dropped pattern would be a silently missed woman."""
        macros: dict[str, tuple[str, ...]] = {}
        rules: list[DangerRule] = []
        stops: list[DangerRule] = []
        for number, raw in enumerate(lines, start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                _parse_line(line, number, macros, rules, stops)
            except ValueError as exc:
                raise ValueError(f"{source}:{number}: {exc}: {line!r}") from None
        if not rules:
            raise ValueError(f"{source}: no danger patterns")
        order = {c: i for i, c in enumerate(dict.fromkeys(r.category for r in rules))}
        rules.sort(key=lambda r: order[r.category])  # stable: file order within a category
        return cls(rules=tuple(rules), stops=tuple(stops))


@cache
def default_keywords() -> DangerKeywords:
    """The shipped keyword file, compiled once per process."""
    return DangerKeywords.from_file(DEFAULT_KEYWORDS_PATH)


def detect_danger(text: str, keywords: DangerKeywords) -> DangerHit | None:
    """The first hit in category order, or None. Never raises on any string."""
    prepared = _prepare(text, keywords)
    for rule in _candidates(keywords.rules, keywords.rule_index, prepared.words):
        hit = _search(rule, prepared)
        if hit:
            return hit
    return None


def detect_all(text: str, keywords: DangerKeywords,
               tokens: tuple[list[str], list[str]] | None = None) -> tuple[DangerHit, ...]:
    """One hit per matching category, in category order: for the staff alert's summary.
    `tokens`: `_tokens(text)`, when the caller has it already."""
    prepared = _prepare(text, keywords, tokens)
    hits: dict[str, DangerHit] = {}
    for rule in _candidates(keywords.rules, keywords.rule_index, prepared.words):
        if rule.category not in hits:
            hit = _search(rule, prepared)
            if hit:
                hits[rule.category] = hit
    return tuple(hits.values())


def _search(rule: DangerRule, prepared: _Prepared) -> DangerHit | None:
    match = rule.regex.search(prepared.exact if rule.exact else prepared.folded)
    return DangerHit(rule.category, fold(match.group(0))) if match else None


# Words in nearly every message: a rule is filed under the word list of its pattern that has the
# fewest of them ("em ... nhốt" under "nhốt"), so a typical message wakes few rules.
_COMMON_WORDS = (
    "em e toi t minh mk con chi co khong ko k di la thi va voi cho nha nguoi ma da dang bi duoc "
    "dc co_the cung lai roi r nay do ay no ho ve ra vao len o tu den toi gio mot 1 2 hai ba cac "
    "nhung nhieu lam qua hoi xin muon can phai sao gi j a nhe oi anh ong ba chong ck me bo "
    "be chau ngay dem hom")
_COMMON = frozenset(_COMMON_WORDS.split())


def _anchor(rule: DangerRule) -> frozenset[str]:
    needs = (rule.first, *rule.later)
    return min(needs, key=lambda words: (len(words & _COMMON), len(words)))


def _first_word_index(rules: tuple[DangerRule, ...]) -> dict[str, tuple[int, ...]]:
    index: dict[str, list[int]] = {}
    for position, rule in enumerate(rules):
        for word in _anchor(rule):
            index.setdefault(word, []).append(position)
    return {word: tuple(positions) for word, positions in index.items()}


def _words(*streams: str) -> frozenset[str]:
    """Every whitespace-delimited run of the streams, and each run without a trailing telex
    tone key ("danhs" -> "danh"): a rule's first word must be one of them to match."""
    runs = {run for stream in streams for run in stream.split()}  # split() = the regex's \s
    runs.update([run[:-1] for run in runs if len(run) > 1 and run[-1] in "sfrxj"])
    return frozenset(runs)


def _candidates(rules: tuple[DangerRule, ...], index: Mapping[str, tuple[int, ...]],
                words: frozenset[str]) -> list[DangerRule]:
    """The rules that can match, in file order (so the first hit of a category is the same as
    trying every rule). Exact: each word of a pattern matches a whole run of the stream, telex
    tone aside, so every word list of the pattern must meet the message's runs."""
    positions: set[int] = set()
    for word in words & index.keys():
        positions.update(index[word])
    out = []
    for i in sorted(positions):
        rule = rules[i]
        if rule.first.isdisjoint(words):
            continue
        for need in rule.later:
            if need.isdisjoint(words):
                break
        else:
            out.append(rule)
    return out


# --- text side ------------------------------------------------------------------------------


def _exact_token(token: str) -> str:
    # NFKC: "ｃｈồｎｇ" (full-width) and "𝐜𝐡𝐨𝐧𝐠" (fancy-font apps) are plain letters. A few
    # ligatures become several words (U+FDFA): their spaces go, a token stays one word.
    return _REPEAT.sub(r"\1", _WHITE.sub("", unicodedata.normalize("NFKC", token.lower())))


def _folded_token(token: str) -> str:
    return _fold_exact(_exact_token(token))


def _fold_exact(exact: str) -> str:
    # ð (eth) is typed for đ on keyboards that lack it; fold() only knows đ
    folded = _NON_FOLDED.sub("", fold(exact.replace("ð", "d")))
    return _REPEAT.sub(r"\1", _TELEX_W.sub("", folded)) or _BLANK


def _spell(words: list[str]) -> tuple[list[str], list[str]]:
    """`_exact_token` and `_folded_token` of every word, worked out on all words at once: a
    handful of C calls per message instead of per word. NUL joins them: clean() removed any from
    the text, no step below makes, removes, composes across or squeezes one."""
    exact = _WHITE.sub("", unicodedata.normalize("NFKC", _SEP.join(words).lower()))
    exact = _REPEAT.sub(r"\1", exact)
    folded = _NON_FOLDED_SEP.sub("", fold(exact.replace("ð", "d")))
    folded = _REPEAT.sub(r"\1", _TELEX_W.sub("", folded))
    return exact.split(_SEP), [word or _BLANK for word in folded.split(_SEP)]


def _tokens(text: str, memo: dict[str, tuple[str, str]] | None = None,
            ) -> tuple[list[str], list[str]]:
    """The exact and folded token streams. `memo`: spellings of words already worked out for
    this message (its teencode and context variants share most words); filled in here."""
    words: list[str] = []
    places: list[int] = []  # where each word goes among the tokens
    tokens: list[str] = []
    for token in _TOKEN.findall(clean(text).lower()):
        if token[0].isalnum() or unicodedata.category(token[0]) == "Mn":
            places.append(len(tokens))
            words.append(token)
            tokens.append("")
        elif not tokens or tokens[-1] != _BREAK:
            tokens.append(_BREAK)
    if not words:
        return tokens, list(tokens)
    known = {} if memo is None else memo
    new = list(dict.fromkeys(w for w in words if w not in known))
    if new:
        known.update(zip(new, zip(*_spell(new), strict=True), strict=True))
    exact, folded = list(tokens), tokens
    for place, word in zip(places, words, strict=True):
        exact[place], folded[place] = known[word]
    return exact, folded


def _blank_stops(keywords: DangerKeywords, exact: list[str], folded: list[str],
                 joined: dict[bool, str], words: frozenset[str]) -> None:
    """Blank stop phrases in both streams; token indices line up because both come from the
    same words. `joined`: the streams as they were, by `rule.exact`."""
    for rule in _candidates(keywords.stops, keywords.stop_index, words):
        text = joined[rule.exact]
        position = index = 0  # counted incrementally: a 100,000-character flood stays linear
        for match in rule.regex.finditer(text):
            index += text.count(" ", position, match.start())
            position = match.start()
            for i in range(index, index + match.group(0).count(" ") + 1):
                exact[i] = folded[i] = _BLANK


def _prepare(text: str, keywords: DangerKeywords,
             tokens: tuple[list[str], list[str]] | None = None) -> _Prepared:
    """`tokens`: `_tokens(text)` already worked out (not changed here)."""
    exact, folded = _tokens(text) if tokens is None else (list(tokens[0]), list(tokens[1]))
    joined = {False: " ".join(folded), True: " ".join(exact)}
    # Worked out before stop phrases are blanked: blanking only removes words, so this stays a
    # superset of what is left, which is all `_candidates` needs.
    words = _words(joined[False], joined[True])
    if keywords.stops:
        _blank_stops(keywords, exact, folded, joined, words)
    folded_text = " ".join(t for t in folded if t != _BREAK)
    exact_text = " ".join(t for t in exact if t != _BREAK)
    return _Prepared(folded=folded_text, exact=exact_text, words=words)


# --- keyword-file side ----------------------------------------------------------------------


def _parse_line(
    line: str,
    number: int,
    macros: dict[str, tuple[str, ...]],
    rules: list[DangerRule],
    stops: list[DangerRule],
) -> None:
    parts = line.split(None, 1)  # a tab is canonical, but a space typed by staff must work too
    if len(parts) != 2:
        raise ValueError("expected 'category<TAB>pattern'")
    category, pattern = parts[0].lower(), parts[1].strip()
    if not _CATEGORY.fullmatch(category):
        raise ValueError(f"bad category {category!r}")
    if category.startswith("@"):
        macros[category] = _expand(pattern, macros)
        return
    exact = pattern.startswith("=")
    if exact:
        pattern = pattern[1:].strip()
    is_stop = category == STOP_CATEGORY
    regex = _compile(pattern, macros, exact=exact, allow_gaps=not is_stop)
    words = [frozenset(_normal(next(w for w in alt.split("_") if w), exact)
                       for alt in _expand(token, macros))
             for token in pattern.split() if not _GAP.fullmatch(token)]
    rule = DangerRule(category, parts[1].strip(), number, regex, exact, words[0],
                      tuple(words[1:]))
    (stops if is_stop else rules).append(rule)


def _expand(alternatives: str, macros: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    if any(ch.isspace() for ch in alternatives):
        raise ValueError("alternatives contain a space (use _ inside a phrase)")
    out: list[str] = []
    for alt in alternatives.split("|"):
        if not alt:
            raise ValueError("empty alternative")
        if alt.startswith("@"):
            if alt not in macros:
                raise ValueError(f"unknown macro {alt} (define it on an earlier line)")
            out.extend(macros[alt])
        else:
            out.append(alt)
    return tuple(dict.fromkeys(out))


def _normal(word: str, exact: bool) -> str:
    return _exact_token(word) if exact else _folded_token(word)


def _word_regex(word: str, exact: bool) -> str:
    normal = _normal(word, exact)
    tokens = _TOKEN.findall(normal)
    if len(tokens) != 1 or tokens[0] != normal or normal == _BLANK:
        raise ValueError(f"{word!r} is not one word (split letters and digits with _ or a space)")
    tone = _TELEX_TONE if not exact and len(normal) > 1 and normal[-1].isalpha() else ""
    return re.escape(normal) + tone


def _alternatives_regex(token: str, macros: dict[str, tuple[str, ...]], exact: bool) -> str:
    phrases = [
        " ".join(_word_regex(word, exact) for word in alt.split("_") if word)
        for alt in _expand(token, macros)
    ]
    if not all(phrases):
        raise ValueError(f"empty phrase in {token!r}")
    return "(?:" + "|".join(phrases) + r")(?!\S)"


def _compile(
    pattern: str, macros: dict[str, tuple[str, ...]], *, exact: bool, allow_gaps: bool
) -> re.Pattern[str]:
    body: list[str] = []
    gap: int | None = None
    for token in pattern.split():
        gap_match = _GAP.fullmatch(token)
        if gap_match:
            if not allow_gaps:
                raise ValueError("stop phrases cannot have gaps")
            if not body or gap is not None:
                raise ValueError("a gap must stand between two words")
            gap = int(gap_match.group(1) or DEFAULT_GAP)
            if gap > MAX_GAP:
                raise ValueError(f"gap larger than {MAX_GAP}")
            continue
        if body:
            body.append((rf"(?: \S+){{0,{gap}}}" if gap else "") + " ")
        body.append(_alternatives_regex(token, macros, exact))
        gap = None
    if not body or gap is not None:
        raise ValueError("a pattern must start and end with a word")
    return re.compile(r"(?<!\S)" + "".join(body))


# --- personal danger or policy topic ----------------------------------------------------------

DEFAULT_CONTEXT_PATH = DEFAULT_KEYWORDS_PATH.with_name("danger_context.txt")

DANGER = "danger"  # escalate: hotlines now, staff alerted, urgent case
MAYBE = "maybe"  # hotlines gently and a question; no staff alarm until she says yes

_RECENT = 256
MODEL_SIGNAL = "mo_hinh"  # in `Assessment.signals`: only the model read danger here
# Where the rules read fear for animals or of a flood ("bò nhà em bỏ ăn, em sợ nó chết", "gà nhà
# em bị toi chết") or an illness ("em bị đau lưng mấy hôm nay", `om_dau`), their silence is a
# decision: the model, which learned "bị ... chết", "bị ... mấy hôm nay" from women's stories,
# does not overrule it.
_MODEL_QUIET = frozenset({"thien_tai", "vat_nuoi", "om_dau"})
_SHORT = 4  # words: a message this short that pleads is asked about, whoever it names
_FRAGMENT = 8  # words: a fragment with fear or injury, now, is asked about gently
_CONTEXT_SIGNALS = ("nguoi", "gan_day", "can_giup", "khan", "chinh_sach", "chung", "qua_khu",
                    "gia_su", "lo", "dich_vu", "toi_bi", "thien_tai", "kien_nghi", "mo_ta",
                    "hoi_ai", "dua", "vat_nuoi")
# A petition for action in general, a depiction (film, play, lesson): they frame the harm
# told in THEIR clause, not a disclosure in the next one.
_LOCAL_FRAMES = frozenset({"kien_nghi", "mo_ta"})
_GENERAL = _LOCAL_FRAMES | {"chung", "chinh_sach"}
# Anywhere in a message, these keep a clause from being judged on its own: past and over, "if",
# women in general, a joke, a petition or a depiction (see `_clause_alone`).
_TOLD_OVER = _LOCAL_FRAMES | {"qua_khu", "gia_su", "chung", "dua"}
# Clauses: a frame and her own account are often one comma apart ("Mong hội tổ chức cho em đi
# chỗ khác, chồng em đánh em hằng ngày"), or a "but" ("đang tập tiểu phẩm mà chồng em cũng...").
_CLAUSE = re.compile(r"[.!?;,:\n]+|\b(?:với lại|voi lai|thêm nữa|them nua|ngoài ra|ngoai ra|"
                     r"còn nữa|con nua|nhân tiện|nhan tien|mà|nhưng|nhưng mà|nhung ma|"
                     r"nói thật|noi that)\b", re.IGNORECASE)
_TEEN_WORD = re.compile(r"[^\W_]+")
# "trẻ em" = children in general: one word for the context rules, so "em" is not "me".
_TRE_EM = re.compile(r"\btr(?:ẻ|e|ẽ|ẹ|é|è)\s+em\b", re.IGNORECASE)
# "lần cuối" (the last time): one word for the context rules, as both files blank "cuối" (it
# folds like "cưới", to marry).
_LAN_CUOI = re.compile(r"\bl(?:ầ|a)n\s+cu(?:ố|o)i\b", re.IGNORECASE)
# "phòng chống": prevention, never "chồng"; one word for the context rules.
_PHONG_CHONG = re.compile(r"\bph[oòóỏõọ]ng\s+ch[oốồổỗộ]ng\b", re.IGNORECASE)
# "các chị em", "chị em phụ nữ", "hỏi chị em": women in general, one word for the context rules.
_CHI_EM = re.compile(
    r"\b(các|cac|nhiều|nhieu|những|nhung|mọi|moi|cho|hỏi|hoi|giúp|giup|để|de|với|voi|"
    r"trợ|tro|đa số|đa phần|hướng dẫn|huong dan|dạy|tuyên truyền|tuyen truyen|bảo vệ|bao ve|"
    r"khuyên|khuyen)"
    r"\s+(?:chị|chi)\s+(?:em|e)\b"
    r"|\b(?:chị|chi)\s+(?:em|e)\s+(?=(?:phụ nữ|phu nu|trong|ở|dân tộc|dan toc|vùng|vung|"
    r"nông thôn|nong thon|hội viên|hoi vien|thường|thuong|chúng ta|chung ta|mình|minh|"
    r"nghèo|ngheo|lao động|lao dong|khuyết tật|khuyet tat)\b)", re.IGNORECASE)
# "xã em", "bản em", "huyện tôi": the place she lives in, not her; "em" becomes "noiem" for the
# context rules. ("ban em" without diacritics stays: it is also "bạn em", a friend of hers.)
_PLACE_EM = re.compile(r"\b(xã|xa|huyện|huyen|thôn|thon|xóm|xom|làng|tỉnh|bản|phường|phuong|"
                       r"trường|chi hội|chi hoi)\s+(?:em|e|tôi|toi|mình|minh)\b", re.IGNORECASE)


# Personal data read as words: a name's syllables ("Lò Thị Hoa": lo = lo sợ, thi = thì) and
# a phone number's "số" ("gọi em số 0912345678" folds to "em so", em sợ) are not signals. They
# are screened as one neutral word that no rule names, so gaps around them stay as they were.
_NEUTRAL = "qx"
# A phone number (0 or +84 and 9-10 more digits, groups split by a space, dot or dash), with the
# word that announces it ("số", "sđt", "số điện thoại", "zalo", "là", ":") when there is one.
_PHONE = re.compile(
    r"(?:\b(?:s[oố]|s[dđ]t|[dđ]t|zalo)(?:\s+(?:đi[eệ]n\s+tho[aạ]i|dien\s+thoai|[dđ]t))?"
    r"(?:\s+(?:l[aà]|c[uủ]a\s+\w+))?\s*:?\s*)?"
    r"(?<![\d+])(?:\+\s?84|84|0)(?:[ .\-]?\d){8,10}(?!\d)", re.IGNORECASE)
# "số" typed with its marks before digits is a number ("số 3", "số nhà 12"), never "sợ".
# Without marks "so" is "sợ" as often as "số": a number only in an address ("em o so 12 ngo 5").
_NUMBER_WORD = re.compile(
    r"\bsố(?=\s*:?\s*\d)|\bso(?=\s*\d+[a-z]?\s*,?\s*(?:ngo|ngõ|hem|hẻm|kiet|kiệt|duong|đường|pho"
    r"|phố|to|tổ|khu|nha|nhà|thon|thôn|ban|bản)\b)", re.IGNORECASE)


def _neutral(text: str) -> str:
    """`text` with phone numbers and names each replaced by one neutral word (see _NEUTRAL)."""
    if not text:
        return text or ""
    text = unicodedata.normalize("NFC", text)  # as clean() reads it: "số" is one letter there
    text = _PHONE.sub(f" {_NEUTRAL} ", text)
    text = _NUMBER_WORD.sub(_NEUTRAL, text)
    return replace_names(text, _NEUTRAL)


@dataclass(frozen=True)
class Assessment:
    """What the detector concluded. `category` names the kind of harm for the staff alert;
    `signals` lists what was seen (for tests and the bench, never logged with the text)."""

    level: str  # DANGER or MAYBE
    category: str
    signals: tuple[str, ...]


@dataclass(frozen=True)
class DangerDetector:
    """Personal danger (a person + harm, threat, coercion or flight, now) apart from a policy
    question on the same topic. Harm words come from danger_keywords.txt, context from
    danger_context.txt (its header explains how they combine). Both are read on the text as
    typed and with teencode spelled out (locales/teencode.tsv: "e" → em, "ck" → chồng)."""

    keywords: DangerKeywords
    context: DangerKeywords
    teencode: Mapping[str, str]
    # The second reader (handlers.danger_model): on a message the rules leave silent, its
    # positive reading is "maybe", never an alarm. None: the rules alone.
    model: DangerModel | None = None
    # digest of a text -> its verdict, the last _RECENT texts (see __call__)
    _recent: dict[bytes, Assessment | None] = field(default_factory=dict, compare=False,
                                                    repr=False)

    @classmethod
    def from_files(cls, keywords: Path = DEFAULT_KEYWORDS_PATH,
                   context: Path = DEFAULT_CONTEXT_PATH,
                   teencode: Path = DEFAULT_TEENCODE,
                   model: Path | None = DEFAULT_MODEL_PATH) -> DangerDetector:
        """`model`: the second reader's weights; None for the rules alone."""
        return cls(DangerKeywords.from_file(keywords), DangerKeywords.from_file(context),
                   load_teencode(teencode), DangerModel.from_file(model) if model else None)

    def reading(self, text: str) -> str:
        """The text as the model reads it: names and phones neutralised, teencode spelt out."""
        return self._expand(_neutral(text))

    def __call__(self, text: str) -> Assessment | None:
        # One incoming message is screened several times (the screen, the flood check, the
        # sensitive-data check at confirm): the verdict is remembered by a digest of the text,
        # so her words themselves are not kept.
        key = hashlib.blake2b((text or "").encode("utf-8", "surrogatepass"),
                              digest_size=16).digest()
        cache = self._recent
        if key in cache:
            return cache[key]
        found = self._assess(text)
        cache[key] = found
        if len(cache) > _RECENT:
            del cache[next(iter(cache))]
        return found

    def _assess(self, typed: str) -> Assessment | None:
        level, harm, seen, texts = self._by_rules(typed)
        if (level is None and self.model is not None and not _MODEL_QUIET & seen
                and self.model(texts[-1])):
            # the rules are silent, the model reads danger: asked gently, never an alarm
            level = MAYBE
            seen.add(MODEL_SIGNAL)
        if level is None:
            return None
        category = next(iter(harm)) if harm else _indirect_category(seen)
        signals = tuple(sorted(seen | {f"harm:{c}" for c in harm}))
        return Assessment(level, category, signals)

    def framed(self, text: str) -> bool:
        """Did the rules read `text` as fear for animals, of a flood, or an illness
        (`_MODEL_QUIET`)? Then their silence is a decision, and the model does not read it."""
        return bool(_MODEL_QUIET & self._by_rules(text)[2])

    def _by_rules(self, typed: str,
                  ) -> tuple[str | None, dict[str, DangerHit], set[str], tuple[str, ...]]:
        """The rules' verdict, harm found, signals seen, and the texts they read."""
        text = _neutral(typed)
        expanded = self._expand(text)
        texts = (text,) if expanded == text else (text, expanded)  # same words: same signals
        memo: dict[str, tuple[str, str]] = {}
        harm, seen = self._signals(texts, memo)
        if "vat_nuoi" in seen and not harm and "khan" not in seen:
            seen.add("thien_tai")  # afraid for the cow, not of a person
        words = len(_TEEN_WORD.findall(typed or ""))
        if words <= _SHORT:
            seen.add("ngan")  # "chị ơi cứu", "cuu e": a cry with no story around it
        if words <= _FRAGMENT:
            seen.add("manh")  # "đánh nữa rồi. máu mũi": typed in a hurry, no sentence
        level = _judge(set(harm), seen)
        if _LOCAL_FRAMES & seen:
            # clause by clause only when the frames decide the verdict (a few messages)
            bare = seen - _LOCAL_FRAMES
            other = _judge(set(harm), bare)
            if other != level and self._frames_elsewhere(texts, memo):
                seen, level = bare, other
        if level is None and (harm or {"khan", "toi_bi"} & seen) and not _TOLD_OVER & seen:
            level = self._clause_alone(texts, memo)
        return level, harm, seen, texts

    def _signals(self, texts: tuple[str, ...], memo: dict[str, tuple[str, str]],
                 ) -> tuple[dict[str, DangerHit], set[str]]:
        """Harm categories found and context signals seen, on every variant of the text."""
        harm: dict[str, DangerHit] = {}
        seen: set[str] = set()
        for variant in texts:
            tokens = _tokens(variant, memo)
            for hit in detect_all(variant, self.keywords, tokens):
                harm.setdefault(hit.category, hit)
            same = unicodedata.normalize("NFC", variant)  # what clean() starts with
            context = _PLACE_EM.sub(r"\1 noiem", _TRE_EM.sub("treem", same))
            context = _PHONG_CHONG.sub("phongchong", _CHI_EM.sub(_chiem, context))
            context = _LAN_CUOI.sub("lancuoi", context)
            seen.update(hit.category for hit in detect_all(
                context, self.context, tokens if context == same else _tokens(context, memo)))
        return harm, seen

    def _frames_elsewhere(self, texts: tuple[str, ...], memo: dict[str, tuple[str, str]],
                          ) -> bool:
        """Do the local frames (a petition, a depiction) stand apart from the harm? True when
        some clause tells a specific person's harm or an act of danger with no frame of its
        own: they frame something else ("Đề nghị có xe buýt. Với lại con em bị giữ")."""
        return any((harm or "khan" in seen) and "nguoi" in seen and not _GENERAL & seen
                   for harm, seen in self._clause_signals(texts, memo))

    def _clause_alone(self, texts: tuple[str, ...], memo: dict[str, tuple[str, str]],
                      ) -> str | None:
        """A story told after an unrelated request ("đề nghị hỗ trợ rét đậm. Còn nữa, con bé
        nhà bên ... bị người ta đón đi"): the request's frame (a policy question, a flood)
        must not silence the clause that tells it. Judged clause by clause, it earns the gentle
        question at most: the rest of the message may still frame it."""
        for harm, seen in self._clause_signals(texts, memo):
            done = harm or {"khan", "toi_bi"} & seen  # done to someone, not only feared
            if (done and {"nguoi", "gan_day"} <= seen and not _GENERAL & seen
                    and _judge(set(harm), seen) is not None):
                return MAYBE
        return None

    def _clause_signals(self, texts: tuple[str, ...], memo: dict[str, tuple[str, str]],
                        ) -> Iterator[tuple[dict[str, DangerHit], set[str]]]:
        """`_signals` of each clause of the message (it and its teencode reading), when it
        has more than one."""
        clauses = [part for part in _CLAUSE.split(texts[0]) if part and part.strip()]
        if len(clauses) < 2:
            return
        for clause in clauses:
            yield self._signals(tuple(dict.fromkeys((clause, self._expand(clause)))), memo)

    def _expand(self, text: str) -> str:
        table = self.teencode
        return _TEEN_WORD.sub(lambda m: table.get(m.group(0).lower(), m.group(0)), text or "")


def _judge(kinds: set[str], seen: set[str]) -> str | None:
    """The decision table of danger_context.txt's header, with a floor under it: her own
    account of fear or harm, now, is never left silent, whatever else the message asks."""
    level = _table(kinds, seen)
    if level is None and (_personal_fear(kinds, seen) or _harm_now(kinds, seen)):
        return MAYBE  # hotlines gently; she says whether she is in danger
    return level


def _harm_now(kinds: set[str], seen: set[str]) -> bool:
    """Harm happening now to someone, told in a request for guidance ("Đề nghị hướng dẫn xử lý:
    bà L. bị con trai đánh, hôm nay bị nhốt trong bếp"): a relayed case or her own, not a policy
    question, unless it is over, a depiction or a joke. Asked gently, never silent."""
    if not kinds or "gan_day" not in seen or {"qua_khu", "dua"} & seen or _LOCAL_FRAMES & seen:
        return False
    if {"thien_tai", "chung"} & seen and "toi_bi" not in seen:
        return False  # a flood, or women in general ("mỗi lần có vụ chồng đánh vợ")
    return bool({"toi_bi", "khan"} & seen) or {"nguoi", "can_giup"} <= seen


def _personal_fear(kinds: set[str], seen: set[str]) -> bool:
    """A specific person, now, with harm or fear: a story told inside a question about loans
    or about the past ("ngày xưa ... tuần này ảnh cầm dao"), or a hurried fragment."""
    if {"chung", "thien_tai"} & seen or _LOCAL_FRAMES & seen:
        return False
    now = bool({"gan_day", "can_giup"} & seen)
    if "manh" in seen and "lo" in seen and now and not {"chinh_sach", "dich_vu"} & seen:
        return True
    hurt = bool(kinds) or "khan" in seen
    if {"qua_khu", "gia_su"} & seen and not ("khan" in seen and {"lo", "toi_bi"} & seen):
        # "năm ngoái em bị đánh, giờ đã ly hôn": over, unless it is acute again and hers
        return False
    return hurt and now and "nguoi" in seen and bool({"lo", "toi_bi", "khan"} & seen)


def _table(kinds: set[str], seen: set[str]) -> str | None:
    """The decision table of danger_context.txt's header. `kinds`: harm categories found."""
    harm = bool(kinds)
    acute = "khan" in seen
    person = "nguoi" in seen
    now = "gan_day" in seen
    plea = "can_giup" in seen
    settled = "qua_khu" in seen or "gia_su" in seen  # past and over, or "if ..."
    policy = "chinh_sach" in seen
    framed = bool(_LOCAL_FRAMES & seen)  # a petition or a depiction, in the harm's clause
    if "dua" in seen and not acute and ("toi_bi" not in seen or kinds <= {"de_doa"}):
        return None  # "ck e dọa cắt tiền tiêu vặt haha, đùa thôi": a threat in jest only
    if not harm and not acute:
        # Only weak signs of trouble: a specific person, and nothing that frames it as a
        # question in general, earn the gentle question.
        if ("lo" in seen and person and (now or plea) and not settled and not framed
                and not {"chung", "thien_tai"} & seen):
            # fear or being kept, of someone specific, now: even a story that ends in a request
            # ("... em khóc suốt, em muốn về, xin hội chỉ em cách") is asked about gently
            return MAYBE
        if ("toi_bi" in seen and (now or plea) and not settled and not framed and not policy
                and "thien_tai" not in seen):
            return MAYBE  # "anh ta ép em, em không dám nói": done to her, said outright
        if policy or settled or framed or "chung" in seen:
            return None
        if "thien_tai" in seen:
            return None  # afraid of the flood, not of a person
        if "lo" in seen and (person or plea):
            return MAYBE
        if plea and "ngan" in seen:
            return MAYBE
        # Someone specific, now, told as a story rather than asked as a question about a
        # service: indirect accounts ("con bé không dám ngủ một mình...") say no harm word.
        story = person and (now or plea) and "dich_vu" not in seen
        return MAYBE if story else None
    if "thien_tai" in seen and kinds <= {"de_doa"} and not acute and "toi_bi" not in seen:
        return None  # "sợ lắm" of a landslide: a request for help, not a person's danger
    if harm and "toi_bi" in seen and not settled and not framed and (now or plea or not policy):
        return DANGER  # her own story, even hidden inside a question about crops
    # How strongly the message reads as a question about policy or people in general.
    # a depiction weighs most: the person in it is a character, not her
    framing = (2 * policy + 2 * framed + ("mo_ta" in seen) + ("chung" in seen)
               + ("qua_khu" in seen) + ("gia_su" in seen))
    if framing >= 3:
        return DANGER if person and acute and plea and harm else None
    if framing == 2:
        if person and (acute or (harm and plea and now)):
            return DANGER
        return MAYBE if person and harm and (now or plea) else None
    if framing == 1:  # about people in general, the past, or "if": ask gently at most
        if person and (acute or (not settled and (now or plea))):
            return DANGER
        if "qua_khu" in seen and "dich_vu" in seen and not acute:
            return None  # "I was beaten once, now divorced: can I get a loan?"
        # a threat spelt out ("nếu tôi báo công an thì nó đốt nhà") is never left silent
        # "khi bị BLGĐ thì báo ai": maybe her own "if", asking whom to turn to
        hers = "hoi_ai" in seen and "gia_su" in seen
        return MAYBE if harm and (person or now or acute or hers) else None
    return DANGER if person or (acute and (now or plea)) else MAYBE


def _chiem(match: re.Match[str]) -> str:
    return f"{match.group(1)} chiem" if match.group(1) else "chiem "


def _indirect_category(seen: set[str]) -> str:
    return "de_doa"


@cache
def default_detector() -> DangerDetector:
    """The shipped tables, compiled once per process."""
    return DangerDetector.from_files()


@functools.lru_cache(maxsize=16)
def _compiled(path: str, mtime_ns: int, size: int) -> DangerKeywords:
    """DangerKeywords of one version of a file (frozen, so sharing it is safe)."""
    return DangerKeywords.from_lines(Path(path).read_text(encoding="utf-8").splitlines(),
                                     source=path)
