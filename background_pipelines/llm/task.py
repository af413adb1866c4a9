"""What a piece of LLM work is: a named task with a pydantic output schema, a prompt builder and the
deterministic offline heuristic used when no endpoint is configured.

Cognition modules define their tasks here-shaped and hand them to the gateway; the gateway owns
transport, retries, validation/repair, cache and accounting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar

from pydantic import BaseModel

Out = TypeVar("Out", bound=BaseModel)


@dataclass(frozen=True)
class Task(Generic[Out]):
    """One kind of LLM work. `prompt(input)` gives chat messages; `offline(input)` gives the answer
    the offline backend returns for the same input (deterministic, no network)."""

    name: str
    schema: type[Out]
    prompt: Callable[[Any], list[dict]]
    offline: Callable[[Any], Out]
    max_tokens: int = 800
    temperature: float = 0.2


@dataclass
class Outcome(Generic[Out]):
    """The result for one input: `value` when ok, else `error` (classified) and a raw-answer excerpt."""

    ok: bool
    value: Out | None = None
    error: str | None = None
    raw_excerpt: str | None = None
    detail: str | None = None  # a readable explanation of `error` (never holds secrets)
    cached: bool = False
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class Usage:
    """Totals for a batch, ready to become asset metadata."""

    backend: str = "offline"
    model: str = "offline"
    requests: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)  # classification -> items that ended failed
    retries: dict[str, int] = field(default_factory=dict)  # classification -> attempts retried
    budget_exhausted: bool = False

    def as_metadata(self) -> dict[str, Any]:
        return {
            "llm_backend": self.backend,
            "llm_model": self.model,
            "llm_requests": self.requests,
            "llm_cache_hits": self.cache_hits,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "llm_failures": dict(self.failures),
            "llm_retries": dict(self.retries),
            "budget_exhausted": self.budget_exhausted,
        }
