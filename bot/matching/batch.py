"""Clustering a whole file of questions at once (`python -m bot cluster`, the benches): in input
order, exactly as the bot does when they arrive one by one."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import TextIO

from handlers.normalise import Normalizer

from .index import ClusterIndex, MatchSettings, PairScorer

__all__ = ["cluster_jsonl", "cluster_records"]


def cluster_records(records: Iterable[dict], settings: MatchSettings, normalizer: Normalizer,
                    scorer: PairScorer | None = None) -> list[tuple[object, str]]:
    """Cluster questions in input order, exactly as the bot does when they arrive one by one.

    Each record is {"id": ..., "text": ..., "topic": optional int}. Returns (id, label) in input
    order. A record that joins no cluster starts one labelled "c1", "c2", ... in order of first
    appearance, so labels are stable for the same input and never collide with question ids.
    Raises ValueError on a repeated id. `scorer`: another pair scorer than the shipped one
    (cross-validation trains one per fold).
    """
    index = ClusterIndex(settings, normalizer, scorer)
    result: list[tuple[object, str]] = []
    started = 0
    for record in records:
        item_id, text, topic = record["id"], record["text"], record.get("topic")
        match = index.best_cluster(text, topic)
        if match is None:
            started += 1
            label = f"c{started}"
        else:
            label = str(match.cluster_id)
        index.add(item_id, text, label, topic)
        result.append((item_id, label))
    return result


def cluster_jsonl(in_lines: Iterable[str], out: TextIO, settings: MatchSettings,
                  normalizer: Normalizer) -> int:
    """Read question records as JSON lines, write {"id": ..., "cluster": ...} lines.

    Blank lines are skipped. Raises ValueError naming the 1-based line number for invalid JSON, a
    missing or invalid id/text/topic, or a repeated id; nothing is written in that case.
    Returns the number of lines written.
    """
    records = list(_parse_records(in_lines))
    for item_id, label in cluster_records(records, settings, normalizer):
        out.write(json.dumps({"id": item_id, "cluster": label}, ensure_ascii=False) + "\n")
    return len(records)


def _parse_records(lines: Iterable[str]) -> Iterator[dict]:
    seen: dict[object, int] = {}
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {lineno}: invalid JSON: {exc.msg}") from None
        if not isinstance(record, dict):
            raise ValueError(f"line {lineno}: expected a JSON object")
        item_id, text, topic = record.get("id"), record.get("text"), record.get("topic")
        if isinstance(item_id, bool) or not isinstance(item_id, int | str):
            raise ValueError(f"line {lineno}: missing or invalid 'id' (string or integer)")
        if not isinstance(text, str):
            raise ValueError(f"line {lineno}: missing or invalid 'text' (string)")
        if topic is not None and (isinstance(topic, bool) or not isinstance(topic, int)):
            raise ValueError(f"line {lineno}: invalid 'topic' (integer or absent)")
        if item_id in seen:
            raise ValueError(f"line {lineno}: id {item_id!r} already used on line {seen[item_id]}")
        seen[item_id] = lineno
        yield {"id": item_id, "text": text, "topic": topic}
