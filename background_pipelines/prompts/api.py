"""Scheduled prompts: add (one-off or cron, per user and character, in the user's timezone), list,
cancel, fire the due ones, clean up the finished ones.

Fired exactly once: `fire_due_prompts` takes each due prompt in its own transaction that (1) moves
the prompt's `next_at` past the occurrence with a compare-and-set on the value it read, (2) inserts the
unique claim (prompt_id, occurrence_at) into prompt_fires and (3) queues the outbound action (unique
key `prompt:<id>:<occurrence>`) that delivers it. A second daemon, a restart with a fresh cursor or a
retried tick finds next_at moved (or the claim taken) and rolls back, so no occurrence is queued twice;
delivery (actions.py) then posts it at most once, with retries and the reason of each failure recorded.
Occurrences missed while nothing ran (the daemon down) are not fired in a burst: the earliest due one
fires, the rest are counted in the claim's `skipped`, and next_at moves to the first one after now.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy.exc import IntegrityError

from background_pipelines.prompts.schedule import PromptError, check_cron, next_after, occurrences_between, parse_when, zone
from background_pipelines.store import actions as astore
from background_pipelines.store import prompts as pstore
from background_pipelines.store.engine import Store
from background_pipelines.store.ledger import utcnow

MAX_TEXT = 4000


@dataclass(frozen=True)
class Prompt:
    id: int
    user: str
    character: str
    text: str
    kind: str
    cron: str | None
    timezone: str
    next_at: datetime | None  # UTC
    status: str
    fired: int

    @property
    def next_local(self) -> datetime | None:
        return self.next_at.replace(tzinfo=timezone.utc).astimezone(zone(self.timezone)) if self.next_at else None

    def as_dict(self) -> dict:
        return {"id": self.id, "user": self.user, "character": self.character, "text": self.text, "kind": self.kind,
                "cron": self.cron, "timezone": self.timezone, "status": self.status, "fired": self.fired,
                "next_at_utc": self.next_at.isoformat(timespec="minutes") + "Z" if self.next_at else None,
                "next_local": self.next_local.isoformat(timespec="minutes") if self.next_local else None}


def _prompt(row: dict) -> Prompt:
    return Prompt(row["id"], row["user_name"], row["character"], row["text"], row["kind"], row["cron"], row["timezone"],
                  row["next_at"], row["status"], row["fired"])


def _user_key(store: Store, user: str) -> str:
    from background_pipelines.users.identity import UserError, resolve_user

    try:
        return resolve_user(store, user).key
    except UserError as exc:
        raise PromptError(str(exc)) from None


def add_prompt(store: Store, user: str, character: str, text: str, *, at: str | None = None, cron: str | None = None,
               timezone: str = "UTC", now: datetime | None = None) -> Prompt:
    """Schedule `text` for `user` (key, platform id or unambiguous name) with `character`: once at `at`
    (see schedule.WHEN_FORMS) or by `cron`, both read in `timezone`. Bad input raises PromptError and
    writes nothing."""
    now = now or utcnow()
    if not isinstance(text, str) or not text.strip():
        raise PromptError("text: the prompt is empty")
    if len(text) > MAX_TEXT or "\x00" in text:
        raise PromptError(f"text: at most {MAX_TEXT} characters, no NUL (got {len(text)})")
    if (at is None) == (cron is None):
        raise PromptError("give exactly one of `at` (a one-off time) or `cron` (a recurring schedule)")
    tz = zone(timezone)
    if cron is not None:
        expr = check_cron(cron)
        next_at = next_after(expr, tz, now)
    else:
        expr, next_at = None, parse_when(at, tz, now)
    key = _user_key(store, user)
    if not isinstance(character, str) or not character.strip() or not pstore.character_known(store, character.strip()):
        raise PromptError(f"unknown character {character!r}: not in the characters table and never spoke (bgp characters list)")
    row = dict(user_name=key, character=character.strip(), text=text.strip(), kind="cron" if expr else "once", cron=expr,
               timezone=timezone, next_at=next_at, status=pstore.ACTIVE, fired=0, created_at=now, updated_at=now)
    row["id"] = pstore.insert(store, row)
    return _prompt(row)


def list_prompts(store: Store, *, user: str | None = None, character: str | None = None, status: str | None = None,
                 limit: int = 200) -> list[Prompt]:
    if status is not None and status not in (pstore.ACTIVE, pstore.DONE, pstore.CANCELLED):
        raise PromptError(f"status {status!r}: expected active, done or cancelled")
    users = None
    if user is not None:
        from background_pipelines.users.identity import UserError, resolve_user

        try:
            users = list(resolve_user(store, user).keys)
        except UserError as exc:
            raise PromptError(str(exc)) from None
    return [_prompt(r) for r in pstore.list_prompts(store, users=users, character=character, status=status, limit=limit)]


def cancel_prompt(store: Store, prompt_id: int, *, now: datetime | None = None) -> Prompt:
    """Cancel an active prompt (idempotent: cancelling a cancelled one changes nothing); a prompt that
    already fired its only occurrence, or an unknown id, is a PromptError."""
    row = pstore.get(store, prompt_id)
    if row is None:
        raise PromptError(f"unknown prompt id {prompt_id} (bgp prompts list)")
    if row["status"] == pstore.DONE:
        raise PromptError(f"prompt {prompt_id} already fired (status done): nothing to cancel")
    pstore.cancel(store, prompt_id, now or utcnow())
    return _prompt(pstore.get(store, prompt_id))


@dataclass
class FireResult:
    fired: list[tuple[int, datetime, int]] = field(default_factory=list)  # (prompt id, occurrence UTC, action id)
    taken: int = 0  # due prompts another evaluation fired first (rolled back here)
    skipped: int = 0  # missed occurrences of recurring prompts not fired (the daemon was down)

    def preview(self) -> str:
        return f"fired {len(self.fired)} prompt occurrence(s); {self.taken} taken by another evaluation; {self.skipped} missed occurrence(s) skipped"


def payload(prompt: dict, occurrence: datetime) -> dict:
    tz = zone(prompt["timezone"])
    return {"prompt_id": prompt["id"], "text": prompt["text"], "kind": prompt["kind"], "cron": prompt["cron"],
            "timezone": prompt["timezone"], "occurrence_at": occurrence.isoformat(timespec="seconds") + "Z",
            "local_time": occurrence.replace(tzinfo=timezone.utc).astimezone(tz).isoformat(timespec="minutes")}


def fire_due_prompts(store: Store, *, now: datetime | None = None, limit: int = 500) -> FireResult:
    """Claim every due occurrence once and queue its delivery (see the module docstring)."""
    now = now or utcnow()
    result = FireResult()
    for prompt in pstore.due(store, now, limit):
        occurrence = prompt["next_at"]
        skipped, nxt = 0, None
        if prompt["kind"] == "cron":
            tz = zone(prompt["timezone"])
            skipped = occurrences_between(prompt["cron"], tz, occurrence, now)
            nxt = next_after(prompt["cron"], tz, max(now, occurrence))
        try:
            with store.begin() as conn:
                if not pstore.advance(conn, prompt, next_at=nxt, now=now) or not pstore.claim_occurrence(conn, prompt, skipped=skipped, now=now):
                    raise _Taken()
                action_id, _ = astore.queue(conn, dedup_key=f"prompt:{prompt['id']}:{occurrence.isoformat(timespec='seconds')}",
                                            kind="prompt", character=prompt["character"], user_name=prompt["user_name"],
                                            payload=payload(prompt, occurrence), now=now)
                pstore.link_action(conn, prompt["id"], occurrence, action_id)
        except (_Taken, IntegrityError):  # another evaluation fired it: this transaction wrote nothing
            result.taken += 1
            continue
        result.fired.append((prompt["id"], occurrence, action_id))
        result.skipped += skipped
    return result


class _Taken(Exception):
    """Raised inside the fire transaction to roll it back."""


def cleanup_prompts(conn, cutoff: datetime) -> dict[str, int]:
    """Done and cancelled prompts older than `cutoff` (settled), their fires, and delivered actions older than it."""
    prompts_deleted, fires_deleted = pstore.purge_finished(conn, cutoff)
    return {"prompts_deleted": prompts_deleted, "prompt_fires_deleted": fires_deleted,
            "actions_deleted": astore.purge_delivered(conn, cutoff)}
