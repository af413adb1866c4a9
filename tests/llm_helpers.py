"""Shared pieces of the LLM tests: a small summarization task and a gateway pointed at the local server."""

from __future__ import annotations

from pydantic import BaseModel, Field

from background_pipelines.config import Secret
from background_pipelines.llm import Gateway, Task

KEY = "sk-test-DO-NOT-LEAK-7f3a9c"


class Summary(BaseModel):
    summary: str
    meaningfulness: int = Field(ge=1, le=5)


def _prompt(text: str) -> list[dict]:
    return [{"role": "system", "content": "Summarize the message in one line."}, {"role": "user", "content": text}]


SUMMARIZE = Task("summarize", Summary, prompt=_prompt, offline=lambda text: Summary(summary=text[:40], meaningfulness=3))


def first_user_text(request: dict) -> str:
    return next(m["content"] for m in request["messages"] if m["role"] == "user")


def echo_summary(request: dict) -> dict:
    """The scripted answer: the input upper-cased, so each outcome shows which input it answers."""
    return {"summary": first_user_text(request).upper(), "meaningfulness": 3}


def make_gateway(store, srv, **overrides) -> Gateway:
    options = dict(
        base_url=srv.base_url,
        api_key=Secret(KEY),
        model="gpt-4o-mini",
        max_concurrency=4,
        timeout=2.0,
        max_attempts=3,
        backoff_base=0.01,
        backoff_cap=0.05,
    )
    options.update(overrides)
    return Gateway(store, **options)
