"""Similar-question matching over the database: one in-memory `ClusterIndex` per dialogue.

Built from stored questions at start-up (`storage.queries.indexable_questions`); kept in step by
the flows right after each commit, so the index always holds what a restart would load: a
rejected, deleted or urgent question leaves it, a merge or split moves it. The flows ask
`similar` (the offer to support, up to 3 at a low bar), `best_cluster` (joining, strict) and
`possible_duplicate` (for staff's review list).

Every text is matched as another member would read it, with names, phones, ID numbers, emails
and addresses taken out (`handlers.privacy.matching_text`), on both sides: a member who types
another woman's name or phone into a guess ("Lò Thị Hoa hỏi về vay vốn") is offered what the
rest of her words match, never a question because it holds that name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from handlers.domain import Status
from handlers.normalise import Normalizer
from handlers.privacy import matching_text
from storage import queries as q
from storage import reports
from storage.db import Database

from .index import ClusterIndex, Match, MatchSettings, PairScorer

__all__ = ["QuestionMatcher", "Similar"]


@dataclass(frozen=True)
class Similar:
    """A question shown to a member as "someone asked this already"."""

    item_id: int
    cluster_id: int
    text: str
    count: int
    score: float


class QuestionMatcher:
    def __init__(self, settings: MatchSettings, normalizer: Normalizer | None = None) -> None:
        self.settings = settings
        self.normalizer = normalizer or Normalizer.from_files()
        self._indexes: dict[str, ClusterIndex] = {}
        self._scorer: PairScorer | None = None

    def _index(self, dialogue_id: str) -> ClusterIndex:
        index = self._indexes.get(dialogue_id)
        if index is None:
            index = ClusterIndex(self.settings, self.normalizer, self._scorer)
            self._scorer = index.scorer
            self._indexes[dialogue_id] = index
        return index

    async def load(self, db: Database) -> int:
        """Index every live question with text: member questions and leaders' relays."""
        async with db.transaction() as conn:
            rows = await q.indexable_questions(conn)
        self.add_rows(rows)
        return len(rows)

    # -- what the flows ask -----------------------------------------------------------------

    async def similar(self, conn: aiosqlite.Connection, dialogue_id: str, text: str,
                      topic: int | None) -> list[Similar]:
        index = self._indexes.get(dialogue_id)
        if index is None:
            return []
        out = []
        for match in index.similar(matching_text(text), topic,
                                   limit=self.settings.max_similar + 2):
            cluster_id = int(match.cluster_id)
            standing = await reports.cluster_standing(conn, cluster_id)
            if (standing is None or standing.status == Status.REJECTED or standing.urgent
                    or not standing.text):
                continue  # never offer a question staff found off-theme, nor an urgent one
            out.append(Similar(int(match.item_id), cluster_id, standing.text, standing.total,
                               match.score))
        return out[: self.settings.max_similar]

    async def best_cluster(self, conn: aiosqlite.Connection, dialogue_id: str, text: str,
                           topic: int | None) -> Match | None:
        index = self._indexes.get(dialogue_id)
        match = index.best_cluster(matching_text(text), topic) if index is not None else None
        return await self._open(conn, match)

    async def possible_duplicate(self, conn: aiosqlite.Connection, dialogue_id: str,
                                 text: str, topic: int | None) -> Match | None:
        """A cluster this question came close to, below the joining bar: for staff to decide."""
        index = self._indexes.get(dialogue_id)
        match = (index.possible_duplicate(matching_text(text), topic) if index is not None
                 else None)
        return await self._open(conn, match)

    async def _open(self, conn: aiosqlite.Connection, match: Match | None) -> Match | None:
        if match is None:
            return None
        standing = await reports.cluster_standing(conn, int(match.cluster_id))
        if standing is None or standing.status in (Status.REJECTED, Status.ANSWERED):
            return None  # a new question should not silently join a closed cluster
        return match

    # -- keeping the index in step (called after commit) ------------------------------------

    def add(self, dialogue_id: str, question_id: int, text: str, cluster_id: int,
            topic: int | None, home_cluster_id: int | None = None) -> None:
        index = self._index(dialogue_id)
        if question_id not in index:
            index.add(question_id, matching_text(text), cluster_id, topic, home_cluster_id)

    def add_rows(self, rows: Iterable[aiosqlite.Row]) -> None:
        """Index rows of `storage.queries.indexable_questions` (a start-up, a cluster back)."""
        for row in rows:
            self.add(row["dialogue_id"], row["id"], row["text"], row["cluster_id"],
                     row["topic"], row["home_cluster_id"])

    def remove(self, dialogue_id: str, question_id: int) -> None:
        """A question rejected or deleted: later questions no longer join because of it."""
        index = self._indexes.get(dialogue_id)
        if index is not None and question_id in index:
            index.remove(question_id)

    def remove_cluster(self, dialogue_id: str, cluster_id: int) -> None:
        """A cluster rejected or marked urgent: no longer offered, nothing joins it."""
        index = self._indexes.get(dialogue_id)
        if index is not None:
            index.remove_cluster(cluster_id)

    def merge(self, dialogue_id: str, source: int, target: int) -> None:
        index = self._indexes.get(dialogue_id)
        if index is not None:
            index.merge_clusters(source, target)

    def move(self, dialogue_id: str, question_id: int, cluster_id: int) -> None:
        index = self._indexes.get(dialogue_id)
        if index is not None and question_id in index:
            index.move(question_id, cluster_id)
