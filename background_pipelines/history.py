"""The span of message history in the store: where the daily partitions start (the earliest message
day, unless BGP_START_DATE overrides it) and which messages are dated where no partition can hold
them (a zero Unix timestamp in 1970, or the future), so they are reported instead of lost."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, inspect, select

from background_pipelines.config import Settings
from background_pipelines.store.engine import make_engine
from background_pipelines.store.schema import messages

# Messages dated before this are a zero or missing Unix timestamp (1970-01-01 + a few seconds or
# milliseconds read as seconds), not chat history: they get no partition and are reported.
FLOOR = "1971-01-01"

log = logging.getLogger(__name__)


def today_utc() -> str:
    return datetime.now(timezone.utc).date().isoformat()


@dataclass(frozen=True)
class HistorySpan:
    """Message days the partitions can hold (`first_day`..`last_day`) and those they cannot."""

    first_day: str | None  # earliest day on or after FLOOR holding a message
    last_day: str | None  # latest day up to today holding a message
    too_old: int  # messages dated before FLOOR
    future: int  # messages dated after today (UTC)
    too_old_ids: tuple[int, ...] = ()  # a few examples of each
    future_ids: tuple[int, ...] = ()

    @property
    def unplaceable(self) -> int:
        return self.too_old + self.future

    def report(self) -> str | None:
        """One line naming the messages no partition holds, or None when there are none."""
        parts = []
        if self.too_old:
            parts.append(f"{self.too_old} dated before {FLOOR} (a zero Unix timestamp; e.g. ids {list(self.too_old_ids)})")
        if self.future:
            parts.append(f"{self.future} dated after today (UTC; e.g. ids {list(self.future_ids)})")
        if not parts:
            return None
        return "messages outside every day partition, not processed: " + "; ".join(parts) + ". Fix their created_at and re-import."


def history_span(engine, today: str | None = None) -> HistorySpan:
    """Read the span with a few indexed queries on messages.day (an engine or a Store)."""
    engine = getattr(engine, "engine", engine)
    today = today or today_utc()
    day = messages.c.day
    with engine.connect() as conn:
        if not inspect(conn).has_table("messages"):
            return HistorySpan(None, None, 0, 0)
        first, last = conn.execute(select(func.min(day), func.max(day)).where(day >= FLOOR, day <= today)).one()
        too_old = conn.execute(select(func.count()).where(day < FLOOR)).scalar_one()
        future = conn.execute(select(func.count()).where(day > today)).scalar_one()
        old_ids = conn.execute(select(messages.c.id).where(day < FLOOR).order_by(messages.c.id).limit(5)).scalars().all() if too_old else []
        fut_ids = conn.execute(select(messages.c.id).where(day > today).order_by(messages.c.id).limit(5)).scalars().all() if future else []
    return HistorySpan(first, last, int(too_old), int(future), tuple(old_ids), tuple(fut_ids))


def partition_start(settings: Settings, today: str | None = None) -> str:
    """The first day partition: BGP_START_DATE when set, else the store's earliest message day,
    else today (an empty store). Read once when the code location loads."""
    if settings.start_date:
        return settings.start_date
    today = today or today_utc()
    engine = make_engine(settings.database_url)
    try:
        span = history_span(engine, today)
    except Exception as exc:  # an unreachable store must not stop the code location from loading
        log.warning("partitions start today: the store could not be read (%s)", type(exc).__name__)
        return today
    finally:
        engine.dispose()
    if span.report():
        log.warning(span.report())
    return span.first_day or today


def resolve_start(settings: Settings, today: str | None = None) -> Settings:
    """`settings` with start_date fixed, so every definition built from it shares one partitioning."""
    if settings.start_date:
        return settings
    return dataclasses.replace(settings, start_date=partition_start(settings, today))


def days_between(first: str, last: str) -> list[str]:
    """Every UTC day from `first` to `last`, inclusive."""
    d0, d1 = date.fromisoformat(first), date.fromisoformat(last)
    return [(d0 + timedelta(days=i)).isoformat() for i in range((d1 - d0).days + 1)]


def days_ingested_since(store, since: datetime) -> list[str]:
    """The day partitions holding messages stored at or after `since` (an import's start), in order."""
    today = today_utc()
    q = select(messages.c.day).where(messages.c.ingested_at >= since, messages.c.day >= FLOOR, messages.c.day <= today).distinct()
    with store.connect() as conn:
        return sorted(conn.execute(q).scalars())


def process_days(store, settings: Settings, days: list[str], *, chunk_days: int = 31, progress: bool | None = None) -> dict:
    """Run the message-level stages (scores, embeddings, summaries, facts, graph, relationships) over
    `days` in the foreground, a chunk of days at a time, oldest first (memory stays bounded; a day's
    summaries see the days before it). The processing ledger records the work, so the Dagster runs
    the sensor requests afterwards find it done. Returns {stage: StageResult} totals."""
    from tqdm import tqdm

    from background_pipelines.cognition import (
        embed_messages,
        extract_facts,
        score_messages,
        summarize_sessions,
        update_knowledge_graph,
        update_relationship_scores,
    )
    from background_pipelines.llm import Gateway, get_embedder

    gw = Gateway.from_settings(settings, store)
    embedder = get_embedder(settings)
    stages = []
    # facts first: a score's topic factor reads the facts of the days before its own (the asset's
    # partition mapping), so a chunk scored after its facts scores as day-by-day runs do
    if settings.chat_llm_enabled and settings.enable_runtime_fact_extraction:
        stages += [("facts", lambda d: extract_facts(store, gw, settings, d)),
                   ("graph", lambda d: update_knowledge_graph(store, gw, settings, d))]
    stages += [
        ("scores", lambda d: score_messages(store, gw, settings, d)),
        ("embeddings", lambda d: embed_messages(store, embedder, settings, d)),
    ]
    if settings.chat_llm_enabled:
        stages.append(("summaries", lambda d: summarize_sessions(store, gw, settings, d, embedder=embedder)))
    stages.append(("relationships", lambda d: update_relationship_scores(store, gw, settings, d)))
    chunks = [days[i : i + chunk_days] for i in range(0, len(days), chunk_days)]
    totals: dict = {}
    with tqdm(total=len(days) * len(stages), unit="day", desc="processing", file=__import__("sys").stderr,
              disable=None if progress is None else not progress, leave=False) as bar:
        for chunk in chunks:
            for name, run in stages:
                bar.set_postfix_str(f"{name} {chunk[0]}..{chunk[-1]}")
                r = run(chunk)
                totals[name] = r if name not in totals else totals[name].merge(r)
                bar.update(len(chunk))
    return totals
