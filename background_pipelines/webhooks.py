"""Signed JSON webhooks: run-failure alerts and asset-completion notices.

The body is canonical JSON; `X-BGP-Signature: sha256=<hex>` is the HMAC-SHA256 of the exact body
bytes with BGP_WEBHOOK_SECRET. Neither the secret nor the URL's path or query reach an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any
from urllib.parse import urlsplit


from background_pipelines.config import Secret

SIGNATURE_HEADER = "X-BGP-Signature"
EVENT_HEADER = "X-BGP-Event"


class WebhookError(RuntimeError):
    """A webhook could not be delivered; the message names the host only (paths often hold tokens)."""


def encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, secret: str, header: str | None) -> bool:
    """True when `header` is the signature of `body` under `secret` (constant-time compare)."""
    return bool(header) and hmac.compare_digest(sign(body, secret), header)


def safe_target(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"


def post(url: str, payload: dict[str, Any], secret: Secret | str | None = None, *, timeout: float = 10.0) -> int:
    """POST `payload` as signed JSON; returns the HTTP status. Raises WebhookError unless 2xx."""
    body = encode(payload)
    headers = {"Content-Type": "application/json", EVENT_HEADER: str(payload.get("event", "message"))}
    key = secret.reveal() if isinstance(secret, Secret) else secret
    if key:
        headers[SIGNATURE_HEADER] = sign(body, key)
    import httpx  # at use: importing the code location should not load an HTTP client

    try:
        with httpx.Client(timeout=timeout, transport=httpx.HTTPTransport(retries=2)) as client:
            resp = client.post(url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        raise WebhookError(f"webhook to {safe_target(url)} failed: {type(exc).__name__}") from None
    if not 200 <= resp.status_code < 300:
        raise WebhookError(f"webhook to {safe_target(url)} answered HTTP {resp.status_code}")
    return resp.status_code


def failure_payload(*, run_id: str, job: str, step: str | None, error: str | None, partition: str | None = None,
                    tags: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "event": "run_failure",
        "run_id": run_id,
        "job": job,
        "step": step,
        "error": (error or "")[:4000],
        "partition": partition,
        "tags": tags or {},
    }


def completion_payload(*, run_id: str, job: str, assets: list[str], partition: str | None = None) -> dict[str, Any]:
    return {"event": "assets_materialized", "run_id": run_id, "job": job, "assets": sorted(assets), "partition": partition}
