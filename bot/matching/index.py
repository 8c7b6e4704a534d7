"""The in-memory index of stored questions and the pair score (pure text; no database).

A member's question is offered the existing concerns it resembles before it is stored (up to
`max_similar`, at a low bar: she chooses), and joins an existing cluster automatically only when
it is close to that cluster AS A WHOLE (a strict bar), so staff see "42 women asked" instead of
42 copies. Precision matters more than recall: a wrong merge hides a woman's concern inside
someone else's; a missed merge costs staff one click (`merge_clusters`, or confirming a
"possible duplicate": questions between `review_threshold` and `join_threshold`).

Pair score (0-100) of a stored question against a new one: a small logistic model
(`PairScorer`, weights in bot/matching/pair_scorer.json, fitted by bench/train_pair_scorer.py on
the labelled pairs of every set) over general signals, none of which lists wordings, plus the
products dice × token_set and dice² (the model needs to bend: a pair sharing half its weight is
far more often one concern than one sharing a quarter):

* word overlap: IDF-weighted Dice and containment of the folded content words (IDF from the
  stored questions themselves, so "hỗ trợ", "bản" count little; against at least
  `_IDF_FLOOR` entries, so that in a new deployment's nearly empty index a new word does not
  outweigh every shared one). A locales/concepts.tsv phrase
  adds a concept word that counts like any other word (`_CONCEPT_BOOST` 1): a fresh writer's
  questions showed that weighing the table more (5, with a floor for "same concepts") turned
  its concepts into topic buckets (pairwise precision 0.36 on her set). How much sharing
  concept words counts is learned instead (`concept_jaccard`: shared / all concept words).
  (With it, the request share and the products above, cross-validation over held-out
  concerns measured about level with the nine features before at the same bar (pairwise
  P / R 0.958 / 0.290 against 0.948 / 0.286, docs/benchmarks.md). The recall gained over
  the previous matcher comes from the lower, cross-validated joining bar, training on every
  set, and weighing hard-negative pairs more.)
* character 3-grams of the folded words (Dice): typos, teencode left unexpanded, split or
  merged words ("nuoc sach" / "nươc sạch" / "nc sạch"); plain (Dice) and IDF-weighted
  (cosine), so a rare letter sequence (an object's name) counts more than "ng ". Taken from
  the plain form (`Normalizer.analyse_plain`: the words BEFORE concept phrases replace them),
  so "vắc xin" and "tiền đền bù" still differ where both became "#dich_benh_vat_nuoi".
* concept conflict: both name concepts and share none (`concept_conflict`; "tập huấn bảo
  hiểm y tế" / "tập huấn phòng chống bạo lực gia đình": same frame, another object). (The
  three changes of match7, this, the plain-form 3-grams and training on the held-back files,
  measured by leaving each writer's file out: docs/benchmarks.md, section match7.)
* rapidfuzz token_set_ratio.
* keyword conflict: each side has a word the other lacks that is about as rare as any word in
  the pair (same frame, different object: a loan for a cow vs a loan for a course).
* request agreement (locales/requests.tsv): what she asks for — raise, reduce, repair, build,
  re-issue, exempt, train, how, who is responsible, when. Two different actions or two
  different question forms count against the pair; the same action counts for it; the share
  of requests both name (`request_jaccard`), and whether only one side asks a question.

Joining is average link against the cluster's CORE: the first `_CORE_SIZE` distinct wordings
that formed it (it fills up as wordings join, then stops moving), plus the cores of clusters
staff merged into it, so a merge is remembered. The new question must score at least
`join_threshold` on average against one core, not merely against its closest member: a
cluster cannot walk from storage tanks to water tariffs one resembling question at a time.
The request decides: a core that asks for another action, or another strict question form
(locales/requests.tsv `strict_ask`: when, who is responsible), is never joined automatically;
the pair can only go to staff's review list. (Tried and measured no better in
cross-validation: a median or a "most of the core" rule instead of the mean, a floor on the
worst core pair, admitting to the core only wordings close to it, gating on every question
form, a bigger topic penalty.)
Topic: members sometimes pick the wrong one, so a different topic costs `cross_topic_penalty`
points but never forbids a match.

Lookups never scan every stored question. Identical normalised texts share one index entry, and:
1. an inverted index (word → entries) yields the entries sharing the query's rarest words, reading
   at most `_POSTINGS_BUDGET` ids; numpy keeps the `_PRESELECT` best by a Dice-like key;
2. offers (`similar`): numpy computes the exact word overlap and keyword conflict for those,
   and the best `_SHORTLIST` (at most `_PER_CLUSTER` per cluster) get the full pair score;
3. joining (`best_cluster`, `possible_duplicate`): the `_JOIN_CLUSTERS` clusters of the best
   entries by that key, and only their cores get the full pair score.
bench/matching.py measures speed; bench/cluster_quality.py quality, beside a rapidfuzz baseline.
Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import json
import math
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from handlers.normalise import CONCEPT_MARK, Normalizer

__all__ = [
    "FEATURES",
    "ClusterIndex",
    "Match",
    "MatchSettings",
    "PairScorer",
]

ItemId = int | str
ClusterId = int | str

DEFAULT_SCORER = Path(__file__).resolve().parent / "pair_scorer.json"


# Candidate generation reads posting lists, rarest word first, until this many ids were read.
_POSTINGS_BUDGET = 12_000
# Candidates (most shared rare-word weight) whose exact word overlap is computed with numpy.
_PRESELECT = 384
# Of those, the best _SHORTLIST, at most _PER_CLUSTER per cluster, get the full pair score.
_SHORTLIST = 24
_PER_CLUSTER = 4
_JOIN_SHORTLIST = 30  # entries looked at for those clusters
# Joining: the clusters of the best entries by the candidate key; their cores are then scored
# as a whole.
_JOIN_CLUSTERS = 6
# A cluster's core: its first distinct wordings. Later members do not move it (no drift).
_CORE_SIZE = 4
# At most this many core wordings are scored per cluster (a cluster with many merged cores).
_CORE_BUDGET = 12
# Concept words (CONCEPT_MARK, from locales/concepts.tsv) weigh this many times their IDF.
_CONCEPT_BOOST = 1.0
# A core any wording of which asks for another action is not joined automatically. (Allowing
# up to half: pairwise precision 0.84 instead of 0.86 on the tuning part of cluster_train.)
_GATE_SHARE = 0.0
# IDF is taken against at least this many entries: in a nearly empty index (a new deployment)
# a word never seen would otherwise outweigh every shared word (one stored question: 4.8x),
# and a rewording with one new word would score as a stranger. Indexes this size or larger
# (every labelled set, so training) are unchanged.
_IDF_FLOOR = 100
# Character n-grams of the folded words, with word boundaries marked.
_GRAM = 3

# Names of the pair features, in the order PairScorer weights them.
FEATURES = ("dice", "containment", "token_set", "char_dice", "char_tfidf", "conflict",
            "action_conflict", "ask_conflict", "action_agree", "concept_jaccard",
            "dice_x_token_set", "dice_squared", "request_jaccard", "ask_one_sided",
            "concept_conflict")
_ACTION_CONFLICT = FEATURES.index("action_conflict")


@dataclass(frozen=True)
class MatchSettings:
    """Thresholds on the 0-100 score (bench/cluster_quality.py measures them).

    similar_threshold: a cluster whose closest question scores at least this is offered to the
        member ("someone asked this already, support it?"); she chooses, so the bar is low.
    join_threshold: a new question whose mean score against a cluster's core is at least this
        joins that cluster without asking.
    review_threshold: between this and join_threshold, the pair goes to staff's "possible
        duplicates" list (/trung) instead.
    """

    similar_threshold: float = 15.0
    join_threshold: float = 40.0
    review_threshold: float = 30.0
    max_similar: int = 3
    cross_topic_penalty: float = 10.0

    def __post_init__(self) -> None:
        for name in ("similar_threshold", "join_threshold", "review_threshold",
                     "cross_topic_penalty"):
            value = getattr(self, name)
            if not 0 <= value <= 100:
                raise ValueError(f"{name} must be within 0..100, got {value}")
        if self.max_similar < 1:
            raise ValueError(f"max_similar must be at least 1, got {self.max_similar}")
        if self.review_threshold > self.join_threshold:
            raise ValueError("review_threshold must not exceed join_threshold")


@dataclass(frozen=True)
class Match:
    item_id: ItemId
    cluster_id: ClusterId
    score: float


@dataclass(frozen=True)
class PairScorer:
    """Logistic model: P(same concern) = sigmoid(bias + weights · features), as 0-100."""

    weights: tuple[float, ...]
    bias: float

    @classmethod
    def load(cls, path: Path = DEFAULT_SCORER) -> PairScorer:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path}: features {data['features']} != {list(FEATURES)}; "
                             "retrain with bench/train_pair_scorer.py")
        return cls(tuple(float(w) for w in data["weights"]), float(data["bias"]))

    def __call__(self, features: np.ndarray) -> np.ndarray:
        z = features @ np.asarray(self.weights) + self.bias
        return 100.0 / (1.0 + np.exp(-z))


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


@dataclass
class _Query:
    norm: str
    ids: np.ndarray  # sorted ids of its words the index knows (live)
    unknown: list[float]  # boosts of its words the index does not know
    unknown_concepts: int  # how many of those are concept words
    action: int
    ask: int
    grams: np.ndarray  # sorted ids of its character 3-grams the index knows
    unknown_grams: int  # how many of its 3-grams the index does not know
    exact: int | None  # the live entry with the same normalised text


class ClusterIndex:
    """In-memory index of stored questions and their clusters.

    Not thread-safe; one index per process, rebuilt from storage at start-up via `add`, and kept
    in step with every change (`remove`, `move`, `merge_clusters`).
    """

    def __init__(self, settings: MatchSettings, normalizer: Normalizer,
                 scorer: PairScorer | None = None) -> None:
        self.settings = settings
        self.normalizer = normalizer
        self.scorer = scorer or PairScorer.load()
        self._items: dict[ItemId, _Item] = {}
        self._clusters: dict[ClusterId, dict[ItemId, None]] = {}
        # cluster → its cores (lists of item ids) by the cluster each first formed; several
        # after a staff merge.
        self._cores: dict[ClusterId, dict[ClusterId, list[ItemId]]] = {}
        self._entries: list[_Entry] = []
        self._entry_of: dict[str, int] = {}
        self._vocab: dict[str, int] = {}
        self._postings: list[array[int]] = []  # token id → ids of live entries containing it
        self._df = array("i")  # token id → len(postings), readable by numpy without copying
        self._boost = array("d")  # token id → weight multiplier (concept words weigh more)
        self._concept = array("d")  # token id → 1.0 for a concept word (locales/concepts.tsv)
        self._action = array("q")  # entry id → request bits (actions), locales/requests.tsv
        self._ask = array("q")  # entry id → request bits (question forms)
        self._live_entries = 0
        # Character 3-grams: ids, live entries containing each, and each entry's (flat).
        self._gram_vocab: dict[str, int] = {}
        self._gram_df = array("i")
        self._gram_flat = array("i")
        self._gram_start = array("q")
        self._gram_count = array("i")
        # entry id → code of its (first) cluster, for per-cluster caps in the shortlist.
        self._entry_cluster = array("i")
        # Entry words as one flat array (entries never change), read by numpy without copying.
        self._token_flat = array("i")
        self._token_start = array("q")
        self._token_count = array("i")
        self._cluster_codes: dict[ClusterId, int] = {}
        # The bot asks similar()/best_cluster()/possible_duplicate() and add() for one text.
        self._last: tuple[str, str, tuple[int, int], str] = ("", "", (0, 0), "")
        self._last_grams: tuple[str, frozenset[str]] = ("", frozenset())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def cluster_of(self, item_id: ItemId) -> ClusterId:
        return self._items[item_id].cluster

    def cluster_size(self, cluster_id: ClusterId) -> int:
        return len(self._clusters.get(cluster_id, ()))

    def members(self, cluster_id: ClusterId) -> list[ItemId]:
        return list(self._clusters.get(cluster_id, ()))

    # --- updates ----------------------------------------------------------------------------

    def add(self, item_id: ItemId, text: str, cluster_id: ClusterId,
            topic: int | None = None, home: ClusterId | None = None) -> None:
        """Store a question in a cluster. Raises ValueError if item_id is already stored.

        `home`: the cluster it first formed or joined, when staff have since merged that one
        into `cluster_id` (a rebuild from storage): it belongs to that part's core."""
        if item_id in self._items:
            raise ValueError(f"item {item_id!r} is already indexed; use move() or remove()")
        norm, masks, plain = self._normalize(text)
        entry_id = self._entry_for(norm, masks, plain)
        self._items[item_id] = _Item(entry_id, cluster_id, topic)
        self._link(item_id)
        self._join_core(item_id, cluster_id, cluster_id if home is None else home)

    def remove(self, item_id: ItemId) -> None:
        """Forget a question (deleted, rejected, urgent). KeyError if unknown."""
        self._leave_core(item_id)
        self._unlink(item_id)
        item = self._items.pop(item_id)
        entry = self._entries[item.entry]
        if not entry:
            self._retire(item.entry, entry)

    def remove_cluster(self, cluster_id: ClusterId) -> int:
        """Forget every question of a cluster (rejected or urgent); how many."""
        members = self.members(cluster_id)
        for item_id in members:
            self.remove(item_id)
        return len(members)

    def move(self, item_id: ItemId, cluster_id: ClusterId) -> None:
        """Reassign one question to another (possibly new) cluster (staff split). KeyError if
        unknown. It leaves its old cluster's core: later questions like it join the new one."""
        self._leave_core(item_id)
        self._unlink(item_id)
        self._items[item_id].cluster = cluster_id
        self._link(item_id)
        self._join_core(item_id, cluster_id, cluster_id)

    def merge_clusters(self, src_cluster: ClusterId, dst_cluster: ClusterId) -> None:
        """Move every question of src_cluster into dst_cluster; src_cluster disappears. Its
        core stays a core of dst_cluster, so later questions like either part join."""
        if src_cluster == dst_cluster:
            return
        cores = self._cores.pop(src_cluster, {})
        for item_id in list(self._clusters.get(src_cluster, ())):
            self._unlink(item_id)
            self._items[item_id].cluster = dst_cluster
            self._link(item_id)
        target = self._cores.setdefault(dst_cluster, {})
        for home, core in cores.items():
            target.setdefault(home, []).extend(core)

    # --- lookups ----------------------------------------------------------------------------

    def similar(self, text: str, topic: int | None = None,
                limit: int | None = None) -> list[Match]:
        """Up to `limit` (default settings.max_similar) clusters whose closest stored question
        scores at least similar_threshold, best first, one Match per cluster."""
        limit = self.settings.max_similar if limit is None else limit
        query = self._query(text)
        if query is None:
            return []
        entries, scores = self._scored(query, _SHORTLIST, True)
        return self._best_per_cluster(entries, scores, topic,
                                      self.settings.similar_threshold)[:limit]

    def best_cluster(self, text: str, topic: int | None = None) -> Match | None:
        """The cluster this question should join automatically, or None."""
        ranked = self.cluster_scores(text, topic)
        if ranked and ranked[0].score >= self.settings.join_threshold:
            return ranked[0]
        return None

    def possible_duplicate(self, text: str, topic: int | None = None) -> Match | None:
        """The closest cluster when it is near but below the joining bar (for staff to decide
        on), or None."""
        ranked = self.cluster_scores(text, topic)
        if ranked and (self.settings.review_threshold <= ranked[0].score
                       < self.settings.join_threshold):
            return ranked[0]
        return None

    def cluster_scores(self, text: str, topic: int | None = None) -> list[Match]:
        """Clusters by their core score (mean pair score against the core; best core of a
        merged cluster), best first, at least review_threshold. Match.item_id: the closest
        member."""
        exact = self._exact(self._normalize(text)[0], topic)
        if exact is not None:
            return [exact]
        query = self._query(text)
        if query is None:
            return []
        floor = self.settings.review_threshold
        nearest = self._nearest_clusters(query)
        if not nearest:
            return []
        core_entries: list[int] = []
        spans: list[list[tuple[int, int]]] = []
        for match in nearest:
            spans.append([])
            for core in self._cores.get(match.cluster_id, {}).values():
                ids = [self._items[i].entry for i in core]
                budget = _CORE_BUDGET - sum(b - a for a, b in spans[-1])
                ids = ids[:max(budget, 0)]
                if ids:
                    spans[-1].append((len(core_entries), len(core_entries) + len(ids)))
                    core_entries.extend(ids)
        core_ids = np.array(core_entries, dtype=np.int64)
        core_scores, core_features = self._pair_scores(query, core_ids, with_features=True)
        # The request decides: a core whose wordings ask for another action is never joined
        # automatically; staff may still merge it (the pair goes to their review list).
        # So is one that asks another strict question form (when, who is responsible) while
        # both ask something. Other forms vary too much between wordings of one concern to
        # gate on ("có được không" / "làm sao"); they weigh in through the pair score. (The
        # strict gate cost 0.015 of pairwise recall in cross-validation, for the rule.)
        other_request = core_features[:, _ACTION_CONFLICT] > 0
        strict = self.normalizer.requests.strict_asks
        if strict:
            asks = np.frombuffer(self._ask, dtype=np.int64)[core_ids]
            other_request |= ((asks != 0) & (query.ask != 0)
                              & ((asks & strict) != (query.ask & strict)))
        bar = self.settings.join_threshold
        penalty = self.settings.cross_topic_penalty
        ranked = []
        # Plain lists: a numpy call per 4-wording core costs more than the arithmetic.
        pair_list, other_list = core_scores.tolist(), other_request.tolist()
        for match, cluster_spans in zip(nearest, spans, strict=True):
            if not cluster_spans:
                continue
            score = max(_core_score(pair_list[a:b], other_list[a:b], bar)
                        for a, b in cluster_spans)
            if topic is not None and self._cluster_topic(match.cluster_id) not in (None, topic):
                score -= penalty
            if score >= floor:
                ranked.append(Match(match.item_id, match.cluster_id, round(score, 2)))
        ranked.sort(key=lambda m: -m.score)
        return ranked

    def _nearest_clusters(self, query: _Query) -> list[Match]:
        """The _JOIN_CLUSTERS clusters of the entries that share the most rare-word weight with
        the query (cheap; only their cores get the full pair score). Match.score is unused."""
        candidates, key = self._shared_weight(query.ids)
        if len(candidates) > _JOIN_SHORTLIST:
            best = np.argpartition(-key, _JOIN_SHORTLIST)[:_JOIN_SHORTLIST]
            candidates, key = candidates[best], key[best]
        order = np.lexsort((candidates, -key))  # best first; ties to the older entry
        nearest: dict[ClusterId, Match] = {}
        if query.exact is not None:
            candidates = np.concatenate(([query.exact], candidates[order]))
        else:
            candidates = candidates[order]
        for entry_id in candidates.tolist():
            for (cluster, _topic), members in self._entries[entry_id].groups.items():
                if cluster not in nearest:
                    nearest[cluster] = Match(next(iter(members)), cluster, 0.0)
            if len(nearest) >= _JOIN_CLUSTERS:
                break
        return list(nearest.values())[:_JOIN_CLUSTERS]

    def _exact(self, norm: str, topic: int | None) -> Match | None:
        """Same normalised text already stored under a compatible topic: score 100, no search.
        Copies of one question are common (forwarded in Zalo groups, relayed by leaders)."""
        entry_id = self._entry_of.get(norm)
        if not norm or entry_id is None:
            return None
        for (cluster, item_topic), members in self._entries[entry_id].groups.items():
            if topic is None or item_topic is None or item_topic == topic:
                return Match(next(iter(members)), cluster, 100.0)
        return None

    # --- internals: bookkeeping -----------------------------------------------------------

    def _normalize(self, text: str) -> tuple[str, tuple[int, int], str]:
        last_text, last_norm, last_masks, last_plain = self._last
        if text == last_text and last_text:
            return last_norm, last_masks, last_plain
        norm, masks, plain = self.normalizer.analyse_plain(text)
        self._last = (text, norm, masks, plain)
        return norm, masks, plain

    def _grams_of(self, plain: str) -> frozenset[str]:
        # A lookup and then add() of the same text: one computation.
        cached, grams = self._last_grams
        if plain != cached or not plain:
            grams = _grams(plain)
            self._last_grams = (plain, grams)
        return grams

    def _cluster_topic(self, cluster_id: ClusterId) -> int | None:
        for item_id in self._clusters.get(cluster_id, ()):
            return self._items[item_id].topic
        return None

    def _join_core(self, item_id: ItemId, cluster_id: ClusterId, home: ClusterId) -> None:
        # One item per distinct wording: copies of a wording add nothing to a core.
        core = self._cores.setdefault(cluster_id, {}).setdefault(home, [])
        if len(core) < _CORE_SIZE:
            entry = self._items[item_id].entry
            if all(self._items[i].entry != entry for i in core):
                core.append(item_id)

    def _leave_core(self, item_id: ItemId) -> None:
        cluster = self._items[item_id].cluster
        cores = self._cores.get(cluster, {})
        for home, core in list(cores.items()):
            if item_id in core:
                core.remove(item_id)
                if not core:
                    del cores[home]
        if not cores:
            self._cores.pop(cluster, None)
            return
        # Refill the first core from members that are in no core, oldest first (a copy of the
        # wording that left, if there is one).
        in_core = {i for c in cores.values() for i in c}
        first = next(iter(cores.values()))
        entries = {self._items[i].entry for i in first}
        for other in self._clusters.get(cluster, ()):
            if len(first) >= _CORE_SIZE:
                break
            entry = self._items[other].entry
            if other != item_id and other not in in_core and entry not in entries:
                first.append(other)
                entries.add(entry)

    def _token_id(self, token: str) -> int:
        token_id = self._vocab.get(token)
        if token_id is None:
            token_id = self._vocab[token] = len(self._postings)
            self._postings.append(array("i"))
            self._df.append(0)
            concept = token.startswith(CONCEPT_MARK)
            self._boost.append(_CONCEPT_BOOST if concept else 1.0)
            self._concept.append(1.0 if concept else 0.0)
        return token_id

    def _entry_for(self, norm: str, masks: tuple[int, int], plain: str) -> int:
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
            self._action.append(masks[0])
            self._ask.append(masks[1])
            vocab = self._gram_vocab
            grams = sorted({vocab.setdefault(g, len(vocab)) for g in self._grams_of(plain)})
            self._gram_df.extend([0] * (len(vocab) - len(self._gram_df)))
            self._gram_start.append(len(self._gram_flat))
            self._gram_count.append(len(grams))
            self._gram_flat.extend(grams)
        entry = self._entries[entry_id]
        if not entry:  # new, or every question with this text had been removed
            self._live_entries += 1
            for token_id in entry.token_ids:
                self._postings[token_id].append(entry_id)
                self._df[token_id] += 1
            for gram in self._entry_grams(entry_id):
                self._gram_df[gram] += 1
        return entry_id

    def _retire(self, entry_id: int, entry: _Entry) -> None:
        # Removal is rare (staff action), so an O(posting length) delete is fine and keeps
        # lookups free of dead entries.
        self._live_entries -= 1
        for token_id in entry.token_ids:
            self._postings[token_id].remove(entry_id)
            self._df[token_id] -= 1
        for gram in self._entry_grams(entry_id):
            self._gram_df[gram] -= 1

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

    def _query(self, text: str) -> _Query | None:
        norm, (action, ask), plain = self._normalize(text)
        tokens = set(norm.split())
        df = self._df
        known = sorted(tid for t in tokens if (tid := self._vocab.get(t)) is not None and df[tid])
        if not known:
            return None
        unknown = [_CONCEPT_BOOST if t.startswith(CONCEPT_MARK) else 1.0
                   for t in tokens if t not in self._vocab or not df[self._vocab[t]]]
        unknown_concepts = sum(t.startswith(CONCEPT_MARK) for t in tokens
                               if t not in self._vocab or not df[self._vocab[t]])
        exact = self._entry_of.get(norm)
        if exact is not None and not self._entries[exact]:
            exact = None
        gram_ids = [self._gram_vocab.get(g, -1) for g in self._grams_of(plain)]
        known_grams = sorted(g for g in gram_ids if g >= 0 and self._gram_df[g])
        return _Query(norm, np.array(known, dtype=np.int32), unknown, unknown_concepts,
                      action, ask,
                      np.array(known_grams, dtype=np.int64), len(gram_ids) - len(known_grams),
                      exact)

    def _scored(self, query: _Query, size: int, per_cluster: bool) -> tuple[list[int],
                                                                            list[float]]:
        """(shortlisted entry ids, their pair scores)."""
        candidates = self._candidates(query.ids)
        if query.exact is not None:
            candidates = np.union1d(candidates, [query.exact])  # never truncated away
        overlap = self._overlap(query, candidates)
        dice, containment, conflict = overlap[:3]
        key = 50.0 * (dice + containment) * (1 - 0.5 * conflict)
        if per_cluster:
            shortlist = self._shortlist(query, candidates, key, size)
        else:
            shortlist = self._top(query, candidates, key, size)
        picked = np.searchsorted(candidates, shortlist)
        scores = self._pair_scores(query, shortlist, tuple(part[picked] for part in overlap))
        return shortlist.tolist(), scores.tolist()

    def features(self, query: _Query, entries: np.ndarray,
                 overlap: tuple[np.ndarray, ...] | None = None) -> np.ndarray:
        """(len(entries), len(FEATURES)) pair features of the query against entries."""
        if overlap is None:
            order = np.argsort(entries, kind="stable")
            sorted_entries = entries[order]
            parts = self._overlap(query, sorted_entries)
            back = np.empty_like(order)
            back[order] = np.arange(len(order))
            overlap = tuple(p[back] for p in parts)
        dice, containment, conflict, concepts, concept_conflict = overlap
        texts = [self._entries[e].text for e in entries.tolist()]
        token_set = process.cdist([query.norm], texts, scorer=fuzz.token_set_ratio,
                                  processor=None, dtype=np.float64)[0] / 100.0
        char, char_tfidf = self._gram_similarity(query, entries)
        action = np.frombuffer(self._action, dtype=np.int64)[entries]
        ask = np.frombuffer(self._ask, dtype=np.int64)[entries]
        action_conflict = (action != 0) & (query.action != 0) & ((action & query.action) == 0)
        ask_conflict = (ask != 0) & (query.ask != 0) & ((ask & query.ask) == 0)
        action_agree = (action & query.action) != 0
        # Every request named, actions and question forms together: how much they share.
        both = (action | ask) & (query.action | query.ask)
        either = (action | ask) | (query.action | query.ask)
        request_jaccard = np.where(either != 0, _popcount(both) / np.maximum(_popcount(either),
                                                                           1), 0.0)
        # One asks a question ("when", "who", "which criteria") the other does not.
        ask_one_sided = (ask != 0) != (query.ask != 0)
        return np.column_stack([dice, containment, token_set, char, char_tfidf, conflict,
                                action_conflict, ask_conflict, action_agree, concepts,
                                dice * token_set, dice * dice, request_jaccard, ask_one_sided,
                                concept_conflict]
                               ).astype(np.float64)

    def _entry_grams(self, entry_id: int) -> list[int]:
        start = self._gram_start[entry_id]
        return self._gram_flat[start:start + self._gram_count[entry_id]].tolist()

    def _gram_similarity(self, query: _Query, entries: np.ndarray) -> tuple[np.ndarray,
                                                                             np.ndarray]:
        """Per entry: Dice of the character 3-gram sets, and their cosine with each 3-gram
        weighted by its squared IDF, so rare letter sequences shared (an object's name in any
        spelling) count and common ones ("ng ", " th") hardly. Vectorised like _overlap."""
        starts = np.frombuffer(self._gram_start, dtype=np.int64)[entries]
        lengths = np.frombuffer(self._gram_count, dtype=np.int32)[entries]
        seg = np.cumsum(lengths) - lengths
        total = int(lengths.sum())
        flat = np.frombuffer(self._gram_flat, dtype=np.int32)[
            np.repeat(starts - seg, lengths) + np.arange(total)]
        df = np.frombuffer(self._gram_df, dtype=np.int32)
        n = self._idf_entries() + 1
        w = np.log(n / (df[flat] + 0.5)) ** 2
        in_query = np.zeros(len(df), dtype=bool)
        in_query[query.grams] = True
        hit = in_query[flat]
        empty = lengths == 0
        safe_seg = np.minimum(seg, max(total - 1, 0))
        shared_count = _segment(np.add, hit.astype(np.float64), safe_seg, empty, total)
        shared_weight = _segment(np.add, np.where(hit, w, 0.0), safe_seg, empty, total)
        norms = np.sqrt(_segment(np.add, w, safe_seg, empty, total))
        query_count = len(query.grams) + query.unknown_grams
        query_norm = math.sqrt(float((np.log(n / (df[query.grams] + 0.5)) ** 2).sum())
                               + query.unknown_grams * math.log(n / 0.5) ** 2)
        dice = np.where(lengths + query_count > 0,
                        2 * shared_count / np.maximum(lengths + query_count, 1), 0.0)
        cosine = np.where((norms > 0) & (query_norm > 0),
                          shared_weight / np.maximum(norms * query_norm, 1e-12), 0.0)
        return dice, cosine

    def _pair_scores(self, query: _Query, entries: np.ndarray,
                     overlap: tuple[np.ndarray, ...] | None = None,
                     with_features: bool = False) -> Any:
        """Pair scores (0-100) against entries; with their features if asked."""
        features = (self.features(query, entries, overlap) if len(entries)
                    else np.zeros((0, len(FEATURES))))
        scores = self.scorer(features)
        if query.exact is not None:
            scores[entries == query.exact] = 100.0
        return (scores, features) if with_features else scores

    def _candidates(self, query_ids: np.ndarray, preselect: int = 0) -> np.ndarray:
        """Sorted ids of live entries sharing the query's rarest words, at most about
        `preselect` (default _PRESELECT) of them: those with the most shared IDF weight, ties
        to older entries."""
        candidates, key = self._shared_weight(query_ids)
        preselect = preselect or _PRESELECT
        if len(candidates) > preselect:
            kth = np.partition(key, -preselect)[-preselect]
            candidates = candidates[key >= kth][: 2 * preselect]
        return candidates

    def _shared_weight(self, query_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(sorted ids of live entries sharing the query's rarest words, a Dice-like key of
        each): the shared weight against the entry's length (× the mean query word weight), so
        long entries that merely contain the query's words do not win."""
        df = self._df
        chosen: list[int] = []
        read = 0
        for tid in sorted(query_ids.tolist(), key=lambda tid: (df[tid], tid)):
            if chosen and read + df[tid] > _POSTINGS_BUDGET:
                break
            chosen.append(tid)
            read += df[tid]
        weights = self._weights(np.array(chosen, dtype=np.int64))
        shared = np.zeros(len(self._entries))
        for tid, weight in zip(chosen, weights.tolist(), strict=True):
            # An entry occurs once per posting list, so a fancy-index += is exact (and 2-3x
            # faster than np.bincount with weights).
            shared[np.frombuffer(self._postings[tid], dtype=np.int32)] += weight
        candidates = np.nonzero(shared > 0)[0]
        lengths = np.frombuffer(self._token_count, dtype=np.int32)[candidates]
        key = shared[candidates] / (weights.sum() + lengths * weights.mean())
        return candidates, key

    def _overlap(self, query: _Query, candidates: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per candidate (sorted ids): IDF Dice (0-1), containment (0-1), keyword conflict
        (0-1) and the Jaccard share of concept words (0-1), vectorised.

        Keyword conflict: "tập huấn bảo hiểm y tế cho hội viên" vs "tập huấn bạo lực gia đình
        cho hội viên". The shared frame outweighs the differing object in any bag-of-words
        score, but each side has an unshared word (here: concept word) about as rare as any in
        the pair. Extra words on one side only (a longer wording of the same request) are no
        conflict. Word weights are IDF × `_boost` (concept words weigh more).
        """
        query_ids, unknown = query.ids, query.unknown
        n = self._idf_entries()
        starts = np.frombuffer(self._token_start, dtype=np.int64)[candidates]
        lengths = np.frombuffer(self._token_count, dtype=np.int32)[candidates]
        seg = np.cumsum(lengths) - lengths  # where each candidate's words start in `flat`
        flat = np.frombuffer(self._token_flat, dtype=np.int32)[
            np.repeat(starts - seg, lengths) + np.arange(int(lengths.sum()))]
        w = self._weights(flat)
        position = np.full(len(self._postings), -1, dtype=np.intp)
        position[query_ids] = np.arange(len(query_ids))
        column = position[flat]  # index of the word in the query, or -1
        in_query = column >= 0
        empty = lengths == 0
        safe_seg = np.minimum(seg, max(len(flat) - 1, 0))
        other_weight = _segment(np.add, w, safe_seg, empty, len(flat))
        shared = _segment(np.add, np.where(in_query, w, 0.0), safe_seg, empty, len(flat))
        other_only = _segment(np.maximum, np.where(in_query, 0.0, w), safe_seg, empty,
                              len(flat))
        # Query words missing from each candidate: a (candidates × query words) table.
        query_w = self._weights(query_ids)
        never_seen = math.log((n + 1) / 0.5)
        unknown_w = never_seen * max(unknown) if unknown else 0.0
        present = np.zeros((len(candidates), len(query_ids)), dtype=bool)
        rows = np.repeat(np.arange(len(candidates)), lengths)[in_query]
        present[rows, column[in_query]] = True
        query_only = np.maximum(np.where(present, 0.0, query_w).max(axis=1), unknown_w)
        query_weight = query_w.sum() + never_seen * sum(unknown)
        strongest = np.maximum(_segment(np.maximum, w, safe_seg, empty, len(flat)),
                               max(query_w.max(), unknown_w))

        concept = np.frombuffer(self._concept, dtype=np.float64)[flat]
        other_concepts = _segment(np.add, concept, safe_seg, empty, len(flat))
        shared_concepts = _segment(np.add, np.where(in_query, concept, 0.0), safe_seg, empty,
                                   len(flat))
        query_concepts = (float(np.frombuffer(self._concept, dtype=np.float64)[query_ids].sum())
                          + query.unknown_concepts)
        union = query_concepts + other_concepts - shared_concepts
        concepts = np.where(union > 0, shared_concepts / np.maximum(union, 1.0), 0.0)
        # Both name concepts and share none ("#bao_hiem_y_te" / "#bao_luc" in one frame):
        # another object, whatever the shared words.
        concept_conflict = ((query_concepts > 0) & (other_concepts > 0)
                            & (shared_concepts == 0)).astype(np.float64)

        dice = 2 * shared / (query_weight + other_weight)
        conflict = np.where((query_only > 0) & (other_only > 0),
                            np.minimum(query_only, other_only) / strongest, 0.0)
        containment = shared / np.maximum(np.minimum(query_weight, other_weight), 1e-9)
        return dice, np.minimum(containment, 1.0), conflict, concepts, concept_conflict

    def _weights(self, token_ids: np.ndarray) -> np.ndarray:
        """IDF × boost of words: smoothed, always > 0, high for words never seen. (Background
        word counts from the labelled sets, so that a nearly empty index does not take every
        word for a rare one, measured no better and kept fewer hard negatives apart.)"""
        df = np.frombuffer(self._df, dtype=np.int32)[token_ids]
        boost = np.frombuffer(self._boost, dtype=np.float64)[token_ids]
        return np.log((self._idf_entries() + 1) / (df + 0.5)) * boost

    def _idf_entries(self) -> int:
        """The entry count IDF is taken against: at least _IDF_FLOOR, so that in a nearly
        empty index a word never seen does not outweigh every shared word."""
        return max(self._live_entries, _IDF_FLOOR)

    def _shortlist(self, query: _Query, candidates: np.ndarray, key: np.ndarray,
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
        if query.exact is not None:
            keep = np.append(keep, query.exact)
        return np.unique(keep)

    def _top(self, query: _Query, candidates: np.ndarray, key: np.ndarray,
             size: int) -> np.ndarray:
        """Sorted ids of the `size` best candidates by `key` (ties: any, but reproducibly), plus
        the exact same text if stored."""
        if len(candidates) > size:
            candidates = candidates[np.sort(np.argpartition(-key, size)[:size])]
        if query.exact is not None:
            candidates = np.union1d(candidates, [query.exact])
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


def _core_score(scores: list[float], other_request: list[bool], bar: float) -> float:
    """Mean pair score against one core; just under the joining bar when (more than
    _GATE_SHARE of) the core asks for another request, so the pair can only go to review."""
    score = sum(scores) / len(scores)
    if sum(other_request) / len(other_request) > _GATE_SHARE:
        score = min(score, bar - 0.01)
    return score


def _popcount(bits: np.ndarray) -> np.ndarray:
    """Set bits per int64 (numpy < 2 has no bitwise_count)."""
    as_bytes = np.ascontiguousarray(bits, dtype=np.int64).view(np.uint8).reshape(-1, 8)
    return np.unpackbits(as_bytes, axis=1).sum(axis=1).astype(np.float64)


def _segment(ufunc: np.ufunc, values: np.ndarray, seg: np.ndarray, empty: np.ndarray,
             total: int) -> np.ndarray:
    """ufunc.reduceat over each candidate's words; 0 for a candidate with no words."""
    if total == 0:
        return np.zeros(len(seg))
    out = ufunc.reduceat(values, seg)
    return np.where(empty, 0.0, out)


def _grams(norm: str) -> frozenset[str]:
    """Character 3-grams of each folded word, with word boundaries; concept words excluded."""
    grams: set[str] = set()
    for word in norm.split():
        if word.startswith(CONCEPT_MARK):
            continue
        padded = f" {word} "
        grams.update(padded[i:i + _GRAM] for i in range(len(padded) - _GRAM + 1))
    return frozenset(grams)
