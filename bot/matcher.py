"""Similar-question matching over the database: one in-memory `ClusterIndex` per dialogue.

Built from stored questions at start-up; kept in step by the flows after each commit (a new
question, a merge, a split). The flows see only `similar` and `best_cluster`.
"""

from __future__ import annotations

from dataclasses import dataclass

import aiosqlite

from handlers.domain import Status
from handlers.text import Normalizer
from storage import reports
from storage.db import Database

from .matching import ClusterIndex, Match, MatchSettings

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

    def _index(self, dialogue_id: str) -> ClusterIndex:
        index = self._indexes.get(dialogue_id)
        if index is None:
            index = self._indexes[dialogue_id] = ClusterIndex(self.settings, self.normalizer)
        return index

    async def load(self, db: Database) -> int:
        """Index every live question with text: member questions and leaders' relays."""
        async with db.transaction() as conn:
            cur = await conn.execute(
                """
                SELECT q.id, q.dialogue_id, q.text, q.topic, q.cluster_id FROM questions q
                JOIN clusters c ON c.id = q.cluster_id
                WHERE q.kind IN ('member', 'relay') AND q.text != '' AND q.voice_url IS NULL
                  AND q.rejected_reason IS NULL AND c.merged_into IS NULL
                ORDER BY q.id
                """
            )
            rows = await cur.fetchall()
        for row in rows:
            self.add(row["dialogue_id"], row["id"], row["text"], row["cluster_id"], row["topic"])
        return len(rows)

    # -- what the flows ask -----------------------------------------------------------------

    async def similar(self, conn: aiosqlite.Connection, dialogue_id: str, text: str,
                      topic: int | None) -> list[Similar]:
        index = self._indexes.get(dialogue_id)
        if index is None:
            return []
        out = []
        for match in index.similar(text, topic, limit=self.settings.max_similar + 2):
            summary = await reports.cluster_summary(conn, int(match.cluster_id))
            if summary is None or summary.status == Status.REJECTED or not summary.text:
                continue  # never offer a question staff found off-theme
            out.append(Similar(int(match.item_id), summary.id, summary.text, summary.total,
                               match.score))
        return out[: self.settings.max_similar]

    async def best_cluster(self, conn: aiosqlite.Connection, dialogue_id: str, text: str,
                           topic: int | None) -> Match | None:
        index = self._indexes.get(dialogue_id)
        match = index.best_cluster(text, topic) if index is not None else None
        if match is None:
            return None
        summary = await reports.cluster_summary(conn, int(match.cluster_id))
        if summary is None or summary.status in (Status.REJECTED, Status.ANSWERED):
            return None  # a new question should not silently join a closed cluster
        return match

    # -- keeping the index in step (called after commit) ------------------------------------

    def add(self, dialogue_id: str, question_id: int, text: str, cluster_id: int,
            topic: int | None) -> None:
        index = self._index(dialogue_id)
        if question_id not in index:
            index.add(question_id, text, cluster_id, topic)

    def merge(self, dialogue_id: str, source: int, target: int) -> None:
        index = self._indexes.get(dialogue_id)
        if index is not None:
            index.merge_clusters(source, target)

    def move(self, dialogue_id: str, question_id: int, cluster_id: int) -> None:
        index = self._indexes.get(dialogue_id)
        if index is not None and question_id in index:
            index.move(question_id, cluster_id)
