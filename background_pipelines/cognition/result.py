"""What every message-level stage returns: plain counts, LLM usage and a markdown preview per day of
the range it ran over (a single-run backfill), and their total."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from background_pipelines.config import redact_urls
from background_pipelines.llm.task import Usage
from background_pipelines.store import ledger


def add_usage(a: Usage, b: Usage) -> Usage:
    """The sum of two usage totals (backend/model from whichever made requests)."""
    failures = dict(a.failures)
    for k, v in b.failures.items():
        failures[k] = failures.get(k, 0) + v
    lead = b if a.backend == "offline" and b.backend != "offline" else a
    return Usage(
        backend=lead.backend,
        model=lead.model,
        requests=a.requests + b.requests,
        cache_hits=a.cache_hits + b.cache_hits,
        prompt_tokens=a.prompt_tokens + b.prompt_tokens,
        completion_tokens=a.completion_tokens + b.completion_tokens,
        cost_usd=a.cost_usd + b.cost_usd,
        failures=failures,
        budget_exhausted=a.budget_exhausted or b.budget_exhausted,
    )


@dataclass
class StageResult:
    """Outcome of one stage over one or more days. `rows_written` counts rows inserted or changed;
    `extra` holds stage-specific counters (e.g. pins evicted, relations invalidated)."""

    stage: str
    days: list[str] = field(default_factory=list)
    processed: int = 0
    skipped: int = 0
    failed: int = 0
    pending: int = 0
    rows_written: int = 0
    row_count: int = 0  # rows the stage's table holds for these days after the run
    usage: Usage = field(default_factory=Usage)
    preview: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    by_day: dict[str, "StageResult"] = field(default_factory=dict)  # per-day results of a ranged run

    def count(self, key: str, n: int = 1) -> None:
        """Add `n` to a stage-specific counter shown in the metadata."""
        self.extra[key] = self.extra.get(key, 0) + n

    def merge(self, other: "StageResult") -> "StageResult":
        extra = dict(self.extra)
        for k, v in other.extra.items():
            extra[k] = extra.get(k, 0) + v if isinstance(v, (int, float)) and isinstance(extra.get(k, 0), (int, float)) else v
        previews = "\n\n".join(p for p in (self.preview, other.preview) if p)
        return StageResult(
            stage=self.stage,
            days=self.days + other.days,
            processed=self.processed + other.processed,
            skipped=self.skipped + other.skipped,
            failed=self.failed + other.failed,
            pending=self.pending + other.pending,
            rows_written=self.rows_written + other.rows_written,
            row_count=self.row_count + other.row_count,
            usage=add_usage(self.usage, other.usage),
            preview=previews[:6000],
            extra=extra,
            errors=(self.errors + other.errors)[:20],
        )

    @classmethod
    def total(cls, stage: str, per_day: dict[str, "StageResult"], usage: Usage | None = None) -> "StageResult":
        """The run's result: the per-day results summed (kept in `by_day`), with the run's LLM usage
        (batches span days, so usage belongs to the run, not to a day)."""
        out = cls(stage=stage)
        for day in sorted(per_day):
            out = out.merge(per_day[day])
        out.days = sorted(per_day)
        if usage is not None:
            out.usage = usage
        out.by_day = dict(sorted(per_day.items()))
        return out

    def counts(self) -> dict[str, Any]:
        """Counts and stage counters only (no LLM usage): what is true of one day."""
        meta: dict[str, Any] = {
            "processed": self.processed,
            "skipped": self.skipped,
            "failed": self.failed,
            "pending": self.pending,
            "rows_written": self.rows_written,
        }
        meta.update({k: v for k, v in self.extra.items()})
        if self.errors:
            meta["errors"] = "\n".join(self.errors[:20])
        return meta

    def metadata(self) -> dict[str, Any]:
        """Plain values for asset metadata (the Dagster wrapper adds the row count and markdown)."""
        meta: dict[str, Any] = {
            "days": ", ".join(self.days),
            "processed": self.processed,
            "skipped": self.skipped,
            "failed": self.failed,
            "pending": self.pending,
            "rows_written": self.rows_written,
        }
        meta.update(self.usage.as_metadata())
        meta.update({k: v for k, v in self.extra.items()})
        if self.errors:
            meta["errors"] = "\n".join(self.errors[:20])
        return meta


def failure_rate_problem(result: StageResult, threshold: float) -> str | None:
    """Why a run must not end green: at least `threshold` of the items the stage attempted failed
    (every LLM call refused, a wrong host, 5xx throughout). None below it, or with nothing failed.
    Pending items (budget, a day not over) are not attempted and do not count."""
    attempted = result.processed + result.failed
    if not result.failed or not attempted or result.failed / attempted < threshold:
        return None
    reasons = "; ".join(result.errors[:3]) or "see the processing ledger"
    return (
        f"{result.stage}: {result.failed} of {attempted} attempted items failed ({result.failed / attempted:.0%}, "
        f"BGP_FAILURE_RATE_THRESHOLD={threshold:g}): {reasons}"
    )[:2000]


def as_days(day: str | Iterable[str]) -> list[str]:
    """A stage's range: one day (a partition key) or many, sorted, each once."""
    return [day] if isinstance(day, str) else sorted(set(day))


def per_day(stage: str, days: list[str]) -> dict[str, StageResult]:
    """An empty result for each day of a range, to fill in."""
    return {d: StageResult(stage=stage, days=[d]) for d in days}


def md_table(headers: list[str], rows: list[list[Any]], limit: int = 10) -> str:
    """A small markdown table (cells cut to 80 chars, pipes escaped) for asset previews."""
    def cell(v: Any) -> str:
        s = str(v).replace("\n", " ").replace("|", "\\|")
        return s if len(s) <= 80 else s[:77] + "..."

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows[:limit]]
    if len(rows) > limit:
        out.append(f"\n_{len(rows) - limit} more_")
    return "\n".join(out)


def failure_reason(outcome) -> str:
    """Why an LLM outcome failed, for the ledger: the classification, its detail, an answer excerpt."""
    parts = [str(outcome.error)]
    if getattr(outcome, "detail", None):
        parts.append(outcome.detail)
    if outcome.raw_excerpt:
        parts.append(f"answer: {outcome.raw_excerpt[:200]}")
    return redact_urls(": ".join(parts))[:500]  # the ledger outlives logs (backups): never a URL's password


def record_unanswered(store, result: StageResult, stage: str, version: str, items: list[str], outcome,
                      label: str, run_id: str | None, conn=None) -> None:
    """Ledger items the gateway did not answer: an exhausted budget leaves them pending (asked again
    next run), anything else marks them failed with the reason; `result` counts them."""
    reason = failure_reason(outcome)
    pending = outcome.error == "budget_exhausted"
    ledger.mark(store, stage, version, items, ledger.PENDING if pending else ledger.FAILED,
                error=reason, run_id=run_id, conn=conn)
    if pending:
        result.pending += len(items)
    else:
        result.failed += len(items)
        result.errors.append(f"{label}: {reason}")


def one_line(text: str, limit: int) -> str:
    """A message as one prompt line: tabs and newlines flattened, cut to `limit` characters."""
    return " ".join(text.split())[:limit]
