"""HTTP to an OpenAI-compatible endpoint: one pooled httpx.AsyncClient, a concurrency limit that is
never exceeded, optional RPM/TPM windows, and retries (429, 5xx, timeouts, connection errors) with
exponential backoff, full jitter and Retry-After. Error text never carries the API key, headers or
the user:password of the endpoint URL (sent as basic auth, never part of the URL the client reports).
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from dataclasses import dataclass, field
from typing import Callable

import httpx

from background_pipelines.config import Secret, redact_urls, split_userinfo
from background_pipelines.llm.limits import MinuteWindow

log = logging.getLogger("background_pipelines.llm")

RETRYABLE = {"rate_limited", "server_error", "timeout", "connection"}


class RequestFailed(Exception):
    """A request that failed for good. `kind`: rate_limited, server_error, timeout, connection or
    client_error; `status` the HTTP status if any; `body` an excerpt of the server's answer."""

    def __init__(self, kind: str, message: str, status: int | None = None, body: str = ""):
        super().__init__(message)
        self.kind = kind
        self.status = status
        self.body = body


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None if absent/unparseable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None) -> float:
    """Full jitter (uniform in [0, min(cap, base * 2**attempt)]); never shorter than Retry-After."""
    delay = random.uniform(0.0, min(cap, base * (2**attempt)))
    return max(delay, retry_after) if retry_after is not None else delay


@dataclass
class Transport:
    """Posts JSON to `base_url` + path. Create inside the event loop that uses it (`async with`)."""

    base_url: str
    api_key: Secret = field(repr=False)
    timeout: float = 60.0
    max_attempts: int = 5
    max_concurrency: int = 8
    rpm: int | None = None
    tpm: int | None = None
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    rpm_window: MinuteWindow | None = field(default=None, repr=False)  # shared windows outlive one run
    tpm_window: MinuteWindow | None = field(default=None, repr=False)
    retried: dict[str, int] = field(default_factory=dict)  # classification -> retried attempts
    requests: int = 0  # HTTP requests sent (attempts, not items)

    def __post_init__(self):
        if self.max_concurrency < 1:
            raise ValueError(f"BGP_LLM_MAX_CONCURRENCY must be >= 1, got {self.max_concurrency}")
        if self.max_attempts < 1:
            raise ValueError(f"BGP_LLM_MAX_ATTEMPTS must be >= 1, got {self.max_attempts}")
        self._semaphore = asyncio.Semaphore(self.max_concurrency)
        self._rpm = self.rpm_window or (MinuteWindow(self.rpm) if self.rpm else None)
        self._tpm = self.tpm_window or (MinuteWindow(self.tpm) if self.tpm else None)
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key.reveal()}"
        # user:password in the endpoint URL become basic auth (what httpx does with them anyway), so
        # neither httpx's request logs nor our error messages ever hold them
        self.base_url, userinfo = split_userinfo(self.base_url)
        self._url_password = userinfo[1] if userinfo else None
        self._client = httpx.AsyncClient(
            base_url=self.base_url.rstrip("/") + "/",
            auth=httpx.BasicAuth(*userinfo) if userinfo else None,
            headers=headers,
            timeout=httpx.Timeout(self.timeout),
            limits=httpx.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency),
        )

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, api_key={self.api_key!r}, max_concurrency={self.max_concurrency})"

    async def __aenter__(self) -> "Transport":
        return self

    async def __aexit__(self, *exc) -> None:
        await self._client.aclose()

    def _scrub(self, text: str) -> str:
        for secret in (self.api_key.reveal(), self._url_password):
            if secret:
                text = text.replace(secret, "***")
        return redact_urls(text)

    async def post(self, path: str, payload: dict, est_tokens: int = 0, gate: Callable[[], None] | None = None) -> dict:
        """The JSON answer of POST path; retries what is retryable, raises RequestFailed otherwise.
        `gate()` runs once a slot is held, right before each attempt, and may raise RequestFailed
        (the daily budget: checked as late as possible so calls in flight count)."""
        url = f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"
        for attempt in range(self.max_attempts):
            if self._rpm:
                await self._rpm.acquire(1)
            if self._tpm:
                await self._tpm.acquire(est_tokens)
            retry_after = None
            async with self._semaphore:  # released while backing off, so others use the slot
                if gate is not None:
                    gate()
                self.requests += 1
                try:
                    resp = await self._client.post(path.lstrip("/"), json=payload)
                except httpx.TimeoutException:
                    failure = RequestFailed("timeout", f"timeout: no answer within {self.timeout:g}s from POST {url}")
                except httpx.TransportError as exc:
                    # the message of a transport error names the peer, never request headers; scrubbed anyway
                    failure = RequestFailed(
                        "connection", f"connection: POST {url} failed: {type(exc).__name__}: {self._scrub(str(exc))[:200]}"
                    )
                else:
                    if resp.status_code < 400:
                        try:
                            return resp.json()
                        except ValueError:
                            raise RequestFailed(
                                "invalid_json", f"invalid_json: POST {url} answered non-JSON", resp.status_code, self._scrub(resp.text[:300])
                            ) from None
                    body = self._scrub(resp.text[:300])
                    status = resp.status_code
                    kind = "rate_limited" if status == 429 else "server_error" if status >= 500 else "client_error"
                    failure = RequestFailed(kind, f"{kind}: HTTP {status} from POST {url}: {body[:200]}", status, body)
                    retry_after = parse_retry_after(resp.headers.get("retry-after"))
            if failure.kind not in RETRYABLE or attempt + 1 >= self.max_attempts:
                raise failure
            self.retried[failure.kind] = self.retried.get(failure.kind, 0) + 1
            delay = backoff_delay(attempt, self.backoff_base, self.backoff_cap, retry_after)
            log.warning("%s; retry %d/%d in %.2fs", failure, attempt + 1, self.max_attempts - 1, delay)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")  # the loop returns or raises
