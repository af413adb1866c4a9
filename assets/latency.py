"""Latency classes, declared once (as arq's WorkerSettings does): each class's pool, run priority,
per-call timeout, retry policy and max runtime. Assets pick a class; they never repeat numbers.

LLM-calling assets run in the `llm` pool whatever their class, so the endpoint's concurrency is
bounded across every run; the class pool bounds the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

LLM_POOL = "llm"


@dataclass(frozen=True)
class LatencyClass:
    name: str
    pool: str
    priority: int  # dagster/priority: higher runs first in the queue
    call_timeout_seconds: float  # per LLM/HTTP call
    max_runtime_seconds: int  # dagster/max_runtime for the run
    max_retries: int
    retry_delay_seconds: float

    def retry_policy(self) -> dg.RetryPolicy:
        return dg.RetryPolicy(
            max_retries=self.max_retries,
            delay=self.retry_delay_seconds,
            backoff=dg.Backoff.EXPONENTIAL,
            jitter=dg.Jitter.PLUS_MINUS,
        )

    def pool_for(self, calls_llm: bool) -> str:
        return LLM_POOL if calls_llm else self.pool

    def run_tags(self) -> dict[str, str]:
        return {
            "dagster/priority": str(self.priority),
            "dagster/max_runtime": str(self.max_runtime_seconds),
            "bgp/latency_class": self.name,
        }


SENSORY = LatencyClass("sensory", "sensory", priority=10, call_timeout_seconds=30, max_runtime_seconds=1800, max_retries=3, retry_delay_seconds=5)
ACTION = LatencyClass("action", "action", priority=5, call_timeout_seconds=30, max_runtime_seconds=1800, max_retries=3, retry_delay_seconds=5)
SOCIAL = LatencyClass("social", "social", priority=0, call_timeout_seconds=60, max_runtime_seconds=3600, max_retries=2, retry_delay_seconds=15)
COGNITION = LatencyClass("cognition", "cognition", priority=-5, call_timeout_seconds=120, max_runtime_seconds=7200, max_retries=2, retry_delay_seconds=30)

CLASSES = {c.name: c for c in (SENSORY, ACTION, SOCIAL, COGNITION)}
