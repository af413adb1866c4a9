"""SQL for the users, user_names and user_links tables: accounts, the names they used, audited links."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import case, func, or_, select, update

from background_pipelines.store.engine import _insert, insert_ignore
from background_pipelines.store.schema import user_links, user_names, users

_CHUNK = 500


def register_authors(conn, seen: dict[str, tuple[str, str, str, datetime, datetime]], now: datetime) -> None:
    """Create or refresh accounts from a batch of messages: {key: (platform, platform user id, newest
    name, first seen, newest seen)}. The display name follows the newest message whatever the import
    order (ties: the larger name), first_seen the oldest; every name goes to user_names."""
    if not seen:
        return
    rows = [
        dict(name=k, display_name=name, first_seen=t0, created_at=now, platform=p, platform_user_id=pid, person=k,
             name_seen_at=t1)
        for k, (p, pid, name, t0, t1) in sorted(seen.items())
    ]
    stmt = _insert(conn, users)
    ex = stmt.excluded
    newer = or_(users.c.name_seen_at.is_(None), ex.name_seen_at > users.c.name_seen_at,
                (ex.name_seen_at == users.c.name_seen_at) & (ex.display_name > users.c.display_name))
    stmt = stmt.on_conflict_do_update(
        index_elements=["name"],
        set_=dict(
            display_name=case((newer, ex.display_name), else_=users.c.display_name),
            name_seen_at=case((newer, ex.name_seen_at), else_=users.c.name_seen_at),
            first_seen=case((or_(users.c.first_seen.is_(None), ex.first_seen < users.c.first_seen), ex.first_seen),
                            else_=users.c.first_seen),
            platform=func.coalesce(users.c.platform, ex.platform),
            platform_user_id=func.coalesce(users.c.platform_user_id, ex.platform_user_id),
            person=func.coalesce(users.c.person, ex.person),
        ),
    )
    conn.execute(stmt, rows)


def register_names(conn, names: Iterable[tuple[str, str, datetime]]) -> None:
    """Remember (key, display name, first seen) pairs; existing pairs are kept."""
    rows = [dict(user_key=k, name=n, first_seen=t) for k, n, t in names]
    if rows:
        insert_ignore(conn, user_names, rows, ["user_key", "name"])


def by_keys(conn, keys: Sequence[str]) -> dict[str, dict]:
    out = {}
    keys = sorted(set(keys))
    for i in range(0, len(keys), _CHUNK):
        for r in conn.execute(select(users).where(users.c.name.in_(keys[i : i + _CHUNK]))):
            out[r.name] = dict(r._mapping)
    return out


def candidates(conn, ref: str) -> list[dict]:
    """Accounts `ref` may name: its key, else a platform user id or a display name (current or
    former), matched exactly, else case-insensitively. Indexed lookups; cost independent of user count
    for the exact pass."""
    exact = conn.execute(select(users).where(users.c.name == ref)).all()
    if exact:
        return [dict(r._mapping) for r in exact]
    former = select(user_names.c.user_key).where(user_names.c.name == ref)
    rows = conn.execute(
        select(users).where(or_(users.c.platform_user_id == ref, users.c.display_name == ref, users.c.name.in_(former)))
    ).all()
    if not rows:
        low = ref.lower()
        former_ci = select(user_names.c.user_key).where(func.lower(user_names.c.name) == low)
        rows = conn.execute(
            select(users).where(or_(func.lower(users.c.display_name) == low, func.lower(users.c.platform_user_id) == low,
                                    users.c.name.in_(former_ci)))
        ).all()
    return [dict(r._mapping) for r in sorted(rows, key=lambda r: r.name)]


def members(conn, persons: Iterable[str]) -> list[dict]:
    """Every account of the given persons (linked accounts share `person`), by key."""
    persons = sorted(set(persons))
    q = select(users).where(or_(users.c.person.in_(persons), users.c.name.in_(persons))).order_by(users.c.name)
    return [dict(r._mapping) for r in conn.execute(q)]


def names_of(conn, keys: Sequence[str]) -> dict[str, list[str]]:
    """{key: every display name it used, oldest first}."""
    out: dict[str, list[str]] = {}
    keys = sorted(set(keys))
    for i in range(0, len(keys), _CHUNK):
        q = select(user_names).where(user_names.c.user_key.in_(keys[i : i + _CHUNK])).order_by(user_names.c.first_seen, user_names.c.name)
        for r in conn.execute(q):
            out.setdefault(r.user_key, []).append(r.name)
    return out


def set_person(conn, keys: Sequence[str], person: str) -> None:
    conn.execute(update(users).where(users.c.name.in_(list(keys))).values(person=person))


def audit(conn, **row) -> None:
    conn.execute(user_links.insert().values(**row))


def link_history(conn, keys: Sequence[str]) -> list[dict]:
    q = (select(user_links).where(or_(user_links.c.user_key.in_(list(keys)), user_links.c.other_key.in_(list(keys))))
         .order_by(user_links.c.id))
    return [dict(r._mapping) for r in conn.execute(q)]


def list_users(conn, *, platform: str | None = None, name: str | None = None, limit: int = 200) -> list[dict]:
    q = select(users).order_by(users.c.name).limit(limit)
    if platform:
        q = q.where(users.c.platform == platform)
    if name:
        like = f"%{name.lower()}%"
        q = q.where(or_(func.lower(users.c.display_name).like(like), func.lower(users.c.name).like(like)))
    return [dict(r._mapping) for r in conn.execute(q)]


def count_users(conn) -> int:
    return conn.execute(select(func.count()).select_from(users)).scalar_one()


def keys_after(conn, after_id: int, limit: int = 1000) -> list[tuple[int, str]]:
    """(id, user key) of the accounts registered after `after_id`, oldest first (a sensor's cursor)."""
    q = select(users.c.id, users.c.name).where(users.c.id > after_id).order_by(users.c.id).limit(limit)
    return [(int(i), k) for i, k in conn.execute(q)]
