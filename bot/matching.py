"""Similar-question matching and clustering (pure text; no database, no messaging).

A member's question is offered the existing questions it resembles before it is stored, and joins
an existing cluster automatically only when it is very close, so staff see "42 women asked" instead
of 42 copies. Precision matters more than recall: a wrong merge hides a woman's concern inside
someone else's; a missed merge costs staff one click (`merge_clusters`).

Score (0-100) of a stored question against a new one, both normalised by `handlers.text.Normalizer`
(folded content words plus concept words such as "#tao_hon" from locales/concepts.tsv):

    score = (80% content overlap + 20% fuzz.token_set_ratio) × (1 - 0.5 × keyword conflict)
            - cross_topic_penalty (only when both topics are known and differ)

* content overlap: IDF-weighted Dice of the two word sets; for `similar` (offers) the mean of Dice
  and IDF-weighted containment, so a short question ("tảo hôn ở bản em") is offered a long one
  that says the same. IDF comes from the stored questions themselves, so "hỗ trợ", "bản" count
  little and the words that tell concerns apart count a lot.
* concept words weigh `_CONCEPT_BOOST` (5) times their IDF. A concept stands for a phrase of
  two or three words, and agreeing on the concern ("#tao_hon") matters more than incidental
  words (place names, "chấm dứt", "xử lý nghiêm"). This is what lets paraphrases with no shared
  word join: "tảo hôn ở bản em" / "con gái 15 tuổi bị ép lấy chồng".
* token_set_ratio (rapidfuzz) adds tolerance for typos and split/merged words, which exact word
  overlap misses.
* keyword conflict (0-1): both sides contain a word the other lacks that is about as rare as any
  word in the pair: same frame, different object. With concepts this is mostly two different
  concepts: "vay vốn nuôi bò" (#vay_von #chan_nuoi) vs "vay vốn cho con học nghề" (#vay_von
  #hoc_nghe). See ClusterIndex._overlap.
* Topic: members sometimes pick the wrong topic (about one in ten in our sample), so topics never
  forbid a match; a different topic costs `cross_topic_penalty` points. A near-identical question
  under the wrong topic still joins; a borderline one does not, and same-topic suggestions rank
  first. Restricting to the same topic measured no better (bench/cluster_quality.py, variants).

Weights, thresholds and the concept table were first chosen on tests/data/cluster_dev.jsonl,
with tests/data/cluster_holdout.jsonl held out (0.97 / 0.65 / 0.78 precision / recall / F1
there). A later round of tuning looked at both, so a third set, tests/data/cluster_blind.jsonl,
was written by someone who had not seen the matcher: first measured at 0.92 / 0.63 / 0.75, which
showed that concepts naming only a kind or a place ("trạm y tế") must not make two questions one
concern. After that round (bench/cluster_quality.py prints the current figures): dev 0.98 /
0.90 / 0.94, first holdout 0.99 / 0.81 / 0.89, blind 0.98 / 0.69 / 0.81. Recall on wordings no
one has seen is bounded by the concept table; precision holds.

Lookups never scan every stored question. Identical normalised texts share one index entry, and:
1. an inverted index (word → entries) yields the entries sharing the query's rarest words, reading
   at most `_POSTINGS_BUDGET` ids; numpy keeps the `_PRESELECT` best by a Dice-like key;
2. numpy computes the exact content overlap and keyword conflict for those;
3. the best `_SHORTLIST` (at most `_PER_CLUSTER` per cluster, so one popular cluster's many
   wordings cannot hide the others) are scored with rapidfuzz `process.cdist` and combined.
On a synthetic 100k corpus the best match equals an exhaustive search in ~95% of lookups, and is
otherwise within a few points (bench/matching.py measures speed).
"""

from __future__ import annotations

import json
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TextIO

import numpy as np
from rapidfuzz import fuzz, process

from handlers.text import CONCEPT_MARK, Normalizer

__all__ = [
    "ClusterIndex",
    "Match",
    "MatchSettings",
    "cluster_jsonl",
    "cluster_records",
]

ItemId = int | str
ClusterId = int | str

# Share of the score taken by rapidfuzz's token_set_ratio; the rest is IDF content overlap.
_FUZZY_WEIGHT = 0.2
# Candidate generation reads posting lists, rarest word first, until this many ids were read.
# Common words are low-IDF anyway; rare shared words are what make two questions the same.
_POSTINGS_BUDGET = 12_000
# Candidates (most shared rare-word weight) whose exact content overlap is computed with numpy.
_PRESELECT = 384
# Of those, the best _SHORTLIST by content overlap, at most _PER_CLUSTER per cluster, are
# scored with rapidfuzz too.
_SHORTLIST = 48
_PER_CLUSTER = 4
# Joining needs only the single best cluster, and the content part (80% of the score) already
# ranks it near the top, so it skips the per-cluster cap and scores fewer with rapidfuzz.
_JOIN_SHORTLIST = 16
# A full keyword conflict (see ClusterIndex._overlap) scales the score down by this share.
_CONFLICT_WEIGHT = 0.5
_JOIN_SCORER = fuzz.token_set_ratio
# Concept words (CONCEPT_MARK, from locales/concepts.tsv) weigh this many times their IDF. Dev set
# F1 at precision >= 0.95 by boost: 1 → 0.65, 3 → 0.87, 5 → 0.90; higher boosts trade precision
# margin for a little recall and lean harder on the table (join_threshold must rise with it).
_CONCEPT_BOOST = 5.0
# Content overlap (0-100) at least this when both sides name exactly the same concepts, one of
# them a request (see _overlap), so a long wording of a concern joins a short one; keyword
# conflict still scales it down. B-cubed F1 on dev / first holdout / blind set: without 0.88 /
# 0.79 / 0.58; 55 → 0.94 / 0.87 / 0.81; 65 → 0.94 / 0.89 / 0.81; 70 costs blind precision.
_SAME_CONCEPTS_FLOOR = 65.0


@dataclass(frozen=True)
class MatchSettings:
    """Thresholds on the 0-100 score. Defaults measured on tests/data/cluster_dev.jsonl.

    similar_threshold: a stored question at least this close is offered to the member.
    join_threshold: a new question at least this close joins that cluster without asking.
    """

    similar_threshold: float = 35.0
    join_threshold: float = 47.5
    max_similar: int = 3
    cross_topic_penalty: float = 10.0

    def __post_init__(self) -> None:
        for name in ("similar_threshold", "join_threshold", "cross_topic_penalty"):
            value = getattr(self, name)
            if not 0 <= value <= 100:
                raise ValueError(f"{name} must be within 0..100, got {value}")
        if self.max_similar < 1:
            raise ValueError(f"max_similar must be at least 1, got {self.max_similar}")


@dataclass(frozen=True)
class Match:
    item_id: ItemId
    cluster_id: ClusterId
    score: float


class _Item:
    __slots__ = ("cluster", "entry", "topic")

    def __init__(self, entry: int, cluster: ClusterId, topic: int | None) -> None:
        self.entry, self.cluster, self.topic = entry, cluster, topic


class _Entry:
    """One distinct normalised text and the stored questions that normalise to it.

    Members are grouped by (cluster, topic) so a text asked 500 times costs one group, not 500
    items, at lookup. Dicts rather than sets keep insertion order, which makes ties deterministic.
    """

    __slots__ = ("groups", "text", "token_ids")

    def __init__(self, text: str, token_ids: list[int]) -> None:
        self.text = text
        self.token_ids = token_ids  # sorted, unique
        self.groups: dict[tuple[ClusterId, int | None], dict[ItemId, None]] = {}

    def __bool__(self) -> bool:
        return bool(self.groups)


class ClusterIndex:
    """In-memory index of stored questions and their clusters.

    Not thread-safe; one index per process, rebuilt from storage at start-up via `add`.
    """

    def __init__(self, settings: MatchSettings, normalizer: Normalizer) -> None:
        self.settings = settings
        self.normalizer = normalizer
        self._items: dict[ItemId, _Item] = {}
        self._clusters: dict[ClusterId, dict[ItemId, None]] = {}
        self._entries: list[_Entry] = []
        self._entry_of: dict[str, int] = {}
        self._vocab: dict[str, int] = {}
        self._postings: list[array[int]] = []  # token id → ids of live entries containing it
        self._df = array("i")  # token id → len(postings), readable by numpy without copying
        self._boost = array("d")  # token id → weight multiplier (concept words weigh more)
        self._asks = array("b")  # token id → a concept naming a request, not a kind or place
        self._live_entries = 0
        # entry id → code of its (first) cluster, for per-cluster caps in the shortlist.
        self._entry_cluster = array("i")
        # Entry words as one flat array (entries never change), read by numpy without copying.
        self._token_flat = array("i")
        self._token_start = array("q")
        self._token_count = array("i")
        self._cluster_codes: dict[ClusterId, int] = {}
        # The bot calls similar()/best_cluster() and then add() with the same text.
        self._last: tuple[str, str] = ("", "")

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def cluster_of(self, item_id: ItemId) -> ClusterId:
        return self._items[item_id].cluster

    def cluster_size(self, cluster_id: ClusterId) -> int:
        return len(self._clusters.get(cluster_id, ()))

    # --- updates ----------------------------------------------------------------------------

    def add(self, item_id: ItemId, text: str, cluster_id: ClusterId,
            topic: int | None = None) -> None:
        """Store a question in a cluster. Raises ValueError if item_id is already stored."""
        if item_id in self._items:
            raise ValueError(f"item {item_id!r} is already indexed; use move() or remove()")
        entry_id = self._entry_for(self._normalize(text))
        self._items[item_id] = _Item(entry_id, cluster_id, topic)
        self._link(item_id)

    def remove(self, item_id: ItemId) -> None:
        """Forget a question (deleted by the member or rejected by staff). KeyError if unknown."""
        self._unlink(item_id)
        item = self._items.pop(item_id)
        entry = self._entries[item.entry]
        if not entry:
            self._retire(item.entry, entry)

    def move(self, item_id: ItemId, cluster_id: ClusterId) -> None:
        """Reassign one question to another (possibly new) cluster. KeyError if unknown."""
        self._unlink(item_id)
        self._items[item_id].cluster = cluster_id
        self._link(item_id)

    def merge_clusters(self, src_cluster: ClusterId, dst_cluster: ClusterId) -> None:
        """Move every question of src_cluster into dst_cluster; src_cluster disappears."""
        if src_cluster == dst_cluster:
            return
        for item_id in list(self._clusters.get(src_cluster, ())):
            self.move(item_id, dst_cluster)

    # --- lookups ----------------------------------------------------------------------------

    def similar(self, text: str, topic: int | None = None,
                limit: int | None = None) -> list[Match]:
        """Up to `limit` (default settings.max_similar) clusters whose best stored question
        scores at least similar_threshold, best first, one Match per cluster."""
        limit = self.settings.max_similar if limit is None else limit
        return self._ranked(text, topic, self.settings.similar_threshold, False)[:limit]

    def best_cluster(self, text: str, topic: int | None = None) -> Match | None:
        """The cluster this question should join automatically, or None."""
        exact = self._exact(self._normalize(text), topic)
        if exact is not None:
            return exact
        ranked = self._ranked(text, topic, self.settings.join_threshold, True)
        return ranked[0] if ranked else None

    def _exact(self, norm: str, topic: int | None) -> Match | None:
        """Same normalised text already stored under a compatible topic: score 100, no search.

        Copies of one question are common (forwarded in Zalo groups, relayed by leaders) and
        nothing can score higher, so the general path is only needed when the copies sit under
        another topic (a same-topic paraphrase might then win).
        """
        entry_id = self._entry_of.get(norm)
        if not norm or entry_id is None:
            return None
        for (cluster, item_topic), members in self._entries[entry_id].groups.items():
            if topic is None or item_topic is None or item_topic == topic:
                return Match(next(iter(members)), cluster, 100.0)
        return None

    # --- internals: bookkeeping -----------------------------------------------------------

    def _normalize(self, text: str) -> str:
        last_text, last_norm = self._last
        if text == last_text and last_text:
            return last_norm
        norm = self.normalizer(text)
        self._last = (text, norm)
        return norm

    def _token_id(self, token: str) -> int:
        token_id = self._vocab.get(token)
        if token_id is None:
            token_id = self._vocab[token] = len(self._postings)
            self._postings.append(array("i"))
            self._df.append(0)
            concept = token.startswith(CONCEPT_MARK)
            self._boost.append(_CONCEPT_BOOST if concept else 1.0)
            self._asks.append(concept and token not in self.normalizer.concepts.broad)
        return token_id

    def _entry_for(self, norm: str) -> int:
        entry_id = self._entry_of.get(norm)
        if entry_id is None:
            entry_id = len(self._entries)
            ids = sorted({self._token_id(t) for t in norm.split()})
            self._entries.append(_Entry(norm, ids))
            self._entry_of[norm] = entry_id
            self._entry_cluster.append(-1)
            self._token_start.append(len(self._token_flat))
            self._token_count.append(len(ids))
            self._token_flat.extend(ids)
        entry = self._entries[entry_id]
        if not entry:  # new, or every question with this text had been removed
            self._live_entries += 1
            for token_id in entry.token_ids:
                self._postings[token_id].append(entry_id)
                self._df[token_id] += 1
        return entry_id

    def _retire(self, entry_id: int, entry: _Entry) -> None:
        # Removal is rare (staff action), so an O(posting length) delete is fine and keeps
        # lookups free of dead entries.
        self._live_entries -= 1
        for token_id in entry.token_ids:
            self._postings[token_id].remove(entry_id)
            self._df[token_id] -= 1

    def _link(self, item_id: ItemId) -> None:
        item = self._items[item_id]
        groups = self._entries[item.entry].groups
        groups.setdefault((item.cluster, item.topic), {})[item_id] = None
        self._clusters.setdefault(item.cluster, {})[item_id] = None
        self._set_entry_cluster(item.entry)

    def _unlink(self, item_id: ItemId) -> None:
        item = self._items[item_id]
        groups = self._entries[item.entry].groups
        key = (item.cluster, item.topic)
        del groups[key][item_id]
        if not groups[key]:
            del groups[key]
        members = self._clusters[item.cluster]
        del members[item_id]
        if not members:
            del self._clusters[item.cluster]
        self._set_entry_cluster(item.entry)

    def _set_entry_cluster(self, entry_id: int) -> None:
        groups = self._entries[entry_id].groups
        if groups:
            cluster = next(iter(groups))[0]
            code = self._cluster_codes.setdefault(cluster, len(self._cluster_codes))
        else:
            code = -1
        self._entry_cluster[entry_id] = code

    # --- internals: scoring ---------------------------------------------------------------

    def _ranked(self, text: str, topic: int | None, threshold: float,
                joining: bool) -> list[Match]:
        norm = self._normalize(text)
        tokens = set(norm.split())
        if not tokens:
            return []
        df = self._df
        known = sorted(tid for t in tokens if (tid := self._vocab.get(t)) is not None and df[tid])
        if not known:
            return []
        query_ids = np.array(known, dtype=np.int32)
        candidates = self._candidates(query_ids)
        exact = self._entry_of.get(norm)
        if exact is not None and self._entries[exact]:
            candidates = np.union1d(candidates, [exact])  # always scored, never truncated away
        unknown = [_CONCEPT_BOOST if t.startswith(CONCEPT_MARK) else 1.0
                   for t in tokens if t not in self._vocab or not df[self._vocab[t]]]
        content, conflict = self._overlap(query_ids, unknown, candidates, joining)
        key = content * (1 - _CONFLICT_WEIGHT * conflict)
        if joining:
            shortlist = self._top(norm, candidates, key, _JOIN_SHORTLIST)
        else:
            shortlist = self._shortlist(norm, candidates, key, _SHORTLIST)
        picked = np.searchsorted(candidates, shortlist)
        fuzzy = process.cdist([norm], [self._entries[e].text for e in shortlist.tolist()],
                              scorer=_JOIN_SCORER if joining else fuzz.token_set_ratio,
                              processor=None, dtype=np.float64)[0]
        blended = (1 - _FUZZY_WEIGHT) * content[picked] + _FUZZY_WEIGHT * fuzzy
        scores = blended * (1 - _CONFLICT_WEIGHT * conflict[picked])
        return self._best_per_cluster(shortlist.tolist(), scores.tolist(), topic, threshold)

    def _candidates(self, query_ids: np.ndarray) -> np.ndarray:
        """Sorted ids of live entries sharing the query's rarest words, at most about
        _PRESELECT of them: those with the most shared IDF weight, ties to older entries."""
        df = self._df
        chosen, read = [], 0
        for tid in sorted(query_ids.tolist(), key=lambda tid: (df[tid], tid)):
            if chosen and read + df[tid] > _POSTINGS_BUDGET:
                break
            chosen.append(tid)
            read += df[tid]
        boost = self._boost
        weights = (_idf(self._live_entries, np.array([df[tid] for tid in chosen]))
                   * np.array([boost[tid] for tid in chosen]))
        shared = np.zeros(len(self._entries))
        for tid, weight in zip(chosen, weights.tolist(), strict=True):
            # An entry occurs once per posting list, so a fancy-index += is exact (and 2-3x
            # faster than np.bincount with weights).
            shared[np.frombuffer(self._postings[tid], dtype=np.int32)] += weight
        candidates = np.nonzero(shared > 0)[0]
        if len(candidates) > _PRESELECT:
            # Dice-like key: shared weight against the entry's length (× the mean query word
            # weight), so long entries that merely contain the query's words do not win.
            lengths = np.frombuffer(self._token_count, dtype=np.int32)[candidates]
            key = shared[candidates] / (weights.sum() + lengths * weights.mean())
            kth = np.partition(key, -_PRESELECT)[-_PRESELECT]
            candidates = candidates[key >= kth][: 2 * _PRESELECT]
        return candidates

    def _overlap(self, query_ids: np.ndarray, unknown: list[float], candidates: np.ndarray,
                 joining: bool) -> tuple[np.ndarray, np.ndarray]:
        """Per candidate: IDF content overlap (0-100) and keyword conflict (0-1), vectorised.

        Keyword conflict: "tập huấn bảo hiểm y tế cho hội viên" vs "tập huấn bạo lực gia đình
        cho hội viên". The shared frame outweighs the differing object in any bag-of-words
        score, but each side has an unshared word (here: concept word) about as rare as any in
        the pair. Extra words on one side only (a longer wording of the same request) are no
        conflict. Word weights are IDF × `_boost` (concept words weigh more).
        """
        n = self._live_entries
        df = np.frombuffer(self._df, dtype=np.int32)
        starts = np.frombuffer(self._token_start, dtype=np.int64)[candidates]
        lengths = np.frombuffer(self._token_count, dtype=np.int32)[candidates]
        seg = np.cumsum(lengths) - lengths  # where each candidate's words start in `flat`
        flat = np.frombuffer(self._token_flat, dtype=np.int32)[
            np.repeat(starts - seg, lengths) + np.arange(int(lengths.sum()))]
        boost = np.frombuffer(self._boost, dtype=np.float64)
        w = _idf(n, df[flat]) * boost[flat]
        position = np.full(len(self._postings), -1, dtype=np.intp)
        position[query_ids] = np.arange(len(query_ids))
        column = position[flat]  # index of the word in the query, or -1
        in_query = column >= 0
        other_weight = np.add.reduceat(w, seg)
        shared = np.add.reduceat(np.where(in_query, w, 0.0), seg)
        other_only = np.maximum.reduceat(np.where(in_query, 0.0, w), seg)
        # Query words missing from each candidate: a (candidates × query words) table.
        query_w = _idf(n, df[query_ids]) * boost[query_ids]
        never_seen = float(_idf(n, np.zeros(1))[0])
        unknown_w = never_seen * max(unknown) if unknown else 0.0
        present = np.zeros((len(candidates), len(query_ids)), dtype=bool)
        rows = np.repeat(np.arange(len(candidates)), lengths)[in_query]
        present[rows, column[in_query]] = True
        query_only = np.maximum(np.where(present, 0.0, query_w).max(axis=1), unknown_w)
        query_weight = query_w.sum() + never_seen * sum(unknown)
        strongest = np.maximum(np.maximum.reduceat(w, seg), max(query_w.max(), unknown_w))

        dice = 2 * shared / (query_weight + other_weight)
        conflict = np.where((query_only > 0) & (other_only > 0),
                            np.minimum(query_only, other_only) / strongest, 0.0)
        if joining:
            content = 100.0 * dice
        else:
            containment = shared / np.minimum(query_weight, other_weight)
            content = 50.0 * (dice + containment)
        # Same concern in other words: exactly the same concept words on both sides, one of
        # them a request (vay vốn), not only a kind or place (chăn nuôi, trạm y tế: medicine
        # and midwives are different requests). The rest of a long story (place, family, "xin
        # hỏi") dilutes Dice, but not what is asked.
        query_concepts = boost[query_ids] > 1.0
        asks = np.frombuffer(self._asks, dtype=np.int8)[query_ids].any()
        if asks and max(unknown, default=1.0) == 1.0:
            extra = np.maximum.reduceat(np.where((boost[flat] > 1.0) & ~in_query, 1, 0), seg)
            same = present[:, query_concepts].all(axis=1) & (extra == 0)
            content = np.where(same, np.maximum(content, _SAME_CONCEPTS_FLOOR), content)
        return content, conflict

    def _shortlist(self, norm: str, candidates: np.ndarray, key: np.ndarray,
                   size: int) -> np.ndarray:
        """Sorted ids of the best `size` candidates by `key`, at most _PER_CLUSTER per
        cluster so a popular cluster's many wordings cannot crowd out the other clusters
        `similar` should offer. The exact same text, if stored, is always kept."""
        clusters = np.frombuffer(self._entry_cluster, dtype=np.int32)[candidates]
        # One sort by (cluster, -key); stable, so ties go to the older entry: reproducible.
        order = np.lexsort((-key, clusters))
        grouped = clusters[order]
        first = np.flatnonzero(np.concatenate(([True], grouped[1:] != grouped[:-1])))
        sizes = np.diff(np.append(first, len(order)))
        rank_in_cluster = np.arange(len(order)) - np.repeat(first, sizes)
        capped = order[rank_in_cluster < _PER_CLUSTER]
        best = capped[np.argsort(-key[capped], kind="stable")[:size]]
        keep = candidates[best]
        exact = self._entry_of.get(norm)
        if exact is not None and self._entries[exact]:
            keep = np.append(keep, exact)
        return np.unique(keep)

    def _top(self, norm: str, candidates: np.ndarray, key: np.ndarray, size: int) -> np.ndarray:
        """Sorted ids of the `size` best candidates by `key` (ties: any, but reproducibly), plus
        the exact same text if stored. For joining, where only the single best counts."""
        if len(candidates) > size:
            candidates = candidates[np.sort(np.argpartition(-key, size)[:size])]
        exact = self._entry_of.get(norm)
        if exact is not None and self._entries[exact]:
            candidates = np.union1d(candidates, [exact])
        return candidates

    def _best_per_cluster(self, shortlist: list[int], scores: list[float], topic: int | None,
                          threshold: float) -> list[Match]:
        penalty = self.settings.cross_topic_penalty
        best: dict[ClusterId, tuple[float, int, ItemId]] = {}
        for rank, (entry_id, score) in enumerate(zip(shortlist, scores, strict=True)):
            if score < threshold:
                continue
            for (cluster, item_topic), members in self._entries[entry_id].groups.items():
                adjusted = score
                if topic is not None and item_topic is not None and item_topic != topic:
                    adjusted -= penalty
                if adjusted < threshold:
                    continue
                current = best.get(cluster)
                if current is None or adjusted > current[0]:
                    best[cluster] = (adjusted, rank, next(iter(members)))
        ordered = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[1][1]))
        return [Match(item_id, cluster, round(score, 2))
                for cluster, (score, _rank, item_id) in ordered]


def _idf(n_entries: int, df: np.ndarray) -> np.ndarray:
    """Smoothed inverse document frequency; always > 0, and high for words never seen."""
    return np.log((n_entries + 1) / (df + 0.5))


# --- batch clustering -------------------------------------------------------------------------


def cluster_records(records: Iterable[dict], settings: MatchSettings,
                    normalizer: Normalizer) -> list[tuple[object, str]]:
    """Cluster questions in input order, exactly as the bot does when they arrive one by one.

    Each record is {"id": ..., "text": ..., "topic": optional int}. Returns (id, label) in input
    order. A record that joins no cluster starts one labelled "c1", "c2", ... in order of first
    appearance, so labels are stable for the same input and never collide with question ids.
    Raises ValueError on a repeated id.
    """
    index = ClusterIndex(settings, normalizer)
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
