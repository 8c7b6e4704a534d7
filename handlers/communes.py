"""Finding a commune from what a member typed: "nam tam", "xa nam tamm" → "Xã Nậm Tăm"."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from .text import fold

__all__ = ["CommuneBook"]

# Typed prefixes that name the kind of unit, not the unit: "xã", "phường", "đặc khu", "tt".
_PREFIX = re.compile(r"^(?:xa|phuong|dac khu|thi tran|tt|p|x)\.?\s+")


def _key(name: str) -> str:
    folded = re.sub(r"[^\w ]+", " ", fold(name))
    return _PREFIX.sub("", " ".join(folded.split()))


@dataclass(frozen=True)
class CommuneBook:
    """The communes of one province, in display order, with a folded search key for each."""

    names: tuple[str, ...]
    # Pre-July-2025 names → the commune they merged into: config ([communes.legacy]) and, where
    # the commune package has them, its 2025 merger tables (`legacy_search`).
    legacy: Mapping[str, str] = field(default_factory=dict)
    legacy_search: Callable[[str], tuple[str, ...]] | None = None
    _keys: tuple[str, ...] = field(init=False, repr=False)
    _legacy_keys: Mapping[str, tuple[str, str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keys", tuple(_key(n) for n in self.names))
        object.__setattr__(self, "_legacy_keys", {
            _key(old): (old, new) for old, new in self.legacy.items() if new in self.names})

    def exact(self, typed: str) -> str | None:
        """The commune whose name this is, diacritics, case and "xã" aside; None otherwise."""
        key = _key(typed)
        return next((n for n, k in zip(self.names, self._keys, strict=True) if k == key), None)

    def confident(self, typed: str, name: str) -> bool:
        """True when `typed` is plainly `name` (a typo of one letter in a long name, or the name
        inside a sentence); False when it only looks like it ("muong so" ~ "Mường Mô"): then
        she is asked, never silently given another commune."""
        key, target = _key(typed), _key(name)
        if key == target or re.search(rf"(?:^| ){re.escape(target)}(?: |$)", key):
            return True
        return fuzz.ratio(key, target) >= 92

    def old_name(self, typed: str) -> tuple[str, str] | None:
        """(old name, the commune it is part of now) for a pre-2025 name, or None. The old name
        is "" when it came from the package's tables (only config's names are shown back)."""
        key = _key(typed)
        if len(key) < 2:
            return None
        if key in self._legacy_keys:
            return self._legacy_keys[key]
        if self.legacy_search is not None:
            merged = [n for n in self.legacy_search(typed) if n in self.names]
            if len(merged) == 1:
                return "", merged[0]
        return None

    def __len__(self) -> int:
        return len(self.names)

    def page(self, number: int, size: int) -> tuple[str, ...]:
        return self.names[number * size:(number + 1) * size]

    def pages(self, size: int) -> int:
        return max(1, -(-len(self.names) // size))

    def search(self, typed: str, limit: int = 5) -> list[str]:
        """Best matches, best first. One element means a confident single match."""
        key = _key(typed)
        if len(key) < 2:
            return []
        exact = [n for n, k in zip(self.names, self._keys, strict=True) if k == key]
        if exact:
            return exact[:1]
        scored = process.extract(key, self._keys, scorer=fuzz.ratio, limit=limit,
                                  score_cutoff=60)
        if not scored:
            # "tam" alone, or a name inside a longer phrase ("em o xa nam tam a").
            scored = process.extract(key, self._keys, scorer=fuzz.partial_ratio, limit=limit,
                                     score_cutoff=85)
        if not scored:
            return []
        best = scored[0][1]
        runner_up = scored[1][1] if len(scored) > 1 else 0
        if best >= 85 and best - runner_up >= 8:
            return [self.names[scored[0][2]]]
        return [self.names[i] for _, score, i in scored if score >= best - 15]
