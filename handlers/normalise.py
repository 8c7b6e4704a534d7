"""Question text → its matching form, for comparing two questions (never shown or stored).

Two spellings of one question ("ko dc ho tro j", "Không được hỗ trợ gì ạ") must normalise to the
same string. `Normalizer` gives folded content words plus domain concept words from
locales/concepts.tsv (`ConceptTable`), so that "tảo hôn ở bản em" and "con gái 15 tuổi bị ép lấy
chồng" share `#tao_hon` although they share no word; `RequestTable` (locales/requests.tsv) says
what a question asks for.

Why here and not in bot/matching: the matcher (bot.matching) is its main user, but two flows need
the same tables too — the sensitive-data consent (handlers.sensitive finds health, ethnicity and
private-life words with a `ConceptTable`) and the danger check (handlers.safety expands teencode)
— and flows must not import bot/. bot/ may import handlers/, so this is the one place both reach.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .text import FOLD_TABLE, fold

__all__ = [
    "CONCEPT_MARK",
    "DEFAULT_CONCEPTS",
    "DEFAULT_REQUESTS",
    "DEFAULT_STOPWORDS",
    "DEFAULT_TEENCODE",
    "ConceptTable",
    "Normalizer",
    "RequestTable",
    "load_concepts",
    "load_requests",
    "load_stopwords",
    "load_teencode",
]

_REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEENCODE = _REPO_ROOT / "locales" / "teencode.tsv"
DEFAULT_STOPWORDS = _REPO_ROOT / "locales" / "stopwords.txt"
DEFAULT_CONCEPTS = _REPO_ROOT / "locales" / "concepts.tsv"
DEFAULT_REQUESTS = _REPO_ROOT / "locales" / "requests.tsv"

# "vay" is a loan ("vay vốn"); "vậy" (so) folds to the same letters. A table entry that produced or
# removed "vay" would silently turn loans into filler (visonorm ships exactly this bug).
_PROTECTED = frozenset({"vay"})

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


# --- Domain concepts ------------------------------------------------------------------------------
# Format and rules of thumb: the header of locales/concepts.tsv.

# Concept words start with this mark. Words of a question never do (punctuation splits words), so a
# concept word can only come from the table.
CONCEPT_MARK = "#"
_CONCEPT_NAME = re.compile(r"_?[a-z0-9]+(?:_[a-z0-9]+)*")


@dataclass(frozen=True)
class _Phrase:
    replace: bool  # its words are replaced by the concept word(s)
    emits: tuple[str, ...]  # concept words, with CONCEPT_MARK


def _phrase_key(text: str) -> tuple[bool, str]:
    """(written with diacritics?, the phrase's words joined by single spaces), spelled as
    questions are after normalisation: repeated letters squeezed ("app" → "ap")."""
    words = " ".join(_REPEATED.sub(_squeeze, _word_key(text)).split())
    return not words.isascii(), words


def _trie_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """One regex for many whole-word phrases, shaped as a character trie so the C engine tries
    only branches that fit the next character. Group 1 is the LONGEST phrase starting at a
    position (greedy optional groups try the longer continuation first)."""
    trie: dict = {}
    for phrase in phrases:
        node = trie
        for ch in phrase:
            node = node.setdefault(ch, {})
        node[""] = {}
    if not trie:
        return None

    def pattern(node: dict) -> str:
        ends = "" in node
        alternatives = [re.escape(ch) + pattern(child)
                        for ch, child in sorted(node.items()) if ch]
        if not alternatives:
            return ""
        body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
        if ends:
            return ("(?:" + body + ")?") if len(alternatives) == 1 else body + "?"
        return body

    # Words are runs of letters/digits separated by single spaces, so a phrase must start after
    # a space (or at the start) and end before one (or at the end). The lookahead makes the
    # match empty, so finditer reports the longest phrase at EVERY word start, overlaps included.
    return re.compile(r"(?<!\S)(?=(" + pattern(trie) + r")(?!\S))")


class ConceptTable:
    """Compiled locales/concepts.tsv: finds concept phrases in a question.

    Phrases are matched on whole words: with diacritics against the accented text, the others
    against the folded text (same length: folding maps one character to one). Every maximal
    match counts: a phrase inside a longer match is ignored ("đường" inside "đường dây nóng"),
    but overlapping ones all count ("giảm lãi" + "lãi suất" in "giảm lãi suất"), so no phrase is
    cut in two. Helper phrases ("_name" concepts) and "a + b" rule parts are looked for
    separately.
    """

    def __init__(self, lines: Iterable[tuple[str, str, str]] = ()) -> None:
        """`lines`: (concept, mode "=" or "+", phrase), phrase "a + b" for a conjunction."""
        merged: dict[tuple[bool, str], tuple[bool, list[str]]] = {}
        aux: dict[tuple[bool, str], int] = {}  # rule parts and helper phrases → id
        helpers: dict[str, set[int]] = {}
        raw_rules: list[tuple[str, list[str]]] = []
        broad: set[str] = set()
        for concept, mode, phrase in lines:
            if mode == "+":
                broad.add(CONCEPT_MARK + concept)
            parts = [p.strip() for p in phrase.split(" + ")]
            if len(parts) > 1:
                for part in parts:
                    if not part.startswith("_"):
                        aux.setdefault(_phrase_key(part), len(aux))
                raw_rules.append((CONCEPT_MARK + concept, parts))
            elif concept.startswith("_"):
                ident = aux.setdefault(_phrase_key(phrase), len(aux))
                helpers.setdefault(concept, set()).add(ident)
            else:
                key = _phrase_key(phrase)
                replace, emits = merged.get(key, (False, []))
                if CONCEPT_MARK + concept not in emits:
                    emits.append(CONCEPT_MARK + concept)
                merged[key] = (replace or mode == "=", emits)
        # Rules resolve helpers once every line is read, so a helper may grow after its rules.
        rules: list[tuple[str, tuple[frozenset[int], ...]]] = []
        anchor_ids: set[int] = set()
        for concept, parts in raw_rules:
            needs = tuple(frozenset(helpers.get(part, ())) if part.startswith("_")
                          else frozenset({aux[_phrase_key(part)]}) for part in parts)
            rules.append((concept, needs))
            # A rule can only fire if the text contains one of its phrase parts (or, for a
            # rule made of helpers only, one of their phrases): a substring test in C lets
            # almost every question skip the scans in _conjunctions.
            own = [need for need, part in zip(needs, parts, strict=True)
                   if not part.startswith("_")]
            anchor_ids.update(*(own or needs))
        self._folded_phrases = {w: _Phrase(replace, tuple(emits))
                                for (acc, w), (replace, emits) in merged.items() if not acc}
        self._accented_phrases = {w: _Phrase(replace, tuple(emits))
                                  for (acc, w), (replace, emits) in merged.items() if acc}
        self._aux = aux
        self._folded = _trie_pattern(w for acc, w in merged if not acc)
        self._accented = _trie_pattern(w for acc, w in merged if acc)
        self._aux_folded = _trie_pattern(w for acc, w in aux if not acc)
        self._aux_accented = _trie_pattern(w for acc, w in aux if acc)
        self._rules = tuple(rules)
        self._folded_anchors = tuple(sorted(w for (acc, w), i in aux.items()
                                            if i in anchor_ids and not acc))
        self._accented_anchors = tuple(sorted(w for (acc, w), i in aux.items()
                                              if i in anchor_ids and acc))
        self.size = len(merged) + len(aux)
        # Concepts with "+" lines name a kind or a place (chăn nuôi, trường học): sharing one
        # says what a question is about, not what it asks for (see bot.matching.index).
        self.broad = frozenset(broad)

    def __bool__(self) -> bool:
        return self.size > 0

    def apply(self, accented: str, folded: str) -> tuple[str, list[str]]:
        """(folded text without the replaced phrases, concept words found, sorted).

        `accented`: lower-case NFC words joined by single spaces; `folded`: the same, folded.
        """
        spans: list[tuple[int, int, _Phrase]] = []
        if self._folded is not None:
            phrases = self._folded_phrases
            spans = [(m.start(), m.end(1), phrases[m.group(1)])
                     for m in self._folded.finditer(folded)]
        with_accents = accented != folded
        if with_accents and self._accented is not None:
            phrases = self._accented_phrases
            more = [(m.start(), m.end(1), phrases[m.group(1)])
                    for m in self._accented.finditer(accented)]
            if more:
                spans += more
                spans.sort(key=lambda span: (span[0], -span[1]))
        rule_may_fire = self._rules and (
            any(a in folded for a in self._folded_anchors)
            or (with_accents and any(a in accented for a in self._accented_anchors)))
        if not spans and not rule_may_fire:
            return folded, []
        found: set[str] = set()
        pieces: list[str] = []
        done = reach = 0  # end of the replaced text / of the furthest phrase so far
        for start, end, phrase in spans:
            if end <= reach:
                continue  # inside a longer phrase
            reach = end
            found.update(phrase.emits)
            if phrase.replace:
                pieces.append(folded[done:start])
                done = end
        if rule_may_fire:
            self._conjunctions(accented if with_accents else "", folded, found)
        if done:
            pieces.append(folded[done:])
            folded = " ".join(pieces)
        return folded, sorted(found)

    def _conjunctions(self, accented: str, folded: str, found: set[str]) -> None:
        """Add the concepts of "a + b" rules whose parts all occur."""
        aux = self._aux
        seen = set()
        if self._aux_folded is not None:
            seen = {aux[False, m.group(1)] for m in self._aux_folded.finditer(folded)}
        if accented and self._aux_accented is not None:
            seen.update(aux[True, m.group(1)] for m in self._aux_accented.finditer(accented))
        if seen:
            for concept, needs in self._rules:
                if concept not in found and all(need & seen for need in needs):
                    found.add(concept)


def load_concepts(path: Path) -> ConceptTable:
    """Read `concept<TAB>phrase | phrase` lines (format: header of locales/concepts.tsv).

    Raises ValueError naming the line for a malformed entry, a "+" rule that names an unknown
    helper, or a phrase that is just "vay" without context (it is also "vậy").
    """
    lines: list[tuple[str, str, str]] = []
    helpers: set[str] = set()
    for lineno, line in _entries(path):
        concept, sep, rest = line.partition("\t")
        concept, rest = concept.strip(), rest.strip()
        mode = "="
        if rest.startswith("+ ") or rest == "+":
            mode, rest = "+", rest[1:].strip()
        phrases = [p.strip() for p in rest.split("|")]
        if not sep or not _CONCEPT_NAME.fullmatch(concept) or not all(phrases):
            raise ValueError(f"{path}:{lineno}: expected 'concept<TAB>phrase | phrase', "
                             f"got {line!r}")
        for phrase in phrases:
            parts = [p.strip() for p in phrase.split("+")]
            if len(parts) > 1 and (not all(parts) or concept.startswith("_")):
                raise ValueError(f"{path}:{lineno}: bad rule {phrase!r}")
            for part in parts:
                if part.startswith("_") and part not in helpers:
                    raise ValueError(f"{path}:{lineno}: {part!r} is not a helper defined above")
                if not part.startswith("_") and fold(part) in _PROTECTED:
                    raise ValueError(f"{path}:{lineno}: {part!r} alone is also 'vậy'; "
                                     "give it context ('vay von', 'cho vay')")
            lines.append((concept, mode, " + ".join(parts)))
        if concept.startswith("_"):
            helpers.add(concept)
    return ConceptTable(lines)


# --- What a question asks for -----------------------------------------------------------------
# Format and purpose: the header of locales/requests.tsv.

REQUEST_KINDS = ("action", "ask", "strict_ask")


class RequestTable:
    """Compiled locales/requests.tsv: which requests (an action to be done, a thing she wants to
    know) a question's words name. Each request is one bit, so comparing two questions is two
    integer ANDs (bot.matching keeps them in arrays)."""

    def __init__(self, lines: Iterable[tuple[str, str, str]] = ()) -> None:
        """`lines`: (request, kind "action" or "ask", folded phrase)."""
        bits: dict[str, int] = {}
        self.kinds: dict[str, str] = {}
        phrases: dict[str, int] = {}
        for request, kind, phrase in lines:
            bit = bits.setdefault(request, 1 << len(bits))
            self.kinds[request] = kind
            phrases[phrase] = phrases.get(phrase, 0) | bit
        self._bits = bits
        self._phrases = phrases
        self._pattern = _trie_pattern(phrases)
        self._action_bits = sum(bit for r, bit in bits.items() if self.kinds[r] == "action")
        # Question forms that must agree for an automatic join (bot.matching.index).
        self.strict_asks = sum(bit for r, bit in bits.items() if self.kinds[r] == "strict_ask")

    def __bool__(self) -> bool:
        return bool(self._phrases)

    def masks(self, folded_words: str) -> tuple[int, int]:
        """(action bits, ask bits) named in `folded_words` (folded words, single spaces). The
        longest phrase at each position counts, and phrases inside a longer one do not."""
        if self._pattern is None:
            return 0, 0
        found = reach = 0
        for m in self._pattern.finditer(folded_words):
            if m.end(1) <= reach:
                continue
            reach = m.end(1)
            found |= self._phrases[m.group(1)]
        return found & self._action_bits, found & ~self._action_bits

    def names(self, mask: int) -> list[str]:
        return [r for r, bit in self._bits.items() if mask & bit]


def load_requests(path: Path) -> RequestTable:
    """Read `request<TAB>kind<TAB>phrase | phrase` lines (format: header of
    locales/requests.tsv). Raises ValueError naming the line for a malformed entry."""
    lines: list[tuple[str, str, str]] = []
    for lineno, line in _entries(path):
        parts = [p.strip() for p in line.split("\t")]
        phrases = ([" ".join(fold(p).split()) for p in parts[2].split("|")]
                   if len(parts) == 3 else [])
        if (len(parts) != 3 or not _CONCEPT_NAME.fullmatch(parts[0])
                or parts[1] not in REQUEST_KINDS or not all(phrases)):
            raise ValueError(f"{path}:{lineno}: expected 'request<TAB>action|ask|strict_ask"
                             f"<TAB>phrase | phrase', got {line!r}")
        for phrase in phrases:
            if phrase in _PROTECTED:
                raise ValueError(f"{path}:{lineno}: {phrase!r} alone is also 'vậy'")
            lines.append((parts[0], parts[1], phrase))
    return RequestTable(lines)


@dataclass(frozen=True)
class Normalizer:
    """Question text → matching form: folded content words, then concept words, space-joined.

    Steps: NFC, lower case, squeeze repeated letters, split into words (drops punctuation and
    emoji), expand teencode word by word (keys as typed), find domain concept phrases (on the
    accented and the folded words; see `ConceptTable`), fold diacritics, drop stopword phrases,
    drop stopwords (compared folded), append the concept words found ("#tao_hon"), sorted.
    For matching only: never shown or stored.
    """

    teencode: Mapping[str, str] = field(default_factory=dict)
    stopwords: frozenset[str] = frozenset()
    concepts: ConceptTable = field(default_factory=ConceptTable)
    requests: RequestTable = field(default_factory=RequestTable)
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
                   stopwords_path: Path = DEFAULT_STOPWORDS,
                   concepts_path: Path | None = DEFAULT_CONCEPTS,
                   requests_path: Path | None = DEFAULT_REQUESTS) -> Normalizer:
        """The tables in locales/; `concepts_path=None` matches on words alone."""
        concepts = load_concepts(Path(concepts_path)) if concepts_path else ConceptTable()
        requests = load_requests(Path(requests_path)) if requests_path else RequestTable()
        return cls(load_teencode(Path(teencode_path)), load_stopwords(Path(stopwords_path)),
                   concepts, requests)

    def request_masks(self, text: str) -> tuple[int, int]:
        """(action bits, ask bits) of what the question asks for (`RequestTable`)."""
        return self.analyse(text)[1]

    def __call__(self, text: str) -> str:
        return self.analyse(text)[0]

    def analyse(self, text: str) -> tuple[str, tuple[int, int]]:
        """(matching form, request masks), in one pass over the text."""
        norm, masks, _plain = self.analyse_plain(text)
        return norm, masks

    def analyse_plain(self, text: str) -> tuple[str, tuple[int, int], str]:
        """(matching form, request masks, plain form): the plain form is the folded content
        words BEFORE concept phrases replace theirs ("vac xin" stays), for character n-grams:
        a concept word says what a question is about, its own words what it asks for."""
        text = unicodedata.normalize("NFC", text or "").lower()
        if _REPEATED.search(text):  # rare; the search alone is 4x cheaper than sub()
            text = _REPEATED.sub(_squeeze, text)
        teen = self.teencode
        words = " ".join([teen.get(w, w) for w in _WORD.findall(text)])
        folded = words.translate(FOLD_TABLE)
        masks = self.requests.masks(folded) if self.requests else (0, 0)
        found: list[str] = []
        plain = folded
        if self.concepts:
            folded, found = self.concepts.apply(words, folded)
        single = self._single
        if self._phrases is not None:
            folded = self._phrases.sub(" ", folded)
            plain = self._phrases.sub(" ", plain) if found else folded
        norm = " ".join([w for w in folded.split() if w not in single] + found)
        if plain is not folded:
            plain = " ".join([w for w in plain.split() if w not in single])
        else:
            plain = norm
        return norm, masks, plain
