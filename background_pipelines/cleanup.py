"""The periodic cleanup (every 48 h): LLM cache rows, superseded ledger rows, and executed or cancelled
scheduled prompts older than 7 days.

What goes and why (nothing here can make an item due again):
- llm_cache rows older than the cutoff: a cache miss only costs a repeated call;
- ledger rows older than the cutoff written by a version other than their stage's current one:
  `todo()` ignores them already. Current-version rows stay, whatever their status: `done` rows keep
  items from being reprocessed, `pending`/`failed` rows are the record of what is owed and why;
- scheduled prompts done or cancelled before the cutoff whose delivery is settled, with the claims of
  their occurrences, and delivered outbound actions older than it (failed ones stay, with their reason).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from background_pipelines.store import retention
from background_pipelines.store.engine import Store
from background_pipelines.store.ledger import utcnow

DEFAULT_RETENTION_DAYS = 7


@dataclass(frozen=True)
class CleanupResult:
    cutoff: datetime
    llm_cache_deleted: int
    ledger_deleted: int
    prompts_deleted: int = 0
    prompt_fires_deleted: int = 0
    actions_deleted: int = 0

    def as_dict(self) -> dict:
        d = asdict(self)
        d["cutoff"] = self.cutoff.isoformat(timespec="seconds")
        return d


def run_cleanup(store: Store, older_than_days: int = DEFAULT_RETENTION_DAYS, *, now: datetime | None = None) -> CleanupResult:
    """Delete what the module docstring lists; idempotent (a second call deletes nothing more)."""
    if older_than_days < 1:
        raise ValueError(f"cleanup older_than_days={older_than_days}: expected at least 1 day")
    cutoff = (now or utcnow()) - timedelta(days=older_than_days)
    cache = retention.purge_llm_cache(store, cutoff)
    ledger_rows = retention.purge_superseded_ledger(store, cutoff, retention.current_versions(store))
    from background_pipelines.prompts.api import cleanup_prompts

    with store.begin() as conn:
        prompts = cleanup_prompts(conn, cutoff)
    return CleanupResult(cutoff, cache, ledger_rows, **prompts)
