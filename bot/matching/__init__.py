"""Similar-question matching: the offer "someone asked this already", automatic clustering, and
the staff's "possible duplicates" list.

- handlers.normalise: question text → matching form (teencode, folding, concept and request
  tables). It lives in handlers/ because flows use it too (see its docstring).
- index: `ClusterIndex`, the in-memory index of one dialogue's questions, and the pair score.
- service: `QuestionMatcher`, the index over the database, as the flows ask it.
- batch: clustering a whole file at once (`python -m bot cluster`, bench/).
"""

from .batch import cluster_jsonl, cluster_records
from .index import DEFAULT_SCORER, FEATURES, ClusterIndex, Match, MatchSettings, PairScorer
from .service import QuestionMatcher, Similar

__all__ = [
    "DEFAULT_SCORER",
    "FEATURES",
    "ClusterIndex",
    "Match",
    "MatchSettings",
    "PairScorer",
    "QuestionMatcher",
    "Similar",
    "cluster_jsonl",
    "cluster_records",
]
