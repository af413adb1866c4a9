"""A user is an account, (platform, platform user id), stored under the key "platform:id". Display
names are attributes that change; `resolve_user` turns what a person types into accounts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy.engine import Connection

from background_pipelines.store import users as ustore
from background_pipelines.store.engine import Store

MAX_KEY = 255  # users.name, messages.author and the derived user_name columns
USER_ENTITY_TYPE = "user"  # the graph entity of an account; never merged with another entity


def user_key(platform: str, platform_user_id: str | int) -> str:
    """The stable key of an account: what messages.author and every derived user column hold."""
    return f"{platform}:{platform_user_id}"


def is_user_key(value: str) -> bool:
    platform, sep, rest = value.partition(":")
    return bool(sep and platform and rest)


def entity_norm(key: str) -> str:
    """The graph entity norm of an account: the key itself. Normalized names never hold ':', so a
    user entity can never collide with an entity named in a message ("Alice" or "demo alice")."""
    return key


class UserError(ValueError):
    """A user reference that does not name exactly one person; the message says what to type instead."""


class UnknownUserError(UserError):
    pass


class AmbiguousUserError(UserError):
    def __init__(self, ref: str, candidates: list[dict]):
        self.ref, self.candidates = ref, candidates
        listed = "; ".join(_describe(c) for c in candidates)
        super().__init__(f"user {ref!r} is ambiguous: {listed}. Name one by its key (platform:id), "
                         "or link the accounts if they are one person (bgp users link)")


def _describe(c: dict) -> str:
    shown = c.get("display_name") or c["name"]
    return f"{c['name']} ({shown}, first seen {c['first_seen']:%Y-%m-%d})" if c.get("first_seen") else f"{c['name']} ({shown})"


@dataclass(frozen=True)
class User:
    """One person as resolved: `key` is the account asked for (or the person's anchor when a name
    matched several linked accounts); `keys` are every account linked to it, `key` first."""

    key: str
    display_name: str
    platform: str | None
    platform_user_id: str | None
    person: str
    keys: tuple[str, ...] = field(default=())

    @property
    def linked(self) -> tuple[str, ...]:
        return tuple(k for k in self.keys if k != self.key)


def _conn(store_or_conn):
    return store_or_conn.connect() if isinstance(store_or_conn, Store) else _Borrowed(store_or_conn)


class _Borrowed:
    def __init__(self, conn: Connection):
        self.conn = conn

    def __enter__(self):
        return self.conn

    def __exit__(self, *exc):
        return False


def resolve_user(store_or_conn: Store | Connection, ref: str) -> User:
    """The person `ref` names: a key ("telegram:user42"), a platform user id, or a display name (current
    or former). Accounts linked with `bgp users link` count as one person. Raises UnknownUserError when
    nothing matches and AmbiguousUserError (listing the candidates) when several people do."""
    if not isinstance(ref, str) or not ref.strip():
        raise UnknownUserError(f"user {ref!r}: expected a user key (platform:id) or a name")
    ref = ref.strip()
    with _conn(store_or_conn) as conn:
        found = ustore.candidates(conn, ref)
        if not found:
            raise UnknownUserError(f"unknown user {ref!r}: no account has that key, platform id or name (bgp users list)")
        persons = sorted({c["person"] or c["name"] for c in found})
        if len(persons) > 1:
            raise AmbiguousUserError(ref, found)
        accounts = ustore.members(conn, persons)
    chosen = found[0] if len(found) == 1 else next((a for a in accounts if a["name"] == persons[0]), found[0])
    keys = [chosen["name"]] + sorted(a["name"] for a in accounts if a["name"] != chosen["name"])
    return User(
        key=chosen["name"], display_name=chosen.get("display_name") or chosen["name"], platform=chosen.get("platform"),
        platform_user_id=chosen.get("platform_user_id"), person=persons[0], keys=tuple(keys),
    )


def display_labels(authors: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    """{author key: what prose calls them}: the display name they wrote under, with the platform added
    where two accounts share it ("alice (telegram)"). Characters (no user key) keep their name. Prose
    and prompts use labels; stored user columns always hold keys."""
    named: dict[str, str] = {}
    for key, name in authors:
        if key not in named or (name and named[key] == key):
            named[key] = name or key
    uses: dict[str, int] = {}
    for label in named.values():
        uses[label] = uses.get(label, 0) + 1
    return {k: (f"{n} ({k.partition(':')[0]})" if uses[n] > 1 and is_user_key(k) else n) for k, n in named.items()}
