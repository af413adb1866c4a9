"""Outbound actions: background work (scheduled prompts, diaries, heartbeats) asks the bot to act
(send a prompt, an image, a voice note, a post, a heartbeat) by queueing a row in `outbound_actions`;
`deliver_actions` posts each to BGP_ACTIONS_WEBHOOK_URL as signed JSON (webhooks.py), at most once.

Exactly once per action, as far as HTTP allows:
- queueing is idempotent: one row per `key` (unique dedup_key), so a re-run queues nothing twice;
- a deliverer claims a row (pending -> sending, attempts + 1) in its own transaction before the POST,
  so two runs never post the same action; the body carries `key`, the idempotency key for the bot;
- a 2xx settles it `delivered`; a refused or failed POST goes back to `pending` with the reason and a
  backoff (1, 2, 4 ... minutes, at most an hour) until BGP_ACTIONS_MAX_ATTEMPTS, then `failed`;
- a row left `sending` by a deliverer that died mid-request is `failed` with "outcome unknown", not
  resent (the bot may have it); `bgp actions retry ID` sends it again on purpose.
The project itself never calls a paid API here: what an action does is the bot's business.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from background_pipelines import webhooks
from background_pipelines.config import Secret
from background_pipelines.store import actions as astore
from background_pipelines.store.engine import Store
from background_pipelines.store.ledger import utcnow

KINDS = ("prompt", "image", "voice", "post", "heartbeat")
EVENT = "action"
STALE_AFTER = timedelta(minutes=10)  # a claim older than this belongs to a deliverer that died
DEFAULT_MAX_ATTEMPTS = 5
_BACKOFF = timedelta(minutes=1)
_BACKOFF_CAP = timedelta(hours=1)


class ActionError(ValueError):
    """An action request that cannot be queued (unknown kind, empty key, payload not JSON)."""


@dataclass(frozen=True)
class Queued:
    id: int
    created: bool  # False: an action with this key was queued before (nothing written)


def request_action(store: Store, kind: str, *, key: str, payload: dict[str, Any], character: str | None = None,
                   user: str | None = None, now: datetime | None = None) -> Queued:
    """Queue one action for the bot; idempotent on `key` (e.g. "diary:Mira:2026-12-06")."""
    if kind not in KINDS:
        raise ActionError(f"action kind {kind!r}: expected one of {', '.join(KINDS)}")
    if not isinstance(key, str) or not key.strip() or len(key) > 255:
        raise ActionError(f"action key {key!r}: expected a non-empty string of at most 255 characters")
    if not isinstance(payload, dict):
        raise ActionError(f"action payload: expected a JSON object, got {type(payload).__name__}")
    try:
        json.dumps(payload)  # strictly: the store keeps it as JSON (webhooks.encode would stringify anything)
    except (TypeError, ValueError) as exc:
        raise ActionError(f"action payload: not JSON-serialisable ({exc})") from None
    with store.begin() as conn:
        action_id, created = astore.queue(conn, dedup_key=key, kind=kind, character=character, user_name=user,
                                          payload=payload, now=now or utcnow())
    return Queued(action_id, created)


def envelope(row: dict) -> dict[str, Any]:
    """The JSON the bot receives for one action."""
    return {
        "event": EVENT, "id": row["id"], "key": row["dedup_key"], "kind": row["kind"], "character": row["character"],
        "user": row["user_name"], "payload": row["payload"], "attempt": row["attempts"],
        "created_at": row["created_at"].isoformat(timespec="seconds") + "Z",
    }


@dataclass
class DeliveryResult:
    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)  # failed this time, pending again with a backoff
    failed: list[int] = field(default_factory=list)  # attempts exhausted: failed for good, with the reason
    stale: list[int] = field(default_factory=list)  # left `sending` by a dead deliverer: failed, not resent
    skipped: int = 0  # claimed by another deliverer first
    errors: list[str] = field(default_factory=list)

    def preview(self) -> str:
        lines = [f"delivered **{len(self.delivered)}**, retrying {len(self.retrying)}, failed {len(self.failed)}, "
                 f"outcome unknown {len(self.stale)}"]
        lines += [f"- {e}" for e in self.errors[:10]]
        return "\n".join(lines)


def _backoff(attempts: int) -> timedelta:
    return min(_BACKOFF * (2 ** max(attempts - 1, 0)), _BACKOFF_CAP)


def deliver_actions(store: Store, url: str, secret: Secret | str | None, *, limit: int = 200,
                    max_attempts: int = DEFAULT_MAX_ATTEMPTS, now: datetime | None = None, timeout: float = 10.0) -> DeliveryResult:
    """Post every due pending action (oldest first, at most `limit`); see the module docstring."""
    now = now or utcnow()
    result = DeliveryResult()
    result.stale = astore.fail_stale_claims(store, now - STALE_AFTER, now)
    token = uuid.uuid4().hex
    for action_id in astore.due_ids(store, now, limit):
        row = astore.claim(store, action_id, token, now)
        if row is None:
            result.skipped += 1
            continue
        try:
            webhooks.post(url, envelope(row), secret, timeout=timeout)
        except webhooks.WebhookError as exc:
            reason = f"attempt {row['attempts']}: {exc}"
            if row["attempts"] >= max_attempts:
                astore.settle(store, action_id, token, status=astore.FAILED, error=f"{reason}; gave up after {max_attempts} attempts", now=now)
                result.failed.append(action_id)
            else:
                astore.settle(store, action_id, token, status=astore.PENDING, error=reason, now=now,
                              next_attempt_at=now + _backoff(row["attempts"]))
                result.retrying.append(action_id)
            result.errors.append(f"action {action_id} ({row['kind']}): {reason}")
            continue
        astore.settle(store, action_id, token, status=astore.DELIVERED, error=None, now=utcnow())
        result.delivered.append(action_id)
    return result


@dataclass
class QueueResult:
    queued: list[str] = field(default_factory=list)  # keys queued now
    existing: list[str] = field(default_factory=list)  # keys queued by an earlier run (nothing written)

    def preview(self) -> str:
        lines = [f"queued **{len(self.queued)}** post action(s); {len(self.existing)} already queued"]
        lines += [f"- `{k}`" for k in self.queued[:20]]
        return "\n".join(lines)


def queue_diary_posts(store: Store, days: list[str], *, now: datetime | None = None) -> QueueResult:
    """One `post` action per diary entry of `days` (key `diary:<character>:<day>`), for a bot that lets
    its characters share their diary; a re-run or a backfill queues nothing twice."""
    result = QueueResult()
    for entry in astore.diary_entries(store, days):
        key = f"diary:{entry['character']}:{entry['day']}"
        q = request_action(store, "post", key=key, character=entry["character"], now=now, payload={
            "source": "diary", "diary_id": entry["id"], "day": entry["day"], "title": entry["title"], "text": entry["text"],
            "mood": entry["mood"]})
        (result.queued if q.created else result.existing).append(key)
    return result
