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
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from handlers.normalise import DEFAULT_TEENCODE, load_teencode
from handlers.text import clean, fold

__all__ = [
    "DANGER",
    "DEFAULT_CONTEXT_PATH",
    "DEFAULT_KEYWORDS_PATH",
    "MAYBE",
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


@dataclass(frozen=True)
class _Prepared:
    folded: str
    exact: str


@dataclass(frozen=True)
class DangerKeywords:
    """Compiled danger patterns, tried category by category in the file's order."""

    rules: tuple[DangerRule, ...]
    stops: tuple[DangerRule, ...] = ()

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
    prepared = _prepare(text, keywords.stops)
    for rule in keywords.rules:
        hit = _search(rule, prepared)
        if hit:
            return hit
    return None


def detect_all(text: str, keywords: DangerKeywords) -> tuple[DangerHit, ...]:
    """One hit per matching category, in category order: for the staff alert's summary."""
    prepared = _prepare(text, keywords.stops)
    hits: dict[str, DangerHit] = {}
    for rule in keywords.rules:
        if rule.category not in hits:
            hit = _search(rule, prepared)
            if hit:
                hits[rule.category] = hit
    return tuple(hits.values())


def _search(rule: DangerRule, prepared: _Prepared) -> DangerHit | None:
    match = rule.regex.search(prepared.exact if rule.exact else prepared.folded)
    return DangerHit(rule.category, fold(match.group(0))) if match else None


# --- text side ------------------------------------------------------------------------------


def _exact_token(token: str) -> str:
    # NFKC: "ｃｈồｎｇ" (full-width) and "𝐜𝐡𝐨𝐧𝐠" (fancy-font apps) are plain letters
    return _REPEAT.sub(r"\1", unicodedata.normalize("NFKC", token.lower()))


def _folded_token(token: str) -> str:
    # ð (eth) is typed for đ on keyboards that lack it; fold() only knows đ
    folded = _NON_FOLDED.sub("", fold(_exact_token(token).replace("ð", "d")))
    return _REPEAT.sub(r"\1", _TELEX_W.sub("", folded)) or _BLANK


def _tokens(text: str) -> tuple[list[str], list[str]]:
    exact: list[str] = []
    folded: list[str] = []
    for token in _TOKEN.findall(clean(text).lower()):
        if token[0].isalnum() or unicodedata.category(token[0]) == "Mn":
            exact.append(_exact_token(token))
            folded.append(_folded_token(token))
        elif not exact or exact[-1] != _BREAK:
            exact.append(_BREAK)
            folded.append(_BREAK)
    return exact, folded


def _blank_stops(stops: tuple[DangerRule, ...], exact: list[str], folded: list[str]) -> None:
    """Blank stop phrases in both streams; token indices line up because both come from the
    same words."""
    joined = {False: " ".join(folded), True: " ".join(exact)}
    for rule in stops:
        text = joined[rule.exact]
        position = index = 0  # counted incrementally: a 100,000-character flood stays linear
        for match in rule.regex.finditer(text):
            index += text.count(" ", position, match.start())
            position = match.start()
            for i in range(index, index + match.group(0).count(" ") + 1):
                exact[i] = folded[i] = _BLANK


def _prepare(text: str, stops: tuple[DangerRule, ...]) -> _Prepared:
    exact, folded = _tokens(text)
    if stops:
        _blank_stops(stops, exact, folded)
    return _Prepared(
        folded=" ".join(t for t in folded if t != _BREAK),
        exact=" ".join(t for t in exact if t != _BREAK),
    )


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
    rule = DangerRule(category, parts[1].strip(), number, regex, exact)
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


def _word_regex(word: str, exact: bool) -> str:
    normal = _exact_token(word) if exact else _folded_token(word)
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

_CONTEXT_SIGNALS = ("nguoi", "gan_day", "can_giup", "khan", "chinh_sach", "chung", "qua_khu",
                    "gia_su", "lo", "dich_vu", "toi_bi", "thien_tai")
_TEEN_WORD = re.compile(r"[^\W_]+")
# "trẻ em" = children in general: one word for the context rules, so "em" is not "me".
_TRE_EM = re.compile(r"\btr(?:ẻ|e|ẽ|ẹ|é|è)\s+em\b", re.IGNORECASE)
# "xã em", "bản em", "huyện tôi": the place she lives in, not her; "em" becomes "noiem" for the
# context rules. ("ban em" without diacritics stays: it is also "bạn em", a friend of hers.)
_PLACE_EM = re.compile(r"\b(xã|xa|huyện|huyen|thôn|thon|xóm|xom|làng|tỉnh|bản|phường|phuong|"
                       r"trường|chi hội|chi hoi)\s+(?:em|e|tôi|toi|mình|minh)\b", re.IGNORECASE)


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

    @classmethod
    def from_files(cls, keywords: Path = DEFAULT_KEYWORDS_PATH,
                   context: Path = DEFAULT_CONTEXT_PATH,
                   teencode: Path = DEFAULT_TEENCODE) -> DangerDetector:
        return cls(DangerKeywords.from_file(keywords), DangerKeywords.from_file(context),
                   load_teencode(teencode))

    def __call__(self, text: str) -> Assessment | None:
        texts = (text, self._expand(text))
        harm: dict[str, DangerHit] = {}
        seen: set[str] = set()
        for variant in texts:
            for hit in detect_all(variant, self.keywords):
                harm.setdefault(hit.category, hit)
            context = _TRE_EM.sub("treem", unicodedata.normalize("NFC", variant))
            context = _PLACE_EM.sub(r"\1 noiem", context)
            seen.update(hit.category for hit in detect_all(context, self.context))
        level = _judge(set(harm), seen)
        if level is None:
            return None
        category = next(iter(harm)) if harm else _indirect_category(seen)
        signals = tuple(sorted(seen | {f"harm:{c}" for c in harm}))
        return Assessment(level, category, signals)

    def _expand(self, text: str) -> str:
        table = self.teencode
        return _TEEN_WORD.sub(lambda m: table.get(m.group(0).lower(), m.group(0)), text or "")


def _judge(kinds: set[str], seen: set[str]) -> str | None:
    """The decision table of danger_context.txt's header. `kinds`: harm categories found."""
    harm = bool(kinds)
    acute = "khan" in seen
    person = "nguoi" in seen
    now = "gan_day" in seen
    plea = "can_giup" in seen
    settled = "qua_khu" in seen or "gia_su" in seen  # past and over, or "if ..."
    policy = "chinh_sach" in seen
    if not harm and not acute:
        # Only weak signs of trouble: a specific person, and nothing that frames it as a
        # question in general, earn the gentle question.
        if policy or settled or "chung" in seen:
            return None
        if "thien_tai" in seen:
            return None  # afraid of the flood, not of a person
        if "lo" in seen and (person or plea):
            return MAYBE
        # Someone specific, now, told as a story rather than asked as a question about a
        # service: indirect accounts ("con bé không dám ngủ một mình...") say no harm word.
        story = person and (now or plea) and "dich_vu" not in seen
        return MAYBE if story else None
    if "thien_tai" in seen and kinds <= {"de_doa"} and not acute and "toi_bi" not in seen:
        return None  # "sợ lắm" of a landslide: a request for help, not a person's danger
    if harm and "toi_bi" in seen and not settled and (now or plea or not policy):
        return DANGER  # her own story, even hidden inside a question about crops
    # How strongly the message reads as a question about policy or people in general.
    framing = 2 * policy + ("chung" in seen) + ("qua_khu" in seen) + ("gia_su" in seen)
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
        return MAYBE if harm and (person or now) else None
    return DANGER if person or (acute and (now or plea)) else MAYBE


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
