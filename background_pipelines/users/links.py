"""Explicit, audited links between accounts of one person across platforms (`bgp users link`)."""

from __future__ import annotations

from background_pipelines.store import users as ustore
from background_pipelines.store.engine import Store
from background_pipelines.store.ledger import utcnow
from background_pipelines.users.identity import User, UserError, resolve_user


def link_users(store: Store, a: str, b: str, *, reason: str = "", actor: str = "") -> User:
    """Make the accounts of `a` and `b` one person (anchored at `a`'s person); audited in user_links.
    Linking accounts already linked changes nothing and writes no audit row."""
    ua, ub = resolve_user(store, a), resolve_user(store, b)
    if ua.person == ub.person:
        return resolve_user(store, ua.key)
    now = utcnow()
    with store.begin() as conn:
        moved = [k for k in ub.keys]
        ustore.set_person(conn, moved, ua.person)
        for k in moved:
            ustore.audit(conn, action="link", user_key=k, other_key=ua.key, person_before=ub.person,
                         person_after=ua.person, reason=reason, actor=actor, created_at=now)
    return resolve_user(store, ua.key)


def unlink_user(store: Store, key: str, *, reason: str = "", actor: str = "") -> User:
    """Detach one account (named by its key) from the person it was linked to; audited."""
    with store.connect() as conn:
        rows = ustore.by_keys(conn, [key])
    if key not in rows:
        raise UserError(f"unlink: {key!r} is not a user key (platform:id); see bgp users list")
    u = resolve_user(store, key)
    if len(u.keys) == 1:
        raise UserError(f"unlink: {key!r} is not linked to another account")
    now = utcnow()
    with store.begin() as conn:
        rest = [k for k in u.keys if k != key]
        if u.person == key:  # the anchor leaves: the others re-anchor on the smallest remaining key
            ustore.set_person(conn, rest, rest[0])
            for k in rest:
                ustore.audit(conn, action="unlink", user_key=k, other_key=key, person_before=key, person_after=rest[0],
                             reason=reason, actor=actor, created_at=now)
        ustore.set_person(conn, [key], key)
        ustore.audit(conn, action="unlink", user_key=key, other_key=u.person, person_before=u.person, person_after=key,
                     reason=reason, actor=actor, created_at=now)
    return resolve_user(store, key)


def list_users(store: Store, *, platform: str | None = None, name: str | None = None, limit: int = 200) -> list[dict]:
    """Accounts (key, display name, platform, platform id, person, former names), by key."""
    with store.connect() as conn:
        rows = ustore.list_users(conn, platform=platform, name=name, limit=limit)
        names = ustore.names_of(conn, [r["name"] for r in rows])
    for r in rows:
        r["names"] = names.get(r["name"], [])
    return rows
