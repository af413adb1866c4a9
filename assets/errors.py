"""Which failures a retry can heal. Timeouts, 429, 5xx and connection errors are retried by the op's
RetryPolicy; anything else (a typo in the config, an unknown user, a bug) fails the step at once."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import dagster as dg


def healable(exc: BaseException) -> bool:
    """True for failures that can pass by themselves: timeouts, rate limits, server errors, lost
    connections (HTTP or database)."""
    # imported on a failure, not when the code location loads (httpx and the LLM client cost ~0.1 CPU-s)
    import httpx
    from sqlalchemy.exc import DisconnectionError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from background_pipelines.llm.openai_embedder import EmbeddingRequestFailed
    from background_pipelines.llm.transport import RETRYABLE, RequestFailed

    if isinstance(exc, (RequestFailed, EmbeddingRequestFailed)):
        return exc.kind in RETRYABLE
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    if isinstance(exc, (httpx.TimeoutException, httpx.TransportError, TimeoutError, ConnectionError,
                        OperationalError, DisconnectionError, PoolTimeout)):
        return True
    return False


@contextmanager
def retry_only_healable(what: str) -> Iterator[None]:
    """Run the engine call; a failure no retry can heal becomes a dg.Failure that skips the retry
    policy (allow_retries=False), with a one-line description naming `what` failed and why."""
    try:
        yield
    except dg.Failure:
        raise
    except Exception as exc:
        if healable(exc):
            raise
        from background_pipelines.config import redact_urls

        raise dg.Failure(description=redact_urls(f"{what}: {exc}"), allow_retries=False) from exc
