"""identity: a user is (platform, platform user id); display names are attributes; explicit links

messages.author of a user message becomes the user key "platform:author" (the old author, a display
name, moves to messages.author_name); users gain platform, platform_user_id, person and name_seen_at;
user_names keeps every display name an account posted under; user_links audits link/unlink.
Derived tables keep their user columns, now holding keys: a name used on one platform maps to its one
key; a name used on several (the merged "alice"s this revision exists for) is split by each row's
source messages, and rows with no source to decide by are deleted so the next run re-derives them.

Revision ID: identity_users
Revises: knowledge_fact_time
"""
from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "identity_users"
down_revision = "knowledge_fact_time"
branch_labels = None
depends_on = None

_USER_INDEXES = (("ix_users_display_name", "display_name"), ("ix_users_platform_user_id", "platform_user_id"),
                 ("ix_users_person", "person"))


def upgrade() -> None:
    op.add_column("messages", sa.Column("author_name", sa.String(length=255), nullable=True))
    op.add_column("users", sa.Column("platform", sa.String(length=32), nullable=True))
    op.add_column("users", sa.Column("platform_user_id", sa.String(length=255), nullable=True))
    op.add_column("users", sa.Column("person", sa.String(length=255), nullable=True))
    op.add_column("users", sa.Column("name_seen_at", sa.DateTime(), nullable=True))
    for name, col in _USER_INDEXES:
        op.create_index(name, "users", [col], unique=False)
    op.create_table(
        "user_names",
        sa.Column("user_key", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("first_seen", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("user_key", "name"),
    )
    op.create_index("ix_user_names_name", "user_names", ["name"], unique=False)
    op.create_table(
        "user_links",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("user_key", sa.String(length=255), nullable=False),
        sa.Column("other_key", sa.String(length=255), nullable=True),
        sa.Column("person_before", sa.String(length=255), nullable=True),
        sa.Column("person_after", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_user_links_user", "user_links", ["user_key"], unique=False)
    _move(op.get_bind())


def downgrade() -> None:
    _move_back(op.get_bind())
    op.drop_index("ix_user_links_user", table_name="user_links")
    op.drop_table("user_links")
    op.drop_index("ix_user_names_name", table_name="user_names")
    op.drop_table("user_names")
    for name, _col in _USER_INDEXES:
        op.drop_index(name, table_name="users")
    # plain DROP COLUMN (SQLite >= 3.35): a batch copy of messages would lose its FTS triggers
    for table, col in (("users", "name_seen_at"), ("users", "person"), ("users", "platform_user_id"),
                       ("users", "platform"), ("messages", "author_name")):
        op.execute(f"ALTER TABLE {table} DROP COLUMN {col}")


# -- data ----------------------------------------------------------------------------------------

_JSON = sa.JSON()


def _t(name: str, *cols) -> sa.TableClause:
    return sa.table(name, *[sa.column(c, _JSON) if c.endswith(("_ids", "users", "participants", "epiphanies", "follow_ups", "aliases")) else sa.column(c) for c in cols])


def _list(value) -> list:
    if value is None:
        return []
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return list(value)


def _move(conn) -> None:
    conn.execute(sa.text("UPDATE messages SET author_name = author"))
    seen = conn.execute(sa.text(
        "SELECT platform, author, min(created_at), max(created_at) FROM messages WHERE author_kind = 'user' "
        "GROUP BY platform, author ORDER BY platform, author"
    )).all()
    conn.execute(sa.text("UPDATE messages SET author = platform || ':' || author WHERE author_kind = 'user'"))
    by_name: dict[str, list[str]] = {}
    first: dict[str, object] = {}
    for platform, author, t0, t1 in seen:
        key = f"{platform}:{author}"
        by_name.setdefault(author, []).append(key)
        first[key] = (platform, author, t0, t1)

    users = _t("users", "id", "name", "display_name", "first_seen", "created_at", "platform", "platform_user_id",
               "person", "name_seen_at")
    user_names = _t("user_names", "user_key", "name", "first_seen")
    old = {r.name: r for r in conn.execute(sa.select(users))}
    now = max([r.created_at for r in old.values()], default=None) or _utcnow()
    for name, r in old.items():
        if name in by_name:
            conn.execute(sa.delete(users).where(users.c.id == r.id))
    for key, (platform, author, t0, t1) in first.items():
        o = old.get(author)
        display = o.display_name if o is not None and len(by_name[author]) == 1 and o.display_name else author
        conn.execute(sa.insert(users).values(
            name=key, display_name=display, first_seen=t0, created_at=o.created_at if o is not None else now,
            platform=platform, platform_user_id=author, person=key, name_seen_at=t1,
        ))
        conn.execute(sa.insert(user_names).values(user_key=key, name=author, first_seen=t0))
        if display != author:
            conn.execute(sa.insert(user_names).values(user_key=key, name=display, first_seen=t0))
    conn.execute(sa.update(users).where(users.c.person.is_(None)).values(person=users.c.name))

    unique = {n: keys[0] for n, keys in by_name.items() if len(keys) == 1}
    ambiguous = {n: keys for n, keys in by_name.items() if len(keys) > 1}
    owners = _Owners(conn)
    _single(conn, owners, unique, ambiguous, "facts", "source_message_ids")
    _single(conn, owners, unique, ambiguous, "reflections", "source_message_ids")
    _single(conn, owners, unique, ambiguous, "gossip", "source_message_id")
    rs = _t("relationship_scores", "user_name")
    for name, key in unique.items():
        conn.execute(sa.update(rs).where(rs.c.user_name == name).values(user_name=key))
    for name in ambiguous:  # no sources to split by: re-derived next run (its ledger items name the key)
        conn.execute(sa.delete(rs).where(rs.c.user_name == name))
    for table, col, src in (("summaries", "participants", "message_ids"), ("diaries", "users", "source_message_ids"),
                            ("insights", "users", "source_message_ids"),
                            ("channel_summaries", "participants", "source_message_ids")):
        _lists(conn, owners, unique, ambiguous, table, col, src)
    _nested(conn, owners, unique, ambiguous)
    _user_entities(conn, unique, ambiguous)


def _utcnow():
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).replace(tzinfo=None)


class _Owners:
    """(author_name -> key) among given messages, cached per message id."""

    def __init__(self, conn):
        self.conn, self.memo = conn, {}

    def keys(self, ids, name: str) -> list[str]:
        ids = [int(i) for i in ids if i is not None]
        missing = [i for i in ids if i not in self.memo]
        m = _t("messages", "id", "author", "author_name", "author_kind")
        for s in range(0, len(missing), 500):
            for r in self.conn.execute(sa.select(m.c.id, m.c.author, m.c.author_name, m.c.author_kind).where(m.c.id.in_(missing[s : s + 500]))):
                self.memo[r.id] = (r.author_name, r.author) if r.author_kind == "user" else (None, None)
        return list(dict.fromkeys(self.memo[i][1] for i in ids if i in self.memo and self.memo[i][0] == name))


def _single(conn, owners: _Owners, unique: dict, ambiguous: dict, table: str, src: str) -> None:
    t = _t(table, "id", "user_name", src)
    for name, key in unique.items():
        conn.execute(sa.update(t).where(t.c.user_name == name).values(user_name=key))
    for name in ambiguous:
        for r in conn.execute(sa.select(t.c.id, t.c[src]).where(t.c.user_name == name)).all():
            ids = [r[1]] if src == "source_message_id" else _list(r[1])
            found = owners.keys(ids, name)
            if found:
                conn.execute(sa.update(t).where(t.c.id == r.id).values(user_name=found[0]))
            else:
                conn.execute(sa.delete(t).where(t.c.id == r.id))


def _map_names(names, sources, owners: _Owners, unique: dict, ambiguous: dict) -> list:
    out = []
    for n in names:
        if n in unique:
            out.append(unique[n])
        elif n in ambiguous:  # the accounts among the row's sources, else all of them (forget finds it)
            out.extend(owners.keys(sources, n) or ambiguous[n])
        else:
            out.append(n)  # a character
    return list(dict.fromkeys(out))


def _lists(conn, owners, unique, ambiguous, table: str, col: str, src: str) -> None:
    t = _t(table, "id", col, src)
    for r in conn.execute(sa.select(t.c.id, t.c[col], t.c[src])).all():
        names = _list(r[1])
        new = _map_names(names, _list(r[2]), owners, unique, ambiguous)
        if new != names:
            conn.execute(sa.update(t).where(t.c.id == r.id).values({col: new}))


def _nested(conn, owners, unique, ambiguous) -> None:
    ins = _t("insights", "id", "epiphanies", "source_message_ids")
    for r in conn.execute(sa.select(ins.c.id, ins.c.epiphanies, ins.c.source_message_ids)).all():
        eps = _list(r[1])
        for e in eps:
            ev = (e.get("evidence") or {}).get("message_ids") or _list(r[2])
            e["users"] = _map_names(e.get("users") or [], ev, owners, unique, ambiguous)
        if eps != _list(r[1]):
            conn.execute(sa.update(ins).where(ins.c.id == r.id).values(epiphanies=eps))
    gs = _t("goal_strategies", "id", "follow_ups", "source_message_ids")
    for r in conn.execute(sa.select(gs.c.id, gs.c.follow_ups, gs.c.source_message_ids)).all():
        before = _list(r[1])
        ups = [dict(f) for f in before]
        for f in ups:
            if f.get("user") is not None:
                f["user"] = _map_names([f["user"]], f.get("message_ids") or _list(r[2]), owners, unique, ambiguous)[0]
        if ups != before:
            conn.execute(sa.update(gs).where(gs.c.id == r.id).values(follow_ups=ups))


def _user_entities(conn, unique: dict, ambiguous: dict) -> None:
    """A user's graph entity was found by its name; it becomes the 'user' entity found by the key (norm).
    A name several accounts shared keeps its (merged) entity, and the graph stage re-folds those users'
    facts onto one entity per account on its next run."""
    from background_pipelines.cognition.graph import normalize_name

    ents = _t("entities", "id", "name", "norm", "type", "aliases")
    for name, key in unique.items():
        for r in conn.execute(sa.select(ents.c.id, ents.c.aliases).where(ents.c.norm == normalize_name(name), ents.c.type == "person")).all():
            aliases = sorted(set(_list(r.aliases)) | {name})
            if conn.execute(sa.select(ents.c.id).where(ents.c.norm == key)).first() is None:
                conn.execute(sa.update(ents).where(ents.c.id == r.id).values(norm=key, type="user", aliases=aliases))
    if ambiguous:
        facts = _t("facts", "id", "user_name")
        keys = [k for ks in ambiguous.values() for k in ks]
        ids = [int(i) for i in conn.execute(sa.select(facts.c.id).where(facts.c.user_name.in_(keys))).scalars()]
        led = _t("processing_ledger", "stage", "item")
        for s in range(0, len(ids), 500):
            conn.execute(sa.delete(led).where(led.c.stage == "graph", led.c.item.in_([f"fact:{i}" for i in ids[s : s + 500]])))


def _move_back(conn) -> None:
    """Best effort: keys back to the display name they were first imported under."""
    users = _t("users", "name", "platform_user_id", "platform")
    back = {r.name: r.platform_user_id for r in conn.execute(sa.select(users)) if r.platform is not None}
    conn.execute(sa.text("UPDATE messages SET author = author_name WHERE author_kind = 'user' AND author_name IS NOT NULL"))
    for table in ("facts", "reflections", "gossip", "relationship_scores"):
        t = _t(table, "user_name")
        for key, name in back.items():
            conn.execute(sa.update(t).where(t.c.user_name == key).values(user_name=name))
    u = _t("users", "name")
    for key, name in back.items():
        if conn.execute(sa.select(u.c.name).where(u.c.name == name)).first() is None:
            conn.execute(sa.update(u).where(u.c.name == key).values(name=name))
        else:
            conn.execute(sa.delete(u).where(u.c.name == key))
