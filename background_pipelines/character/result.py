"""What every character-cognition step returns: counts (written, skipped, pending, failed), LLM usage,
a markdown preview for the asset metadata, and the reasons of anything not done."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from background_pipelines.llm.task import Usage


def add_usage(a: Usage, b: Usage) -> Usage:
    """The sum of two usage totals (backend/model from whichever talked to an endpoint)."""
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
class StepResult:
    """`processed` items were written, `skipped` were already done (same version and material),
    `pending` wait (budget, a local day not over yet), `failed` carry a reason in the ledger."""

    stage: str
    days: list[str] = field(default_factory=list)
    processed: int = 0
    skipped: int = 0
    pending: int = 0
    failed: int = 0
    rows_written: int = 0
    row_count: int = 0  # rows the stage's table holds for these days after the run
    usage: Usage = field(default_factory=Usage)
    preview: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def count(self, key: str, n: int = 1) -> None:
        self.extra[key] = self.extra.get(key, 0) + n

    def metadata(self) -> dict[str, Any]:
        """Plain values for asset metadata (the Dagster wrapper adds the row count and markdown)."""
        meta: dict[str, Any] = {
            "days": ", ".join(self.days),
            "processed": self.processed,
            "skipped": self.skipped,
            "pending": self.pending,
            "failed": self.failed,
            "rows_written": self.rows_written,
        }
        meta.update(self.usage.as_metadata())
        meta.update(self.extra)
        if self.errors:
            meta["errors"] = "\n".join(self.errors[:20])
        return meta


def md_table(headers: list[str], rows: list[list[Any]], limit: int = 12) -> str:
    """A small markdown table (cells cut to 80 chars, pipes escaped)."""

    def cell(v: Any) -> str:
        s = str(v).replace("\n", " ").replace("|", "\\|")
        return s if len(s) <= 80 else s[:77] + "..."

    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(cell(v) for v in r) + " |" for r in rows[:limit]]
    if len(rows) > limit:
        out.append(f"\n_{len(rows) - limit} more_")
    return "\n".join(out)


def md_entries(entries: list[tuple[str, str]], limit: int = 6, chars: int = 1200) -> str:
    """Markdown sections `### heading` + quoted body, for diary and dream previews."""
    out = []
    for heading, body in entries[:limit]:
        body = body if len(body) <= chars else body[: chars - 1] + "…"
        out.append(f"### {heading}\n\n" + "\n".join(f"> {line}" if line else ">" for line in body.split("\n")))
    if len(entries) > limit:
        out.append(f"_{len(entries) - limit} more entries_")
    return "\n\n".join(out)
