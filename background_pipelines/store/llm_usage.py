"""The llm_usage table: requests, tokens and cost per UTC day, task and model (one row per gateway
batch, summed when read), and today's spend for the daily budget."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from background_pipelines.store.engine import Store
from background_pipelines.store.ledger import utcnow
from background_pipelines.store.schema import llm_usage


def today() -> str:
    return utcnow().date().isoformat()


def record_usage(
    store: Store, task: str, model: str, requests: int, prompt_tokens: int, completion_tokens: int, cost_usd: float, day: str | None = None
) -> None:
    """Add one batch's totals (nothing is written for a batch that made no request)."""
    if requests <= 0 and prompt_tokens <= 0 and completion_tokens <= 0:
        return
    with store.begin() as conn:
        conn.execute(
            llm_usage.insert().values(
                day=day or today(),
                task=task,
                model=model,
                requests=requests,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                cost_usd=cost_usd,
                created_at=utcnow(),
            )
        )


def spent_on(store: Store, day: str | None = None) -> float:
    """USD spent on `day` (default: today, UTC)."""
    with store.connect() as conn:
        value = conn.execute(select(func.coalesce(func.sum(llm_usage.c.cost_usd), 0.0)).where(llm_usage.c.day == (day or today()))).scalar()
    return float(value or 0.0)


def usage_by_day(store: Store, since: str | date | None = None) -> list[dict]:
    """[{day, task, model, requests, prompt_tokens, completion_tokens, cost_usd}] summed, newest day first."""
    q = select(
        llm_usage.c.day,
        llm_usage.c.task,
        llm_usage.c.model,
        func.sum(llm_usage.c.requests),
        func.sum(llm_usage.c.prompt_tokens),
        func.sum(llm_usage.c.completion_tokens),
        func.sum(llm_usage.c.cost_usd),
    ).group_by(llm_usage.c.day, llm_usage.c.task, llm_usage.c.model)
    if since:
        q = q.where(llm_usage.c.day >= str(since))
    q = q.order_by(llm_usage.c.day.desc(), llm_usage.c.task, llm_usage.c.model)
    with store.connect() as conn:
        return [
            dict(day=d, task=t, model=m, requests=int(r or 0), prompt_tokens=int(p or 0), completion_tokens=int(c or 0), cost_usd=float(u or 0.0))
            for d, t, m, r, p, c, u in conn.execute(q)
        ]
