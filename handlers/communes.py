"""Finding a commune from what a member typed: "nam tam", "xa nam tamm" → "Xã Nậm Tăm"."""

from __future__ import annotations

import re
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
    _keys: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keys", tuple(_key(n) for n in self.names))

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
