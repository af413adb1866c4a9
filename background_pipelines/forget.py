"""Cascading forget: remove a user's (or some messages') rows and everything derived from them, in
every table, through a registry of per-table rules that any module can extend; log what was
forgotten (hashed) so it can be re-applied after a backup is restored.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from sqlalchemy import Table, delete, func, or_, select, update

from background_pipelines.store import search_index
from background_pipelines.store import users as users_store
from background_pipelines.store.engine import Store
from background_pipelines.store.ledger import utcnow
from background_pipelines.store.schema import (
    embeddings,
    entities,
    facts,
    forget_log,
    ledger,
    llm_cache,
    messages,
    metadata,
    relations,
    summaries,
    user_links,
    user_names,
    users,
)
from background_pipelines.users.identity import UserError, entity_norm, resolve_user

_CHUNK = 500
DELETE, TRIM, SCRUB, REDERIVE = "delete", "trim", "scrub", "rederive"


class ForgetError(ValueError):
    """What to forget is malformed or unknown; the message names it."""


@dataclass
class Scope:
    """What is being forgotten, and what the rules have removed so far (later rules read it)."""

    users: list[str]  # user keys ("platform:id")
    message_ids: set[int]
    sessions: set[str] = field(default_factory=set)
    days: set[str] = field(default_factory=set)
    texts: list[str] = field(default_factory=list)  # the forgotten texts, in memory only (cache scan)
    removed: dict[str, set[int]] = field(default_factory=dict)  # table -> ids deleted
    removed_texts: list[str] = field(default_factory=list)  # texts of deleted derived rows (cache scan)
    rederive: set[tuple[str, str, str]] = field(default_factory=set)  # (table, day, character or "") to redo
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> {action: rows}
    names: list[str] = field(default_factory=list)  # the users' display names, in memory only (cache scan)

    def count(self, table: str, action: str, n: int) -> None:
        if n:
            bucket = self.counts.setdefault(table, {})
            bucket[action] = bucket.get(action, 0) + n

    def gone(self, table: str) -> set[int]:
        return self.removed.setdefault(table, set())


@dataclass(frozen=True)
class Rule:
    table: str
    apply: Callable[[object, Scope], None]  # (connection, scope): delete/trim/scrub, recording counts
    note: str
    order: int = 50


RULES: dict[str, Rule] = {}
EXEMPT: dict[str, str] = {}
# embeddings.item_kind -> the table whose removed ids drop those vectors
EMBEDDING_KINDS: dict[str, str] = {"message": "messages", "summary": "summaries", "fact": "facts", "entity": "entities", "relation": "relations"}


def register(table: str, apply: Callable[[object, Scope], None], note: str, order: int = 50) -> None:
    """Declare how forgetting reaches `table` (a store module calls this for the tables it owns)."""
    RULES[table] = Rule(table, apply, note, order)


def exempt(table: str, why: str) -> None:
    """Declare that `table` can hold nothing of a user (say why: it is checked in review)."""
    EXEMPT[table] = why


# -- helpers shared by rules -------------------------------------------------------------------


def _chunks(items, size: int = _CHUNK):
    items = list(items)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _ids(value) -> list[int]:
    if value is None:
        return []
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return [int(v) for v in value]


def _names(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = json.loads(value or "[]")
    return [str(v) for v in value]


def _delete_ids(conn, table: Table, ids: Iterable[int]) -> int:
    n = 0
    for chunk in _chunks(sorted(set(ids))):
        n += conn.execute(delete(table).where(table.c.id.in_(chunk))).rowcount or 0
    return n


def _mentions(names: Iterable[str]) -> re.Pattern | None:
    names = [n for n in names if n]
    if not names:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in names) + r")(?!\w)", re.IGNORECASE)


def _user_entity_ids(conn, keys: list[str]) -> set[int]:
    """The graph entities of the accounts: keyed by the user key, never by a name others may share."""
    if not keys:
        return set()
    q = select(entities.c.id).where(entities.c.norm.in_(sorted({entity_norm(k) for k in keys})))
    return {int(r[0]) for r in conn.execute(q)}


# -- rules for the tables of migration 0001 ----------------------------------------------------


def _facts(conn, scope: Scope) -> None:
    gone = scope.gone("facts")
    if scope.users:
        rows = conn.execute(select(facts.c.id, facts.c.object).where(facts.c.user_name.in_(scope.users))).all()
        gone.update(int(r[0]) for r in rows)
    # facts of anyone citing a forgotten message: trimmed, or deleted when no source is left
    for fid, src, obj in conn.execute(select(facts.c.id, facts.c.source_message_ids, facts.c.object)).all():
        ids = _ids(src)
        if fid in gone or not scope.message_ids.intersection(ids):
            continue
        left = [i for i in ids if i not in scope.message_ids]
        if left:
            conn.execute(update(facts).where(facts.c.id == fid).values(source_message_ids=left))
            scope.count("facts", TRIM, 1)
        else:
            gone.add(int(fid))
    scope.count("facts", DELETE, _delete_ids(conn, facts, gone))


def _summaries(conn, scope: Scope) -> None:
    gone = scope.gone("summaries")
    for sid, session, day, mids, who, text in conn.execute(
        select(summaries.c.id, summaries.c.session, summaries.c.day, summaries.c.message_ids, summaries.c.participants, summaries.c.text)
    ).all():
        if scope.message_ids.intersection(_ids(mids)) or set(scope.users).intersection(_names(who)):
            gone.add(int(sid))
            scope.sessions.add(session)
            scope.rederive.add(("summaries", day, ""))
            scope.removed_texts.append(text)
    # the session's remaining messages are summarised again on the next run of its day (ledger cleared)
    scope.count("summaries", DELETE, _delete_ids(conn, summaries, gone))


def _relations(conn, scope: Scope) -> None:
    gone = scope.gone("relations")
    touched = scope.gone("entities_touched")
    user_ents = _user_entity_ids(conn, scope.users)
    scope.gone("user_entities").update(user_ents)
    removed_facts = scope.gone("facts")
    for rid, src_id, dst_id, mids, fids in conn.execute(
        select(relations.c.id, relations.c.src_id, relations.c.dst_id, relations.c.source_message_ids, relations.c.source_fact_ids)
    ).all():
        if src_id in user_ents or dst_id in user_ents:
            gone.add(int(rid))
            touched.update((src_id, dst_id))
            continue
        m, f = _ids(mids), _ids(fids)
        cut_m = [i for i in m if i in scope.message_ids]
        cut_f = [i for i in f if i in removed_facts]
        if not cut_m and not cut_f:
            continue
        left_m = [i for i in m if i not in scope.message_ids]
        left_f = [i for i in f if i not in removed_facts]
        if left_m or left_f:
            conn.execute(update(relations).where(relations.c.id == rid).values(source_message_ids=left_m, source_fact_ids=left_f))
            scope.count("relations", TRIM, 1)
        else:
            gone.add(int(rid))
            touched.update((src_id, dst_id))
    scope.count("relations", DELETE, _delete_ids(conn, relations, gone))


def _entities(conn, scope: Scope) -> None:
    gone = scope.gone("entities")
    gone.update(scope.gone("user_entities"))
    candidates = sorted(scope.gone("entities_touched") - gone)
    for chunk in _chunks(candidates):
        used = set()
        for col in (relations.c.src_id, relations.c.dst_id):
            used.update(int(r[0]) for r in conn.execute(select(col).where(col.in_(chunk)).distinct()))
        gone.update(i for i in chunk if i not in used)  # orphaned by this forget: nothing else names them
    scope.count("entities", DELETE, _delete_ids(conn, entities, gone))


def _embeddings(conn, scope: Scope) -> None:
    unknown = sorted(set(conn.execute(select(embeddings.c.item_kind).distinct()).scalars()) - set(EMBEDDING_KINDS))
    if unknown:  # vectors of items we cannot trace: refuse rather than leave them behind silently
        raise ForgetError(
            f"forget: the embeddings table holds item kinds {unknown} that no table is registered for; "
            "add them to forget.EMBEDDING_KINDS (item_kind -> table) in the module that writes them"
        )
    for kind, table in EMBEDDING_KINDS.items():
        ids = scope.message_ids if table == "messages" else scope.gone(table)
        for chunk in _chunks(sorted(ids)):
            n = conn.execute(delete(embeddings).where(embeddings.c.item_kind == kind, embeddings.c.item_id.in_(chunk))).rowcount
            scope.count("embeddings", DELETE, n or 0)


def _ledger(conn, scope: Scope) -> None:
    """Forget what the stages did to the items (so nothing names them) and clear the sessions and days
    whose derived rows were deleted, so the next run of their partition re-derives them."""
    keys = {str(i) for i in scope.message_ids} | {f"message:{i}" for i in scope.message_ids}
    for table, ids in scope.removed.items():
        kind = {"facts": "fact", "summaries": "summary", "entities": "entity", "relations": "relation"}.get(table, table)
        keys |= {f"{kind}:{i}" for i in ids}
    doomed: set[tuple[str, str]] = set()
    for chunk in _chunks(sorted(keys)):
        doomed.update((s, i) for s, i in conn.execute(select(ledger.c.stage, ledger.c.item).where(ledger.c.item.in_(chunk))))
    for session in sorted(scope.sessions):
        q = select(ledger.c.stage, ledger.c.item).where(or_(ledger.c.item == session, ledger.c.item.like(f"{_like(session)}@%", escape="\\")))
        doomed.update(conn.execute(q).all())
    pattern = _mentions(scope.users)
    for name in scope.users:
        q = select(ledger.c.stage, ledger.c.item, ledger.c.error).where(
            or_(ledger.c.item.like(f"%{_like(name)}%", escape="\\"), ledger.c.error.like(f"%{_like(name)}%", escape="\\"))
        )
        doomed.update((s, i) for s, i, e in conn.execute(q) if pattern.search(i) or (e and pattern.search(e)))
    for table, day, character in sorted(scope.rederive):
        if table == "summaries":
            continue  # cleared above through the session items
        # the item naming that day (and that character, for per-character rows such as diaries)
        q = select(ledger.c.stage, ledger.c.item).where(ledger.c.item.like(f"%{_like(day)}%", escape="\\"))
        if character:
            q = q.where(ledger.c.item.like(f"%{_like(character)}%", escape="\\"))
        doomed.update(conn.execute(q).all())
    n = 0
    for stage, item in sorted(doomed):
        n += conn.execute(delete(ledger).where(ledger.c.stage == stage, ledger.c.item == item)).rowcount or 0
    scope.count("processing_ledger", DELETE, n)


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _llm_cache(conn, scope: Scope) -> None:
    """The cache keeps only a hash of each prompt and the answer, so entries are found by content: an
    answer naming the user or quoting a forgotten message or a deleted summary is deleted."""
    needles = [t for t in scope.texts + scope.removed_texts if len(t.strip()) >= 12]
    needles = sorted({v for t in needles for v in (t.strip(), json.dumps(t.strip())[1:-1], t.strip()[:80])}, key=len)
    names = _mentions(scope.users + [n for n in scope.names if len(n) >= 3])
    doomed = []
    for key, response in conn.execute(select(llm_cache.c.key, llm_cache.c.response)):
        if (names and names.search(response)) or any(n in response for n in needles):
            doomed.append(key)
    n = 0
    for chunk in _chunks(doomed):
        n += conn.execute(delete(llm_cache).where(llm_cache.c.key.in_(chunk))).rowcount or 0
    scope.count("llm_cache", DELETE, n)


def _by_message_id(table_name: str, column: str) -> Callable:
    def apply(conn, scope: Scope) -> None:
        table = metadata.tables[table_name]
        n = 0
        for chunk in _chunks(sorted(scope.message_ids)):
            n += conn.execute(delete(table).where(table.c[column].in_(chunk))).rowcount or 0
        scope.count(table_name, DELETE, n)

    return apply


def _by_user(table_name: str, column: str) -> Callable:
    def apply(conn, scope: Scope) -> None:
        table = metadata.tables[table_name]
        if scope.users:
            scope.count(table_name, DELETE, conn.execute(delete(table).where(table.c[column].in_(scope.users))).rowcount or 0)

    return apply


def _messages(conn, scope: Scope) -> None:
    scope.count("messages", DELETE, _delete_ids(conn, messages, scope.message_ids))


def _users(conn, scope: Scope) -> None:
    if scope.users:
        scope.count("users", DELETE, conn.execute(delete(users).where(users.c.name.in_(scope.users))).rowcount or 0)


def _user_names(conn, scope: Scope) -> None:
    if scope.users:
        n = conn.execute(delete(user_names).where(user_names.c.user_key.in_(scope.users))).rowcount or 0
        scope.count("user_names", DELETE, n)


def _user_links(conn, scope: Scope) -> None:
    """The link audit of a forgotten account goes with it; accounts still linked to it are detached."""
    if scope.users:
        n = conn.execute(delete(user_links).where(or_(user_links.c.user_key.in_(scope.users), user_links.c.other_key.in_(scope.users)))).rowcount or 0
        scope.count("user_links", DELETE, n)
        left = conn.execute(select(users.c.name, users.c.person).where(users.c.person.in_(scope.users), users.c.name.notin_(scope.users))).all()
        for person in sorted({p for _, p in left}):
            rest = sorted(k for k, p in left if p == person)
            users_store.set_person(conn, rest, rest[0])
            scope.count("users", "relink", len(rest))


def _entity_merges(conn, scope: Scope) -> None:
    """Merge audits whose before-images hold a removed entity, name the user, or hold relations citing
    forgotten messages or facts (or removed by this forget): an unmerge would restore them."""
    table = metadata.tables["entity_merges"]
    gone_ents = scope.gone("entities")
    pattern = _mentions(scope.users)
    doomed = []
    for r in conn.execute(select(table.c.id, table.c.survivor_id, table.c.merged_id, table.c.merged_name, table.c.survivor_name, table.c.snapshot)):
        text = json.dumps(r.snapshot, default=str) + " " + r.merged_name + " " + r.survivor_name
        rels = (r.snapshot or {}).get("relations_before", [])  # unmerge would restore these rows as they were
        cites = any(
            set(_ids(rel.get("source_message_ids"))) & scope.message_ids or set(_ids(rel.get("source_fact_ids"))) & scope.gone("facts")
            or rel.get("id") in scope.gone("relations") for rel in rels
        )
        if cites or r.survivor_id in gone_ents or r.merged_id in gone_ents or (pattern and pattern.search(text)) or any(t in text for t in scope.texts if len(t) >= 12):
            doomed.append(r.id)
    scope.count("entity_merges", DELETE, _delete_ids(conn, table, doomed))


# -- the convention: derived tables that cite their sources are covered without registering ------

_SOURCE_LISTS = {"source_message_ids": "messages", "message_ids": "messages", "source_summary_ids": "summaries", "source_fact_ids": "facts"}
_SOURCE_IDS = {"message_id": "messages", "source_message_id": "messages"}
_USER_COLS = {"user_name": "one", "users": "list", "participants": "list"}


def convention_columns(table: Table) -> list[str]:
    """The provenance columns of `table` the generic rule understands (empty: it needs a rule)."""
    return [c for c in table.c.keys() if c in _SOURCE_LISTS or c in _SOURCE_IDS or c in _USER_COLS]


def _by_convention(table_name: str) -> Callable:
    """Delete rows citing a forgotten message or a deleted summary/fact, or naming a forgotten user;
    mark their (character, day) for re-derivation."""

    def apply(conn, scope: Scope) -> None:
        table = metadata.tables[table_name]
        cols = convention_columns(table)
        extra = [c for c in ("id", "day", "character", "text") if c in table.c]
        doomed: list[dict] = []
        for r in conn.execute(select(*[table.c[c] for c in dict.fromkeys(cols + extra)])):
            row = r._mapping
            hit = False
            for c in cols:
                if c in _SOURCE_LISTS:
                    ref = scope.message_ids if _SOURCE_LISTS[c] == "messages" else scope.gone(_SOURCE_LISTS[c])
                    hit = hit or bool(ref.intersection(_ids(row[c])))
                elif c in _SOURCE_IDS:
                    hit = hit or (row[c] in scope.message_ids)
                elif _USER_COLS[c] == "one":
                    hit = hit or (row[c] in scope.users)
                else:
                    hit = hit or bool(set(scope.users).intersection(_names(row[c])))
            if hit:
                doomed.append(dict(row))
        if not doomed:
            return
        if "id" not in table.c:
            raise ForgetError(f"forget: table {table_name!r} has no id column; register a rule for it (forget.register)")
        for row in doomed:
            if row.get("day"):
                scope.rederive.add((table_name, row["day"], row.get("character") or ""))
            if row.get("text"):
                scope.removed_texts.append(row["text"])
        scope.gone(table_name).update(int(r["id"]) for r in doomed)
        scope.count(table_name, DELETE, _delete_ids(conn, table, [r["id"] for r in doomed]))

    return apply


def _lore_sources(conn, scope: Scope) -> None:
    """Provenance rows of lore facts this forget deleted (lore/: document offsets, no user text)."""
    table = metadata.tables["lore_fact_sources"]
    n = sum(conn.execute(delete(table).where(table.c.fact_id.in_(chunk))).rowcount or 0 for chunk in _chunks(sorted(scope.gone("facts"))))
    scope.count("lore_fact_sources", DELETE, n)


def _hub_organisations(conn, scope: Scope) -> None:
    """Organisations of a hub this forget deleted, or named after a forgotten user (hubs.py)."""
    table = metadata.tables["hub_organisations"]
    gone, pattern = scope.gone("entities"), _mentions(scope.users)
    doomed = [r.id for r in conn.execute(select(table.c.id, table.c.hub_id, table.c.hub_name))
              if r.hub_id in gone or (pattern and pattern.search(r.hub_name))]
    scope.count("hub_organisations", DELETE, _delete_ids(conn, table, doomed))


register("facts", _facts, "user's facts deleted; others citing forgotten messages trimmed (deleted if none left)", order=10)
register("summaries", _summaries, "summaries that drew on the messages or the user deleted; their sessions re-derived", order=15)
register("relations", _relations, "relations touching the user's entity deleted; others trimmed (deleted if no source left)", order=20)
register("entities", _entities, "the user's entity and entities orphaned by this forget deleted", order=25)
register("entity_merges", _entity_merges, "merge audits holding a removed entity or the user's name deleted", order=30)
register("embeddings", _embeddings, "vectors of removed messages, summaries, facts, entities, relations deleted", order=60)
register("message_scores", _by_message_id("message_scores", "message_id"), "scores of the messages deleted", order=60)
register("pins", _by_message_id("pins", "message_id"), "pins of the messages deleted", order=60)
register("relationship_scores", _by_user("relationship_scores", "user_name"), "the user's scores deleted (message-level forgets re-derive: the ledger item holds the day's count)", order=60)
register("processing_ledger", _ledger, "rows naming the items, sessions or user deleted (re-derivation on the next run)", order=70)
register("llm_cache", _llm_cache, "answers naming the user or quoting removed texts deleted", order=80)
register("users", _users, "the user's row deleted", order=90)
register("user_names", _user_names, "the display names the user posted under deleted", order=90)
register("user_links", _user_links, "link/unlink audit rows naming the user deleted; accounts linked to it re-anchored", order=85)
register("messages", _messages, "the messages deleted (FTS triggers drop them from the index)", order=95)
exempt("characters", "personas written by operators, not derived from users' messages")
exempt("llm_usage", "token and cost totals per day, task and model: counts only")
exempt("backups", "a catalogue of backup files (path, size, checksum); the files are not rewritten, see forget_log")
register("hub_organisations", _hub_organisations, "organisations of deleted hub entities or naming the user deleted", order=35)
register("lore_fact_sources", _lore_sources, "provenance rows of deleted facts deleted", order=12)
exempt("lore_documents", "character background documents written by operators (`bgp lore add`), not derived from users' messages")
exempt("classification_experiments", "experiment parameters, counts and accuracy over an operator's labelled file")
exempt("classification_results", "lines of an operator-supplied labelled file (not messages of the store) and their predictions")
exempt("analysis_runs", "a run's window, filter settings, counts and failure reason; proposals are covered by their source_message_ids")
exempt("forget_log", "hashes of forgotten keys and row counts, never names or text")


def coverage(md=None) -> dict[str, str]:
    """{table: 'rule' | 'exempt' | 'convention' | 'MISSING'} for every table of `md` (schema.metadata)."""
    out = {}
    for name, table in (md or metadata).tables.items():
        if name in RULES:
            out[name] = "rule"
        elif name in EXEMPT:
            out[name] = "exempt"
        elif convention_columns(table):
            out[name] = "convention"
        else:
            out[name] = "MISSING"
    return out


def _rules() -> list[Rule]:
    missing = [t for t, how in coverage().items() if how == "MISSING"]
    if missing:
        raise ForgetError(
            f"forget: no rule covers table(s) {missing}; register one (forget.register) or declare them exempt "
            "(forget.exempt), or give them provenance columns (source_message_ids, user_name, ...)"
        )
    rules = list(RULES.values()) + [
        Rule(name, _by_convention(name), "convention: rows citing forgotten items or naming the user deleted", 40)
        for name, how in coverage().items()
        if how == "convention"
    ]
    return sorted(rules, key=lambda r: (r.order, r.table))


# -- the scope ---------------------------------------------------------------------------------


def _scope(conn, users_: list[str], message_ids: list[int]) -> Scope:
    for name in users_:
        if not isinstance(name, str) or not name.strip():
            raise ForgetError(f"forget: user {name!r} is not a user name")
    known = set(conn.execute(select(users.c.name).where(users.c.name.in_(users_))).scalars()) | set(
        conn.execute(select(messages.c.author).where(messages.c.author.in_(users_), messages.c.author_kind == "user").distinct()).scalars()
    )
    unknown = [u for u in users_ if u not in known]
    if unknown:
        raise ForgetError(f"forget: unknown user(s) {unknown}: no users row and no message authored by them")
    ids: set[int] = set()
    for name in users_:
        own = conn.execute(select(messages.c.id, messages.c.session).where(messages.c.author == name)).all()
        ids.update(int(i) for i, _ in own)
        # the character's side of conversations with only this user is theirs too
        for session in sorted({s for _, s in own}):
            humans = set(
                conn.execute(select(messages.c.author).where(messages.c.session == session, messages.c.author_kind == "user").distinct()).scalars()
            )
            if humans == {name}:
                ids.update(int(i) for i in conn.execute(select(messages.c.id).where(messages.c.session == session)).scalars())
    asked = {int(i) for i in message_ids}
    found = set()
    for chunk in _chunks(sorted(asked)):
        found.update(int(i) for i in conn.execute(select(messages.c.id).where(messages.c.id.in_(chunk))).scalars())
    if asked - found:
        raise ForgetError(f"forget: unknown message id(s) {sorted(asked - found)[:20]}")
    ids |= asked
    scope = Scope(users=list(users_), message_ids=ids)
    names = users_store.names_of(conn, users_)
    scope.names = sorted({n for ns in names.values() for n in ns})
    for chunk in _chunks(sorted(ids)):
        for session, day, text in conn.execute(select(messages.c.session, messages.c.day, messages.c.text).where(messages.c.id.in_(chunk))):
            scope.sessions.add(session)
            scope.days.add(day)
            scope.texts.append(text)
    return scope


def _resolve(store: Store, refs: list) -> list[str]:
    """User keys of every person named (all their linked accounts); an unknown or ambiguous name is a
    ForgetError listing the candidates, before anything is touched."""
    keys: list[str] = []
    for ref in refs:
        if not isinstance(ref, str) or not ref.strip():
            raise ForgetError(f"forget: user {ref!r} is not a user name")
        try:
            keys += resolve_user(store, ref).keys
        except UserError as exc:
            raise ForgetError(f"forget: {exc}") from None
    return list(dict.fromkeys(keys))


# -- the log (hashed keys, in the store and in a file outside it) --------------------------------


def key_hash(kind: str, value: str) -> str:
    """sha256 of a forgotten key: enough to recognise it after a restore, not to read it back."""
    return hashlib.sha256(f"bgp-forget-v1\0{kind}\0{value}".encode("utf-8")).hexdigest()


def _message_keys(conn, ids: Iterable[int]) -> list[str]:
    keys = []
    for chunk in _chunks(sorted(ids)):
        keys += [f"{p}:{x}" for p, x in conn.execute(select(messages.c.platform, messages.c.external_id).where(messages.c.id.in_(chunk)))]
    return keys


@dataclass
class ForgetReport:
    users: list[str]
    message_count: int
    counts: dict[str, dict[str, int]]
    dry_run: bool
    log_entries: int = 0

    @property
    def total(self) -> int:
        return sum(n for per in self.counts.values() for n in per.values())

    def table(self) -> str:
        lines = [f"{'table':<24} {'action':<8} {'rows':>7}"]
        for t in sorted(self.counts):
            for action, n in sorted(self.counts[t].items()):
                lines.append(f"{t:<24} {action:<8} {n:>7}")
        return "\n".join(lines)


def forgotten_material(store: Store, *, user: str | None = None, message_ids: Sequence[int] = ()) -> tuple[list[str], list[str]]:
    """(names, texts) a forget of `user` / `message_ids` removes from the store, read before it runs: what
    to redact from places outside the store (Dagster's event log and compute logs). Names of a user
    are the author name and the display name; texts are the messages' texts."""
    names: set[str] = set()
    texts: list[str] = []
    keys = _resolve(store, [user]) if user else []  # every linked account; unknown/ambiguous: ForgetError
    with store.connect() as conn:
        q = select(messages.c.author, messages.c.text)
        conds = []
        if keys:
            conds.append(messages.c.author.in_(keys))
            names.update(keys)
            names.update(n for ns in users_store.names_of(conn, keys).values() for n in ns if n)
            names.update(n for (n,) in conn.execute(select(users.c.display_name).where(users.c.name.in_(keys))) if n)
        if message_ids:
            conds.append(messages.c.id.in_([int(i) for i in message_ids]))
        if conds:
            for _author, text in conn.execute(q.where(or_(*conds))):
                texts.append(text)
    return sorted(names), texts


def log_path(home: Path) -> Path:
    return Path(home) / "forget_log.jsonl"


def forget(
    store: Store,
    *,
    user: str | list[str] | None = None,
    message_ids: Iterable[int] = (),
    dry_run: bool = False,
    home: Path | None = None,
    _log: bool = True,
    _resolve_users: bool = True,
) -> ForgetReport:
    """Forget `user` (a user key, platform id or unambiguous name; every account linked to it too:
    their messages, the character's side of their one-to-one sessions and all that
    was derived) and/or `message_ids`. One transaction; a dry run rolls it back and reports the same
    counts. The forget_log (and `home`/forget_log.jsonl, outside the store) records hashed keys."""
    refs = [user] if isinstance(user, str) else list(user or [])
    message_ids = list(message_ids)
    if not refs and not message_ids:
        raise ForgetError("forget: name a user or at least one message id")
    users_ = _resolve(store, refs) if _resolve_users else refs
    with store.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA secure_delete = ON")  # overwrite deleted content in the file
            conn.commit()
        trans = conn.begin()
        try:
            scope = _scope(conn, users_, message_ids)
            explicit = sorted(set(int(i) for i in message_ids))
            msg_keys = _message_keys(conn, explicit)
            for rule in _rules():
                rule.apply(conn, scope)
            entries = [("user", key_hash("user", u)) for u in users_] + [("message", key_hash("message", k)) for k in msg_keys]
            counts = {t: sum(v.values()) for t, v in scope.counts.items()}
            if _log and entries:
                now = utcnow()
                for kind, h in entries:
                    if conn.execute(select(func.count()).select_from(forget_log).where(forget_log.c.kind == kind, forget_log.c.key_hash == h)).scalar_one() == 0:
                        conn.execute(forget_log.insert().values(kind=kind, key_hash=h, rows=counts, created_at=now))
        except BaseException:
            trans.rollback()
            raise
        if dry_run:
            trans.rollback()
        else:
            trans.commit()
    report = ForgetReport(users_, len(scope.message_ids), scope.counts, dry_run, len(entries) if _log else 0)
    if dry_run:
        return report
    _after(store, scope)
    if _log and home is not None and entries:
        path = log_path(home)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            for kind, h in entries:
                fh.write(json.dumps({"kind": kind, "key_hash": h, "at": utcnow().isoformat()}) + "\n")
    return report


def _after(store: Store, scope: Scope) -> None:
    """Make the removal physical: merge FTS segments, checkpoint the WAL (SQLite); VACUUM (PostgreSQL)."""
    if store.dialect == "sqlite":
        with store.begin() as conn:
            search_index.optimize(conn)
        with store.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in sorted(scope.counts):
            if table in metadata.tables:
                conn.exec_driver_sql(f'VACUUM "{table}"')


def _record_keys(store: Store, keys: Iterable[tuple[str, str]]) -> int:
    """Insert the (kind, key_hash) pairs the store's forget_log lacks; returns how many."""
    with store.begin() as conn:
        held = {(k, h) for k, h in conn.execute(select(forget_log.c.kind, forget_log.c.key_hash))}
        new = sorted(set(keys) - held)
        if new:
            now = utcnow()
            conn.execute(forget_log.insert(), [dict(kind=k, key_hash=h, rows={}, created_at=now) for k, h in new])
    return len(new)


def logged_keys(store: Store, home: Path | None = None) -> set[tuple[str, str]]:
    """(kind, key_hash) of everything ever forgotten: the store's forget_log plus the file in `home`."""
    with store.connect() as conn:
        keys = {(k, h) for k, h in conn.execute(select(forget_log.c.kind, forget_log.c.key_hash))}
    if home is not None and log_path(home).exists():
        for n, line in enumerate(log_path(home).read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                keys.add((entry["kind"], entry["key_hash"]))
            except (ValueError, KeyError) as exc:
                raise ForgetError(f"{log_path(home)}:{n}: not a forget-log entry ({type(exc).__name__})") from None
    return keys


def reapply(store: Store, home: Path | None = None, dry_run: bool = False,
            extra_keys: Iterable[tuple[str, str]] = ()) -> ForgetReport:
    """Forget again whatever the log says was forgotten (after restoring a backup made before): the
    store's forget_log, the file in `home` and `extra_keys` (e.g. the forget logs of later backups).
    Every key also goes into the store's forget_log, so the store carries the whole log from now on
    (a backup of it restored on another host, without the file, forgets them too)."""
    keys = logged_keys(store, home) | set(extra_keys)
    if not dry_run:
        _record_keys(store, keys)
    want_users = {h for k, h in keys if k == "user"}
    want_msgs = {h for k, h in keys if k == "message"}
    with store.connect() as conn:
        names = set(conn.execute(select(users.c.name)).scalars()) | set(
            conn.execute(select(messages.c.author).where(messages.c.author_kind == "user").distinct()).scalars()
        )
        found_users = sorted(n for n in names if key_hash("user", n) in want_users)
        # logs written before identity_users hashed display names: every account that used one
        for key, name in conn.execute(select(user_names.c.user_key, user_names.c.name)):
            if key_hash("user", name) in want_users and key not in found_users:
                found_users.append(key)
        found_users = sorted(set(found_users) & names)
        found_msgs = []
        if want_msgs:
            for i, p, x in conn.execute(select(messages.c.id, messages.c.platform, messages.c.external_id)):
                if key_hash("message", f"{p}:{x}") in want_msgs:
                    found_msgs.append(int(i))
    if not found_users and not found_msgs:
        return ForgetReport([], 0, {}, dry_run)
    return forget(store, user=found_users, message_ids=found_msgs, dry_run=dry_run, home=home, _log=False, _resolve_users=False)


__all__ = ["forget", "reapply", "register", "exempt", "coverage", "ForgetError", "ForgetReport", "Scope", "RULES", "EXEMPT", "EMBEDDING_KINDS", "key_hash"]
