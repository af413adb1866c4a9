"""Endpoint probe: one cheap real request to each configured LLM and embedding endpoint (a 1-token
chat completion, a 1-text embedding) through the project's HTTP client, so a refused, exhausted or
unreachable key is found before live requests fail. The offline backend and local embedders are
reported as skipped with the reason, never as failed. Reports name the endpoint, never the key.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass

from background_pipelines.config import Secret, Settings, redact_url
from background_pipelines.llm.gateway import _run_sync
from background_pipelines.llm.transport import RequestFailed, Transport

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
PROBE_TEXT = "ping"
_ATTEMPTS = 2  # one retry: a probe should say "down" quickly, not ride out a long outage
_TIMEOUT_CAP = 30.0


@dataclass(frozen=True)
class EndpointProbe:
    """What one probe found: `status` ok / failed / skipped, the HTTP status when the server answered,
    the latency of the request (ms) and, unless ok, the reason."""

    name: str  # chat | embeddings
    endpoint: str | None  # base URL without user:password
    model: str | None
    status: str
    http_status: int | None = None
    latency_ms: float | None = None
    reason: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        where = f"{self.name} endpoint {self.endpoint}" if self.endpoint else f"{self.name}"
        if self.status == OK:
            return f"{where} ({self.model}): ok in {self.latency_ms:.0f} ms"
        return f"{where}: {self.status}: {self.reason}"


def _reason(failure: RequestFailed) -> str:
    if failure.status in (401, 403):
        return f"HTTP {failure.status}: the key was refused (check BGP_*_API_KEY); {failure}"
    if failure.status == 402 or (failure.status == 429 and "quota" in (failure.body or "").lower()):
        return f"HTTP {failure.status}: out of quota or credit; {failure}"
    return str(failure)


async def _probe(name: str, base_url: str, key: Secret, model: str, path: str, payload: dict, timeout: float) -> EndpointProbe:
    transport = Transport(base_url, key, timeout=timeout, max_attempts=_ATTEMPTS, max_concurrency=1, backoff_base=0.2, backoff_cap=2.0)
    endpoint = redact_url(base_url.rstrip("/"))
    started = time.perf_counter()
    async with transport:
        try:
            await transport.post(path, payload, est_tokens=1)
        except RequestFailed as failure:
            ms = (time.perf_counter() - started) * 1000
            return EndpointProbe(name, endpoint, model, FAILED, failure.status, round(ms, 1), _reason(failure))
    ms = (time.perf_counter() - started) * 1000
    return EndpointProbe(name, endpoint, model, OK, 200, round(ms, 1))


def _chat(settings: Settings, timeout: float) -> EndpointProbe | tuple:
    if not settings.llm_base_url:
        return EndpointProbe("chat", None, None, SKIPPED, reason="offline backend: BGP_LLM_BASE_URL is not set")
    if not settings.chat_llm_enabled:
        return EndpointProbe("chat", redact_url(settings.llm_base_url), settings.llm_model, SKIPPED,
                             reason="BGP_CHAT_LLM_ENABLED=false: the chat LLM is not used")
    payload = {"model": settings.llm_model, "messages": [{"role": "user", "content": PROBE_TEXT}], "max_tokens": 1}
    return ("chat", settings.llm_base_url, settings.llm_api_key, settings.llm_model, "chat/completions", payload, timeout)


def _embeddings(settings: Settings, timeout: float) -> EndpointProbe | tuple:
    if settings.embedding_backend != "openai":
        return EndpointProbe("embeddings", None, None, SKIPPED,
                             reason=f"local embedder (BGP_EMBEDDING_BACKEND={settings.embedding_backend}): no endpoint to probe")
    from background_pipelines.llm.openai_embedder import DEFAULT_MODEL

    url = settings.embedding_base_url or settings.llm_base_url
    if not url:
        return EndpointProbe("embeddings", None, None, FAILED,
                             reason="BGP_EMBEDDING_BACKEND=openai needs BGP_EMBEDDING_BASE_URL (or BGP_LLM_BASE_URL)")
    key = settings.embedding_api_key if settings.embedding_api_key else settings.llm_api_key
    model = settings.embedding_model or DEFAULT_MODEL
    return ("embeddings", url, key, model, "embeddings", {"model": model, "input": [PROBE_TEXT]}, timeout)


def probe_endpoints(settings: Settings) -> list[EndpointProbe]:
    """Probe the chat and embedding endpoints `settings` configure (both at once); never raises for
    an endpoint's answer: a refused key is a `failed` probe with the reason."""
    timeout = min(settings.llm_timeout_seconds, _TIMEOUT_CAP)
    planned = [_chat(settings, timeout), _embeddings(settings, timeout)]

    async def run() -> list[EndpointProbe]:
        return list(await asyncio.gather(*(_probe(*p) if isinstance(p, tuple) else _done(p) for p in planned)))

    return _run_sync(run())


async def _done(probe: EndpointProbe) -> EndpointProbe:
    return probe


def failures(probes: list[EndpointProbe]) -> list[EndpointProbe]:
    return [p for p in probes if p.status == FAILED]


def preview(probes: list[EndpointProbe]) -> str:
    """A markdown table of the probes, for the asset's metadata."""
    rows = ["| endpoint | model | status | HTTP | latency ms | reason |", "|---|---|---|---|---|---|"]
    for p in probes:
        latency = f"{p.latency_ms:.0f}" if p.latency_ms is not None else ""
        reason = p.reason.replace("|", "\\|")[:300]
        rows.append(f"| {p.name}: {p.endpoint or '-'} | {p.model or '-'} | **{p.status}** | {p.http_status or ''} | {latency} | {reason} |")
    return "\n".join(rows)
