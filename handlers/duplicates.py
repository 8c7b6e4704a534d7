"""Possible duplicates: a new question that started its own cluster but came close to one.

Joining automatically needs a strict bar (a wrong merge hides a woman's question); just below
it, the pair is put on staff's list (/trung), where one button merges and one refuses. A pair
is proposed once; a refused pair is never proposed again.
"""

from __future__ import annotations

from storage import queries as q

from .engine import Context

__all__ = ["propose_duplicate"]


async def propose_duplicate(ctx: Context, dialogue_id: str, cluster_id: int, text: str,
                            topic: int | None) -> bool:
    """Record (in this transaction) the cluster the new question came close to, if any. True
    if the pair is new."""
    matcher = ctx.services.matcher
    if matcher is None:
        return False
    near = await matcher.possible_duplicate(ctx.conn, dialogue_id, text, topic)
    if near is None or int(near.cluster_id) == cluster_id:
        return False
    if not await q.cluster_exists(ctx.conn, int(near.cluster_id), dialogue_id):
        return False
    return await q.record_duplicate_candidate(ctx.conn, dialogue_id, cluster_id,
                                              int(near.cluster_id), float(near.score),
                                              now=ctx.now)
