"""SQL for recall: full-text search (SQLite FTS5 tables / PostgreSQL tsvector indexes, migration
0002_recall), the per-user candidate sets for vector search, and the reads that turn ids into hits.

Every query is bounded by one user (and optionally one character), so its cost follows that user's
history, never the size of the tables.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import bindparam, select, text

from background_pipelines.store.schema import entities, facts, messages, relations, summaries

_CHUNK = 500


def owner_token(name: str) -> str:
    """The FTS5 token naming a row's owner: 'u' + hex(utf-8 name), as the 0002 triggers write it."""
    return "u" + name.encode("utf-8").hex()


def _fts5_query(owners: Sequence[str], terms: Sequence[str]) -> str:
    owner = " AND ".join(f'owner : "{owner_token(o)}"' for o in owners)
    words = " OR ".join('"' + t.replace('"', "") + '"' for t in terms)
    return f"{owner} AND text : ({words})"


def _pg_tsquery(terms: Sequence[str]) -> str:
    # terms are already \w+ words; `:*` is not used so ranking stays on whole (stemmed) words
    return " | ".join(terms)


def _at(dialect: str, at: datetime | None):
    """`at` bound as the column stores it: on SQLite, SQLAlchemy's DateTime string with microseconds. A raw
    datetime would bind as '... 09:00:00' and sort before the stored '... 09:00:00.000000', leaving out
    the rows of exactly that time that `<= at` includes (and PostgreSQL includes)."""
    if at is None or dialect != "sqlite":
        return at
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


def _chunks(items: Sequence, size: int = _CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]


# -- full-text search --------------------------------------------------------------------------


def _messages_sql(dialect: str, user, terms, character, at, limit, p: str = "m_") -> tuple[str, dict]:
    params: dict = {f"{p}n": limit, f"{p}at": _at(dialect, at), f"{p}c": character}
    extra = ""
    if at is not None:
        extra += f" AND m.created_at <= :{p}at"
    if character:
        extra += f" AND EXISTS (SELECT 1 FROM messages m2 WHERE m2.session = m.session AND m2.author = :{p}c)"
    if dialect == "sqlite":
        params[f"{p}q"] = _fts5_query([user], terms)
        sql = (
            "SELECT m.id, -bm25(messages_fts, 1.0, 0.0) AS s FROM messages_fts CROSS JOIN messages m ON m.id = messages_fts.rowid "
            f"WHERE messages_fts MATCH :{p}q{extra} ORDER BY s DESC LIMIT :{p}n"
        )
    else:
        params.update({f"{p}q": _pg_tsquery(terms), f"{p}u": user})
        sql = (
            f"SELECT m.id, ts_rank(m.tsv, q) AS s FROM messages m, to_tsquery('english', :{p}q) q "
            f"WHERE m.author = :{p}u AND m.tsv @@ q{extra} ORDER BY s DESC LIMIT :{p}n"
        )
    return sql, params


def _summaries_sql(dialect: str, user, terms, character, at, limit, p: str = "s_") -> tuple[str, dict]:
    params: dict = {f"{p}n": limit, f"{p}day": at.strftime("%Y-%m-%d") if at else None}
    extra = f" AND s.day <= :{p}day" if at is not None else ""
    if dialect == "sqlite":
        params[f"{p}q"] = _fts5_query([user, character] if character else [user], terms)
        sql = (
            "SELECT s.id, -bm25(summaries_fts, 1.0, 0.0) AS r FROM summaries_fts CROSS JOIN summaries s ON s.id = summaries_fts.rowid "
            f"WHERE summaries_fts MATCH :{p}q AND s.status = 'kept'{extra} ORDER BY r DESC LIMIT :{p}n"
        )
    else:
        params.update({f"{p}q": _pg_tsquery(terms), f"{p}u": user, f"{p}c": character})
        who = f"s.participants::jsonb ? :{p}u" + (f" AND s.participants::jsonb ? :{p}c" if character else "")
        sql = (
            f"SELECT s.id, ts_rank(to_tsvector('english', s.text), q) AS r FROM summaries s, to_tsquery('english', :{p}q) q "
            f"WHERE {who} AND s.status = 'kept' AND to_tsvector('english', s.text) @@ q{extra} ORDER BY r DESC LIMIT :{p}n"
        )
    return sql, params


def _facts_sql(dialect: str, user, terms, at, limit, p: str = "f_") -> tuple[str, dict]:
    params: dict = {f"{p}n": limit, f"{p}at": _at(dialect, at)}
    extra = f" AND f.valid_from <= :{p}at" if at is not None else ""
    if dialect == "sqlite":
        params[f"{p}q"] = _fts5_query([user], terms)
        sql = (
            "SELECT f.id, -bm25(facts_fts, 1.0, 0.0) AS s FROM facts_fts CROSS JOIN facts f ON f.id = facts_fts.rowid "
            f"WHERE facts_fts MATCH :{p}q{extra} ORDER BY s DESC LIMIT :{p}n"
        )
    else:
        params.update({f"{p}q": _pg_tsquery(terms), f"{p}u": user})
        doc = "to_tsvector('english', f.subject || ' ' || replace(f.predicate, '_', ' ') || ' ' || f.object)"
        sql = (
            f"SELECT f.id, ts_rank({doc}, q) AS s FROM facts f, to_tsquery('english', :{p}q) q "
            f"WHERE f.user_name = :{p}u AND {doc} @@ q{extra} ORDER BY s DESC LIMIT :{p}n"
        )
    return sql, params


def _run(conn, sql_params: tuple[str, dict]) -> list[tuple[int, float]]:
    sql, params = sql_params
    return [(int(i), float(s)) for i, s in conn.execute(text(sql), params)]


def search_messages(conn, user: str, terms: Sequence[str], *, character: str | None, at: datetime | None, limit: int) -> list[tuple[int, float]]:
    """(message id, score: higher is better) of `user`'s messages matching any of `terms`."""
    return _run(conn, _messages_sql(conn.dialect.name, user, terms, character, at, limit)) if terms else []


def search_summaries(conn, user: str, terms: Sequence[str], *, character: str | None, at: datetime | None, limit: int) -> list[tuple[int, float]]:
    """(summary id, score) of kept summaries `user` took part in (with `character`, if given)."""
    return _run(conn, _summaries_sql(conn.dialect.name, user, terms, character, at, limit)) if terms else []


def search_facts(conn, user: str, terms: Sequence[str], *, at: datetime | None, limit: int) -> list[tuple[int, float]]:
    """(fact id, score) of `user`'s facts whose subject, predicate or object match any of `terms`."""
    return _run(conn, _facts_sql(conn.dialect.name, user, terms, at, limit)) if terms else []


# -- the conversation: both speakers' turns in the channels the user took part in ----------------


def conversation_channels(conn, user: str, *, character: str | None, at: datetime | None) -> list[str]:
    """The channels `user` wrote in (by `at`), and where `character` spoke too when given: the
    conversations whose turns, both sides', recall may return. Another user's private channel is
    never among them, since `user` never wrote there."""
    sql = "SELECT DISTINCT channel FROM messages WHERE author = :u" + (" AND created_at <= :at" if at is not None else "")
    chans = sorted(r[0] for r in conn.execute(text(sql), {"u": user, "at": _at(conn.dialect.name, at)}))
    if not character or not chans:
        return chans
    stmt = text("SELECT DISTINCT channel FROM messages WHERE author = :c AND channel IN :chs").bindparams(bindparam("chs", expanding=True))
    out: set[str] = set()
    for chunk in _chunks(chans):
        out.update(r[0] for r in conn.execute(stmt, {"c": character, "chs": list(chunk)}))
    return sorted(out)


def _turn_filter(p: str, character: str | None, at: datetime | None, platform: str | None = None) -> str:
    # with a character, its conversation: every user's turns and that character's, no other character's
    extra = f" AND m.created_at <= :{p}at" if at is not None else ""
    # channel names are not unique across platforms ("general"): a conversation stays on its platform
    extra += f" AND m.platform = :{p}plat" if platform else ""
    return extra + (f" AND (m.author_kind = 'user' OR m.author = :{p}c)" if character else "")


def conv_token(channel: str) -> str:
    """The FTS5 token naming a message's channel: 'c' + hex(utf-8 name), as memory_turn_scope writes it."""
    return "c" + channel.encode("utf-8").hex()


def search_turns(conn, channels: Sequence[str], terms: Sequence[str], *, character: str | None, at: datetime | None,
                 limit: int, platform: str | None = None) -> list[tuple[int, float]]:
    """(message id, score: higher is better) of the turns in `channels` matching any of `terms`, by
    the database's ranking: SQLite FTS5 bm25 (porter stemming), PostgreSQL ts_rank_cd ('english')."""
    if not terms or not channels:
        return []
    params: dict = {"t_n": limit, "t_at": _at(conn.dialect.name, at), "t_c": character, "t_plat": platform}
    extra = _turn_filter("t_", character, at, platform)
    if conn.dialect.name == "sqlite":
        convs = " OR ".join(f'"{conv_token(c)}"' for c in channels)
        words = " OR ".join('"' + t.replace('"', "") + '"' for t in terms)
        params["t_q"] = f"conv : ({convs}) AND text : ({words})"
        sql = (
            "SELECT m.id, -bm25(messages_fts, 1.0, 0.0, 0.0) AS s FROM messages_fts CROSS JOIN messages m ON m.id = messages_fts.rowid "
            f"WHERE messages_fts MATCH :t_q{extra} ORDER BY s DESC LIMIT :t_n"
        )
        return [(int(i), float(s)) for i, s in conn.execute(text(sql), params).fetchall()]
    # m.tsv: the stored tsvector (migration memlat_messages_tsv), so ranking reads it instead of re-parsing every
    # match. The conversation's rows come first (MATERIALIZED): left to itself the planner ANDs the GIN bitmap of
    # every message in the table holding a common word (332k rows for 'job | coffee | garden' at 1M messages,
    # 222 ms) with the conversation's 10,000; read by channel and filtered, the cost follows the user's history.
    params.update({"t_q": _pg_tsquery(terms), "t_chs": list(channels)})
    sql = (
        f"WITH conv AS MATERIALIZED (SELECT m.id, m.tsv FROM messages m WHERE m.channel = ANY(:t_chs){extra}) "
        "SELECT conv.id, ts_rank_cd(conv.tsv, q) AS s FROM conv, to_tsquery('english', :t_q) q "
        "WHERE conv.tsv @@ q ORDER BY s DESC LIMIT :t_n"
    )
    return [(int(i), float(s)) for i, s in conn.execute(text(sql), params).fetchall()]


def turn_vectors(conn, channels: Sequence[str], model: str, *, character: str | None, at: datetime | None,
                 platform: str | None = None) -> list[tuple[int, bytes]]:
    """(message id, float32 bytes) of every turn in `channels` embedded with `model`."""
    if not channels:
        return []
    sql = (
        # CROSS JOIN: SQLite takes the conversation's rows first, then the vectors by primary key
        "SELECT m.id, e.vector FROM messages m CROSS JOIN embeddings e WHERE m.channel IN :chs "
        f"AND e.item_kind = 'message' AND e.item_id = m.id AND e.model = :m{_turn_filter('', character, at, platform)}"
    )
    stmt = text(sql).bindparams(bindparam("chs", expanding=True))
    rows = conn.execute(stmt, {"chs": list(channels), "m": model, "at": _at(conn.dialect.name, at), "c": character, "plat": platform}).fetchall()
    return [(int(i), bytes(v)) for i, v in rows]


# -- the turn-vector cache's reads (recall/vector_cache.py) -------------------------------------
# Id and channel lists are bound as one parameter (a JSON array on SQLite, an array on PostgreSQL):
# SQLAlchemy's expanding IN renders one bind per value, which cost more than the query at 1,000 ids.


def _in_list(conn, column: str, param: str) -> str:
    if conn.dialect.name == "sqlite":
        return f"{column} IN (SELECT value FROM json_each(:{param}))"
    return f"{column} = ANY(:{param})"


def _list_param(conn, values: Sequence) -> object:
    return json.dumps(list(values)) if conn.dialect.name == "sqlite" else list(values)


def channel_fingerprints(conn, channels: Sequence[str]) -> dict[str, tuple[int, int]]:
    """{channel: (messages in it, highest message id)} of `channels` that hold any message: a scan of
    ix_messages_channel_author that reads no row, so the vector cache notices new and deleted turns
    without reading them."""
    if not channels:
        return {}
    sql = f"SELECT channel, count(*), max(id) FROM messages WHERE {_in_list(conn, 'channel', 'chs')} GROUP BY channel"
    return {c: (int(n), int(hi)) for c, n, hi in conn.execute(text(sql), {"chs": _list_param(conn, channels)}).fetchall()}


TURN_COLUMNS = ("id", "channel", "author", "author_kind", "platform", "created_at", "vector")


def channel_turn_vectors(conn, channel: str, model: str, *, after_id: int = 0) -> list[tuple]:
    """Every turn of `channel` with id > `after_id` as TURN_COLUMNS, `vector` None where the turn has
    no vector of `model` yet (created_at as the driver returns it: a string on SQLite)."""
    sql = (
        "SELECT m.id, m.channel, m.author, m.author_kind, m.platform, m.created_at, e.vector FROM messages m "
        "LEFT JOIN embeddings e ON e.item_kind = 'message' AND e.item_id = m.id AND e.model = :m "
        "WHERE m.channel = :ch AND m.id > :after"
    )
    return conn.execute(text(sql), {"m": model, "ch": channel, "after": int(after_id)}).fetchall()


def turn_vectors_by_ids(conn, ids: Sequence[int], model: str) -> list[tuple]:
    """TURN_COLUMNS of the turns `ids` that have a vector of `model` (the others are left out)."""
    out: list[tuple] = []
    sql = text(
        "SELECT m.id, m.channel, m.author, m.author_kind, m.platform, m.created_at, e.vector FROM messages m "
        f"CROSS JOIN embeddings e WHERE {_in_list(conn, 'm.id', 'ids')} AND e.item_kind = 'message' AND e.item_id = m.id AND e.model = :m"
    )
    for chunk in _chunks(sorted({int(i) for i in ids}), 5 * _CHUNK):
        out.extend(conn.execute(sql, {"ids": _list_param(conn, chunk), "m": model}).fetchall())
    return out


def session_turns(conn, sessions: Iterable[str]) -> dict[str, list[int]]:
    """{session: its message ids in time order}: the turns next to a hit (a question and its answer)."""
    out: dict[str, list[tuple]] = {}
    stmt = text(f"SELECT id, session, created_at FROM messages WHERE {_in_list(conn, 'session', 'ss')}")
    for chunk in _chunks(sorted(set(sessions))):
        for i, s, c in conn.execute(stmt, {"ss": _list_param(conn, chunk)}).fetchall():
            out.setdefault(s, []).append((c, int(i)))
    return {s: [i for _, i in sorted(rows)] for s, rows in out.items()}


def search_facts_of(conn, owners: Sequence[str], terms: Sequence[str], *, at: datetime | None, limit: int) -> list[tuple[int, float]]:
    """search_facts over several owners' facts (the user's and the character's) in one statement, best first."""
    owners = list(dict.fromkeys(x for x in owners if x))
    if not terms or not owners:
        return []
    if len(owners) == 1:
        return search_facts(conn, owners[0], terms, at=at, limit=limit)
    params: dict = {"n": limit, "at": _at(conn.dialect.name, at)}
    extra = " AND f.valid_from <= :at" if at is not None else ""
    if conn.dialect.name == "sqlite":
        who = " OR ".join(f'"{owner_token(o)}"' for o in owners)
        words = " OR ".join('"' + t.replace('"', "") + '"' for t in terms)
        params["q"] = f"owner : ({who}) AND text : ({words})"
        sql = ("SELECT f.id, -bm25(facts_fts, 1.0, 0.0) AS s FROM facts_fts CROSS JOIN facts f ON f.id = facts_fts.rowid "
               f"WHERE facts_fts MATCH :q{extra} ORDER BY s DESC LIMIT :n")
        return [(int(i), float(s)) for i, s in conn.execute(text(sql), params)]
    params.update({"q": _pg_tsquery(terms), "us": owners})
    doc = "to_tsvector('english', f.subject || ' ' || replace(f.predicate, '_', ' ') || ' ' || f.object)"
    sql = (f"SELECT f.id, ts_rank({doc}, q) AS s FROM facts f, to_tsquery('english', :q) q "
           f"WHERE f.user_name IN :us AND {doc} @@ q{extra} ORDER BY s DESC LIMIT :n")
    return [(int(i), float(s)) for i, s in conn.execute(text(sql).bindparams(bindparam("us", expanding=True)), params)]


# -- the user's items (vector search candidates) -----------------------------------------------


def user_message_ids(conn, user: str, *, character: str | None, at: datetime | None) -> list[int]:
    sql = "SELECT m.id FROM messages m WHERE m.author = :u"
    if at is not None:
        sql += " AND m.created_at <= :at"
    if character:
        sql += " AND EXISTS (SELECT 1 FROM messages m2 WHERE m2.session = m.session AND m2.author = :c)"
    return [int(r[0]) for r in conn.execute(text(sql), {"u": user, "at": _at(conn.dialect.name, at), "c": character})]


def user_summary_ids(conn, user: str, *, character: str | None, at: datetime | None) -> list[int]:
    day = at.strftime("%Y-%m-%d") if at else None
    extra = " AND s.day <= :day" if at is not None else ""
    if conn.dialect.name == "sqlite":
        q = f'owner : "{owner_token(user)}"' + (f' AND owner : "{owner_token(character)}"' if character else "")
        sql = (
            "SELECT s.id FROM summaries_fts CROSS JOIN summaries s ON s.id = summaries_fts.rowid "
            f"WHERE summaries_fts MATCH :q AND s.status = 'kept'{extra}"
        )
        params = {"q": q, "day": day}
    else:
        who = "s.participants::jsonb ? :u" + (" AND s.participants::jsonb ? :c" if character else "")
        sql = f"SELECT s.id FROM summaries s WHERE {who} AND s.status = 'kept'{extra}"
        params = {"u": user, "c": character, "day": day}
    return [int(r[0]) for r in conn.execute(text(sql), params)]


def user_facts(conn, user: str, *, at: datetime | None) -> list[dict]:
    sql = "SELECT id, subject, predicate, object FROM facts WHERE user_name = :u"
    if at is not None:
        sql += " AND valid_from <= :at"
    return [dict(r._mapping) for r in conn.execute(text(sql), {"u": user, "at": _at(conn.dialect.name, at)})]


def user_vectors(conn, user: str, model: str, *, character: str | None, at: datetime | None,
                 messages: bool = True) -> list[tuple[str, int, bytes]]:
    """(kind, id, float32 bytes) of every vector of `user`'s messages, summaries and facts under `model`,
    in one statement (recall pays per round trip on PostgreSQL)."""
    d = conn.dialect.name
    params: dict = {"u": user, "m": model, "at": _at(d, at), "c": character, "day": at.strftime("%Y-%m-%d") if at else None}
    msg_extra = (" AND m.created_at <= :at" if at is not None else "") + (
        " AND EXISTS (SELECT 1 FROM messages m2 WHERE m2.session = m.session AND m2.author = :c)" if character else ""
    )
    if d == "sqlite":
        params["q"] = f'owner : "{owner_token(user)}"' + (f' AND owner : "{owner_token(character)}"' if character else "")
        who = "s.id IN (SELECT rowid FROM summaries_fts WHERE summaries_fts MATCH :q)"
    else:
        who = "s.participants::jsonb ? :u" + (" AND s.participants::jsonb ? :c" if character else "")
    sum_extra = " AND s.day <= :day" if at is not None else ""
    fact_extra = " AND f.valid_from <= :at" if at is not None else ""
    sql = (
        # CROSS JOIN: SQLite takes the user's rows first, then the vectors by primary key (never the reverse)
        ("SELECT 'message', e.item_id, e.vector FROM messages m CROSS JOIN embeddings e "
         f"WHERE e.item_kind = 'message' AND e.item_id = m.id AND m.author = :u AND e.model = :m{msg_extra} UNION ALL "
         if messages else "")
        + "SELECT 'summary', e.item_id, e.vector FROM summaries s CROSS JOIN embeddings e "
        + f"WHERE e.item_kind = 'summary' AND e.item_id = s.id AND {who} AND s.status = 'kept' AND e.model = :m{sum_extra} "
        "UNION ALL SELECT 'fact', e.item_id, e.vector FROM facts f CROSS JOIN embeddings e "
        f"WHERE e.item_kind = 'fact' AND e.item_id = f.id AND f.user_name = :u AND e.model = :m{fact_extra}"
    )
    return [(k, int(i), bytes(v)) for k, i, v in conn.execute(text(sql), params)]


def vectors(conn, item_kind: str, model: str, ids: Sequence[int]) -> list[tuple[int, bytes]]:
    """(item id, float32 bytes) of `ids` in the `item_kind` index, vectors of `model` only. A direct
    primary-key read: recall cannot afford the whole-index model check of load_embeddings per query."""
    out: list[tuple[int, bytes]] = []
    stmt = text(
        "SELECT item_id, vector FROM embeddings WHERE item_kind = :k AND model = :m AND item_id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    for chunk in _chunks(sorted(set(ids))):
        out.extend((int(i), bytes(v)) for i, v in conn.execute(stmt, {"k": item_kind, "m": model, "ids": list(chunk)}))
    return out


# -- reading hits (SQLAlchemy Core on the schema tables, so JSON and times come back typed) --------


def _by_ids(conn, table, columns, ids: Iterable[int]) -> dict[int, dict]:
    ids = sorted(set(int(i) for i in ids))
    out: dict[int, dict] = {}
    for chunk in _chunks(ids):
        for r in conn.execute(select(*[table.c[c] for c in columns]).where(table.c.id.in_(chunk))):
            out[int(r._mapping["id"])] = dict(r._mapping)
    return out


_MESSAGE_COLS = ("id", "author", "author_name", "author_kind", "channel", "session", "text", "created_at")


def messages_by_ids(conn, ids: Iterable[int]) -> dict[int, dict]:
    """{id: the message's _MESSAGE_COLS} of those of `ids` that exist. Raw SQL with the ids bound as
    one list: recall reads ~1,000 candidate turns per question, and Core's per-id binds and row
    mappings cost more than the read."""
    ids = sorted({int(i) for i in ids})
    out: dict[int, dict] = {}
    sql = text(f"SELECT {', '.join(_MESSAGE_COLS)} FROM messages WHERE {_in_list(conn, 'id', 'ids')}")
    parse = datetime.fromisoformat if conn.dialect.name == "sqlite" else None  # SQLite returns the stored string
    for chunk in _chunks(ids, 5 * _CHUNK):
        for r in conn.execute(sql, {"ids": _list_param(conn, chunk)}).fetchall():
            row = dict(zip(_MESSAGE_COLS, r))
            if parse is not None and isinstance(row["created_at"], str):
                row["created_at"] = parse(row["created_at"])
            out[int(r[0])] = row
    return out


def summaries_by_ids(conn, ids: Iterable[int]) -> dict[int, dict]:
    return _by_ids(conn, summaries, ("id", "session", "day", "text", "message_ids", "participants", "created_at"), ids)


def facts_by_ids(conn, ids: Iterable[int]) -> dict[int, dict]:
    cols = ("id", "user_name", "kind", "subject", "predicate", "object", "confidence", "valid_from",
            "source_message_ids", "run_id", "version", "created_at", "event_start", "event_end", "ended")
    return _by_ids(conn, facts, cols, ids)


# -- the graph ---------------------------------------------------------------------------------

_ENTITY_COLS = ("id", "name", "norm", "type")


def entities_by_norms(conn, norms: Sequence[str]) -> dict[int, dict]:
    """Entities whose normalised name is one of `norms`."""
    out: dict[int, dict] = {}
    for chunk in _chunks(sorted(set(norms))):
        for r in conn.execute(select(*[entities.c[c] for c in _ENTITY_COLS]).where(entities.c.norm.in_(chunk))):
            out[int(r[0])] = dict(r._mapping)
    return out


def entities_by_ids(conn, ids: Iterable[int]) -> dict[int, dict]:
    return _by_ids(conn, entities, _ENTITY_COLS, ids)


def relations_touching(conn, entity_ids: Iterable[int]) -> list[dict]:
    """Every relation (current or not) with an end in `entity_ids`; validity is the caller's filter."""
    ids = sorted(set(int(i) for i in entity_ids))
    seen: dict[int, dict] = {}
    for side in (relations.c.src_id, relations.c.dst_id):
        for chunk in _chunks(ids):
            for r in conn.execute(select(relations).where(side.in_(chunk))):
                seen[int(r.id)] = dict(r._mapping)
    return list(seen.values())


def user_graph(conn, norm: str) -> tuple[int | None, list[dict], dict[int, dict]]:
    """(id of the entity `norm`, every relation touching it, the entities at their ends) in one statement."""
    src, dst, me = entities.alias("src"), entities.alias("dst"), entities.alias("me")
    q = (
        select(me.c.id.label("me_id"), relations, src.c.name.label("src_name"), src.c.type.label("src_type"),
               dst.c.name.label("dst_name"), dst.c.type.label("dst_type"))
        .select_from(me.outerjoin(relations, (relations.c.src_id == me.c.id) | (relations.c.dst_id == me.c.id))
                     .outerjoin(src, src.c.id == relations.c.src_id).outerjoin(dst, dst.c.id == relations.c.dst_id))
        .where(me.c.norm == norm)
    )
    uid, rels, ents = None, [], {}
    for r in conn.execute(q):
        m = dict(r._mapping)
        uid = int(m.pop("me_id"))
        if m["id"] is None:
            continue
        for end in ("src", "dst"):
            ents[m[f"{end}_id"]] = {"id": m[f"{end}_id"], "name": m.pop(f"{end}_name"), "type": m.pop(f"{end}_type")}
        rels.append(m)
    if uid is not None and uid not in ents:
        ents.update(entities_by_ids(conn, [uid]))
    return uid, rels, ents


def relations_from(conn, entity_ids: Iterable[int], limit: int) -> list[dict]:
    """Relations whose source is one of `entity_ids` (at most `limit`, most recently seen first)."""
    ids = sorted(set(int(i) for i in entity_ids))
    if not ids:
        return []
    q = select(relations).where(relations.c.src_id.in_(ids[:_CHUNK])).order_by(relations.c.last_seen.desc()).limit(limit)
    return [dict(r._mapping) for r in conn.execute(q)]


# -- upkeep ------------------------------------------------------------------------------------

FTS_TABLES = ("messages_fts", "summaries_fts", "facts_fts")


def optimize(conn) -> None:
    """Merge the FTS5 segments so tokens of deleted rows leave the index (SQLite; PostgreSQL's
    expression indexes drop dead entries at VACUUM)."""
    if conn.dialect.name != "sqlite":
        return
    for fts in FTS_TABLES:
        conn.exec_driver_sql(f"INSERT INTO {fts}({fts}) VALUES ('optimize')")


def fts_row_counts(conn) -> dict[str, int]:
    """Rows indexed per FTS5 table (SQLite), for checks that the triggers kept them in sync."""
    if conn.dialect.name != "sqlite":
        return {}
    return {fts: int(conn.exec_driver_sql(f"SELECT count(*) FROM {fts}_docsize").scalar_one()) for fts in FTS_TABLES}
