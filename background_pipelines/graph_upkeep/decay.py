"""Relation decay: a relation's strength is weight x factor^(days since last_seen); below the
threshold it is soft-expired (expired_at set: kept, reviewable, excluded from "current" reads).
Relations mentioned again after they expired (last_seen > expired_at) are revived here too, in
case the knowledge-graph step that updated last_seen did not clear the mark itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from background_pipelines.store.engine import Store
from background_pipelines.store.graph_upkeep import active_relations, count_expired, mark_expired, revive_mentioned
from background_pipelines.store.ledger import utcnow

DEFAULT_FACTOR = 0.97
DEFAULT_THRESHOLD = 0.1


@dataclass
class DecayResult:
    checked: int = 0
    expired: int = 0
    revived: int = 0
    expired_total: int = 0
    min_strength: float | None = None

    def preview(self) -> str:
        return (
            f"checked **{self.checked}** current relations: **{self.expired}** soft-expired, "
            f"**{self.revived}** revived; {self.expired_total} expired relations in review"
        )


def strength(weight: float, last_seen: datetime, now: datetime, factor: float) -> float:
    """weight x factor^(days since last_seen); the stored weight itself never changes here, so a
    second run on the same day decays nothing twice."""
    days = max(0.0, (now - last_seen).total_seconds() / 86400.0)
    return weight * factor**days


def decay_relations(
    store: Store, *, factor: float = DEFAULT_FACTOR, threshold: float = DEFAULT_THRESHOLD, now: datetime | None = None
) -> DecayResult:
    if not 0 < factor <= 1:
        raise ValueError(f"decay factor {factor}: expected 0 < factor <= 1 (BGP_GRAPH_DECAY_FACTOR)")
    if threshold < 0:
        raise ValueError(f"decay threshold {threshold}: expected >= 0 (BGP_GRAPH_EXPIRE_BELOW)")
    now = now or utcnow()
    result = DecayResult(revived=revive_mentioned(store))
    rows = active_relations(store)
    result.checked = len(rows)
    stale = []
    for rid, weight, last_seen in rows:
        s = strength(weight, last_seen, now, factor)
        result.min_strength = s if result.min_strength is None else min(result.min_strength, s)
        if s < threshold:
            stale.append(rid)
    result.expired = mark_expired(store, stale, now)
    result.expired_total = count_expired(store)
    return result
