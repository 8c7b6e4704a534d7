"""Search without diacritics: folded wordings held in memory, checked against the database.

Folding 100,000 questions per search took over a second. The index folds each wording once
(`handlers.text.fold`, the project's one folding function) and keeps it in this process's
memory only, never on disk. A candidate is always checked against the row as it is now: a
wording erased (/xoa_du_lieu, purge), rejected or turned into a disclosure since is not
found, and a changed wording is folded again before it counts.

A match must hold in the wording as staff read it (`mask_pii`), not only in what she typed:
otherwise searching "0933", then "0933 4"… recovers a masked phone digit by digit, and a
name shown as "[tên ẩn]" is found by the name. Masking is done for candidates only, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aiosqlite

from handlers.privacy import mask_pii
from handlers.text import fold
from storage import console as store

__all__ = ["FoldedIndex"]


@dataclass
class FoldedIndex:
    last_id: int = 0
    # dialogue id -> question id -> (wording as stored, folded)
    texts: dict[str, dict[int, tuple[str, str]]] = field(default_factory=dict)
    # question id -> (wording as stored, folded as staff read it): for candidates only
    masked: dict[int, tuple[str, str]] = field(default_factory=dict)

    async def clusters_matching(self, conn: aiosqlite.Connection, dialogue_id: str,
                                folded: str, *, hide_disclosures: bool = True) -> frozenset[int]:
        """Clusters with a question whose folded wording contains `folded`."""
        for qid, dialogue, text in await store.new_search_texts(conn, self.last_id):
            self.texts.setdefault(dialogue, {})[qid] = (text, fold(text))
            self.last_id = max(self.last_id, qid)
        known = self.texts.get(dialogue_id, {})
        candidates = [qid for qid, (_, words) in known.items() if folded in words]
        found = set()
        for qid, cluster_id, text in await store.searchable_texts(
                conn, candidates, hide_disclosures=hide_disclosures):
            if text != known[qid][0]:
                known[qid] = (text, fold(text))
            if folded in known[qid][1] and folded in self._as_read(qid, text):
                found.add(cluster_id)
        return frozenset(found)

    def _as_read(self, qid: int, text: str) -> str:
        kept = self.masked.get(qid)
        if kept is None or kept[0] != text:
            kept = self.masked[qid] = (text, fold(mask_pii(text)))
        return kept[1]
