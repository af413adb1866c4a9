"""Weekly pruning: delete relations soft-expired longer than the retention, then orphan entities
(no relation, no fact naming them) older than a grace period. Nothing newer is touched."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from background_pipelines.store.engine import Store
from background_pipelines.store.graph_upkeep import delete_expired_before, delete_orphans
from background_pipelines.store.ledger import utcnow

DEFAULT_RETENTION_DAYS = 30
ORPHAN_GRACE_DAYS = 1  # an entity written moments ago may be waiting for its relations


@dataclass
class PruneResult:
    pruned: int = 0
    orphans: int = 0
    pruned_rows: list[dict] = field(default_factory=list)
    orphan_rows: list[dict] = field(default_factory=list)

    def preview(self, limit: int = 10) -> str:
        lines = [f"pruned **{self.pruned}** expired relations and **{self.orphans}** orphan entities"]
        for r in self.pruned_rows[:limit]:
            lines.append(f"- {r['src']} --{r['predicate']}--> {r['dst']}")
        for o in self.orphan_rows[:limit]:
            lines.append(f"- orphan: {o['name']}")
        return "\n".join(lines)


def prune_graph(
    store: Store, *, retention_days: int = DEFAULT_RETENTION_DAYS, orphan_grace_days: int = ORPHAN_GRACE_DAYS,
    now: datetime | None = None,
) -> PruneResult:
    if retention_days < 0:
        raise ValueError(f"retention {retention_days} days: expected >= 0 (BGP_GRAPH_RETENTION_DAYS)")
    now = now or utcnow()
    pruned = delete_expired_before(store, now - timedelta(days=retention_days))
    orphans = delete_orphans(store, now - timedelta(days=orphan_grace_days))
    return PruneResult(len(pruned), len(orphans), pruned, orphans)
