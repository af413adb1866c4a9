"""update_knowledge_graph: facts become entities and temporal relations. Re-mentions strengthen a
relation; a new value of a single-valued predicate (works_at, lives_in, partner_of, ...) invalidates
the current relation, which is kept with invalidated_at rather than deleted.

Order-independent by construction: a day's run recomputes the relations of every user it touches from
all of that user's facts, with valid time taken from message time, so the graph is a function of the
set of facts, never of the order or concurrency in which days were processed."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from typing import Sequence

from background_pipelines.cognition.facts import SINGLE_VALUED
from background_pipelines.cognition.result import StageResult, as_days, md_table, per_day
from background_pipelines.config import Settings
from background_pipelines.store import ledger
from background_pipelines.store import graph as g
from background_pipelines.store.engine import Store
from background_pipelines.store.facts import facts_for_days, facts_of_user
from background_pipelines.users.identity import USER_ENTITY_TYPE, entity_norm, is_user_key

STAGE = "graph"
VERSION = "graph-v2"  # v2: relations recomputed per user from all their facts

ENTITY_TYPES = {
    "works_at": "org",
    "studies_at": "org",
    "lives_in": "place",
    "moving_to": "place",
    "from": "place",
    "has_pet": "pet",
    "partner_of": "person",
    "broke_up_with": "person",
    "studied_at": "org",
    "visited": "place",
}
_SUFFIX = re.compile(r"\s+(?:inc|incorporated|ltd|limited|llc|corp|corporation|co|company|gmbh|plc|ag|sa|group)$")


def normalize_name(name: str) -> str:
    """The dedup key of an entity: ASCII-folded, lower case, no punctuation, articles or company suffixes."""
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    s = re.sub(r"[^\w\s&]", " ", s)
    s = " ".join(s.split())
    s = re.sub(r"^(?:the|a|an)\s+", "", s)
    prev = None
    while prev != s:
        prev, s = s, _SUFFIX.sub("", s).strip()
    return s or " ".join(name.lower().split())


_COUNTERS = ("entities_created", "relations_created", "reinforced", "invalidated", "relations_removed", "entities_removed")

# entity types from most to least specific: a mention of a more specific type wins, whatever came first
_TYPE_RANK = {USER_ENTITY_TYPE: -1, "person": 0, "org": 1, "place": 2, "pet": 3, "thing": 9}


def _initials(norm: str) -> str:
    return "".join(w[0] for w in norm.split() if w not in ("of", "and", "&"))


def _best_name(forms: set[str]) -> str:
    """The display name among surface forms: the longest ("New York City" over "NYC"), then one that
    starts upper case, then alphabetical; a function of the set, so the same in any order."""
    return min(forms, key=lambda f: (-len(f), not f[:1].isupper(), f))


def _better_type(a: str, b: str) -> str:
    return min(a, b, key=lambda t: (_TYPE_RANK.get(t, 5), t))


@dataclass
class EntityPlan:
    norm: str
    type: str
    forms: set[str] = field(default_factory=set)


@dataclass
class RelationPlan:
    src_norm: str
    predicate: str
    dst_norm: str
    valid_from: datetime
    first_seen: datetime
    last_seen: datetime
    invalidated_at: datetime | None
    weight: float
    confidence: float
    source_message_ids: list[int]
    source_fact_ids: list[int]


@dataclass
class UserGraph:
    """What one user's facts say, as entities (by norm) and relations from the user's entity and from
    the other subjects of their facts ("alice's sister")."""

    user_norm: str
    entities: dict[str, EntityPlan]
    relations: list[RelationPlan]


def _resolve_objects(facts: list[dict], redirects: dict[str, str]) -> dict[int, tuple[str, str]]:
    """{fact id: (entity norm, entity type)} of each fact's object. An all-letter short name that
    abbreviates exactly one multi-word name of the same type among this user's own facts is that
    entity ("NYC" -> "new york city"); across users, acronyms are left to nightly consolidation, so the
    answer never depends on which other facts happened to be folded first."""
    typed = {f["id"]: (normalize_name(f["object"]), ENTITY_TYPES.get(f["predicate"], "thing")) for f in facts}
    long_names: dict[str, set[str]] = {}
    for norm, type_ in typed.values():
        if len(norm.split()) >= 2:
            long_names.setdefault(type_, set()).add(norm)
    out: dict[int, tuple[str, str]] = {}
    for fid, (norm, type_) in typed.items():
        if type_ in ("place", "org") and 2 <= len(norm) <= 5 and norm.isalpha() and norm not in long_names.get(type_, ()):
            hits = sorted(n for n in long_names.get(type_, ()) if _initials(n) == norm)
            if len(hits) == 1:  # ambiguous initials stay a separate entity
                norm = hits[0]
        out[fid] = (redirects.get(norm, norm), type_)
    return out


def plan_user_graph(user: str, facts: list[dict], redirects: dict[str, str] | None = None) -> UserGraph:
    """The entities and relations that `facts` (one user's, kind fact) imply; pure and deterministic.

    Facts are read as a timeline in message time. For each (subject, predicate, object) the mentions
    form episodes: a single-valued predicate's episode ends when another value is stated (its
    invalidated_at is that message's time), partner_of also ends at broke_up_with that person, and a
    statement that ends the fact ("I lost my job as a banker") ends it at the time it names; a later
    mention of an ended value starts a new episode. Weight is the number of mentions in the episode,
    confidence 1 - prod(1 - c), first/last seen the span of its mentions."""
    redirects = redirects or {}

    account = is_user_key(user)  # a user's facts; a character's own facts are kept under its name

    def norm_of(name: str) -> str:
        if account and name == user:  # the user's own entity is keyed by the account, never by a shared name
            return entity_norm(user)
        return redirects.get(normalize_name(name), normalize_name(name))

    user_norm = norm_of(user)
    ents: dict[str, EntityPlan] = {user_norm: EntityPlan(user_norm, USER_ENTITY_TYPE if account else "person", {user.strip()})}
    facts = [f for f in facts if f["kind"] == "fact"]
    objects = _resolve_objects(facts, redirects)
    subjects = {f["id"]: norm_of(f.get("subject") or f["user_name"]) for f in facts}
    for f in facts:
        sub = ents.setdefault(subjects[f["id"]], EntityPlan(subjects[f["id"]], "person"))
        sub.forms.add((f.get("subject") or f["user_name"]).strip())
        norm, type_ = objects[f["id"]]
        e = ents.setdefault(norm, EntityPlan(norm, type_))
        e.type = _better_type(e.type, type_)
        e.forms.add(f["object"].strip())
    # a timeline sorted by message time, ties by subject, predicate and object: never by id or arrival
    timeline = sorted(facts, key=lambda f: (f["valid_from"], bool(f.get("ended")), subjects[f["id"]], f["predicate"], objects[f["id"]][0], f["object"]))
    open_: dict[tuple[str, str, str], dict] = {}  # (subject, predicate, dst) -> episode being built
    done: list[dict] = []

    def close(key: tuple[str, str, str], at: datetime | None) -> None:
        ep = open_.pop(key)
        ep["invalidated_at"] = at
        done.append(ep)

    for f in timeline:
        src, predicate, dst, t = subjects[f["id"]], f["predicate"], objects[f["id"]][0], f["valid_from"]
        if f.get("ended"):  # ends that relation if current; nothing new holds
            ep = open_.get((src, predicate, dst))
            if ep is not None:
                ep["end_facts"].append(f)
                close((src, predicate, dst), max(min(f.get("event_start") or t, t), ep["valid_from"]))
            continue
        if predicate == "broke_up_with" and (src, "partner_of", dst) in open_:
            close((src, "partner_of", dst), t)
        if predicate in SINGLE_VALUED:
            for key in [k for k in open_ if k[0] == src and k[1] == predicate and k[2] != dst]:
                close(key, t)
        ep = open_.get((src, predicate, dst))
        if ep is None:
            ep = open_[(src, predicate, dst)] = dict(src=src, predicate=predicate, dst=dst, valid_from=t, facts=[], end_facts=[])
        ep["facts"].append(f)
    for key in list(open_):
        close(key, None)

    rels: list[RelationPlan] = []
    for ep in done:
        fs = ep["facts"]
        keep = 1.0
        for f in fs:
            keep *= 1 - float(f["confidence"])
        rels.append(
            RelationPlan(
                src_norm=ep["src"],
                predicate=ep["predicate"],
                dst_norm=ep["dst"],
                valid_from=ep["valid_from"],
                first_seen=min(f["valid_from"] for f in fs),
                last_seen=max(f["valid_from"] for f in fs),
                invalidated_at=ep["invalidated_at"],
                weight=float(len(fs)),
                confidence=round(1 - keep, 4),
                source_message_ids=sorted({int(m) for f in fs for m in f["source_message_ids"]}),
                source_fact_ids=sorted(f["id"] for f in fs + ep["end_facts"]),
            )
        )
    rels.sort(key=lambda r: (r.src_norm, r.predicate, r.dst_norm, r.valid_from))
    return UserGraph(user_norm, ents, rels)


def _redirects(conn) -> dict[str, str]:
    """{norm of a merged-away entity: norm of its survivor}, so a user recomputed after a nightly
    consolidation folds into the survivor instead of re-creating the duplicate."""
    out: dict[str, str] = {}
    for merged_name, _merged_id, survivor_id in g.active_merges(conn):
        survivor = g.entity_by_id(conn, survivor_id)
        if survivor is not None and normalize_name(merged_name) != survivor["norm"]:
            out[normalize_name(merged_name)] = survivor["norm"]
    return out


def _same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and abs(float(a) - float(b)) < 1e-9
    return a == b


def _fold_user(store: Store, user: str, items: list[str], version: str, run_id: str | None) -> tuple[dict, list[list]]:
    """Recompute one user's relations from all their facts and write the difference, in one
    transaction holding the user's lock and the locks of every entity it writes; the day's facts of
    the user are ledgered done in the same transaction. Returns (counters, preview lines)."""
    counters = dict.fromkeys(_COUNTERS, 0)
    lines: list[list] = []
    with g.user_transaction(store, user) as conn:
        facts = facts_of_user(store, user)  # read under the lock: every earlier fold is committed
        plan = plan_user_graph(user, facts, _redirects(conn))
        subjects = sorted({plan.user_norm} | {r.src_norm for r in plan.relations})
        old = [r for e in g.entities_by_norms(conn, subjects).values() for r in g.derived_relations_of(conn, e["id"])]
        old_dst_ids = {r["dst_id"] for r in old}
        old_dsts = {e["norm"]: e for e in (g.entity_by_id(conn, i) for i in sorted(old_dst_ids)) if e}
        g.lock_entities(conn, set(plan.entities) | set(old_dsts))

        existing = g.entities_by_norms(conn, plan.entities)
        new_rows = [
            dict(name=_best_name(e.forms), norm=n, type=e.type, aliases=sorted(e.forms - {_best_name(e.forms)}))
            for n, e in plan.entities.items() if n not in existing
        ]
        g.insert_entities(conn, new_rows)
        counters["entities_created"] += len(new_rows)
        for n in sorted(plan.entities):
            e = existing.get(n)
            if e is None:
                continue
            forms = set(plan.entities[n].forms) | {e["name"]} | set(e["aliases"] or [])
            name = _best_name(forms)
            changes = dict(name=name, aliases=sorted(forms - {name}), type=_better_type(e["type"], plan.entities[n].type))
            changes = {k: v for k, v in changes.items() if v != e[k]}
            if changes:
                g.update_entity(conn, e["id"], **changes)
        ids = {n: e["id"] for n, e in g.entities_by_norms(conn, plan.entities).items()}

        old_by_key = {(r["src_id"], r["predicate"], r["dst_id"], r["valid_from"]): r for r in old}
        kept: set[int] = set()
        for rp in plan.relations:
            src_id, dst_id = ids[rp.src_norm], ids[rp.dst_norm]
            values = dict(
                weight=rp.weight, confidence=rp.confidence, first_seen=rp.first_seen, last_seen=rp.last_seen,
                invalidated_at=rp.invalidated_at, source_message_ids=rp.source_message_ids, source_fact_ids=rp.source_fact_ids,
            )
            r = old_by_key.get((src_id, rp.predicate, dst_id, rp.valid_from))
            if r is None:
                g.insert_relation(conn, dict(values, src_id=src_id, predicate=rp.predicate, dst_id=dst_id,
                                             valid_from=rp.valid_from, expired_at=None, inferred=False))
                counters["relations_created"] += 1
                counters["invalidated"] += int(rp.invalidated_at is not None)
                lines.append([user, f"{rp.src_norm} {rp.predicate} {rp.dst_norm}" + (" (superseded)" if rp.invalidated_at else ""), rp.source_message_ids])
                continue
            kept.add(r["id"])
            changes = {k: v for k, v in values.items() if not _same(r[k], v)}
            if not changes:
                continue
            if set(rp.source_fact_ids) - set(r["source_fact_ids"] or []):
                changes["expired_at"] = None  # mentioned again: no longer soft-expired
                counters["reinforced"] += 1
            if rp.invalidated_at is not None and r["invalidated_at"] is None:
                counters["invalidated"] += 1
            g.update_relation(conn, r["id"], **changes)
            lines.append([user, f"{rp.src_norm} {rp.predicate} {rp.dst_norm}: weight {rp.weight:g}" + (" (superseded)" if rp.invalidated_at else ""), rp.source_message_ids])
        stale = [r["id"] for r in old if r["id"] not in kept]
        if stale:  # an episode that later-arriving facts split or moved: the recomputed one replaces it
            g.delete_relations(conn, stale)
            counters["relations_removed"] += len(stale)
        # entities only this user's old relations pointed at, and no longer any relation: made by an
        # earlier fold that had not yet seen the full name ("NYC" before "New York City")
        counters["entities_removed"] += g.delete_unlinked_entities(
            conn, [e["id"] for n, e in old_dsts.items() if n not in plan.entities]
        )
        ledger.mark(None, STAGE, version, items, ledger.DONE, run_id=run_id, conn=conn)
    return counters, lines


def update_knowledge_graph(
    store: Store,
    gateway,
    settings: Settings,
    days: str | Sequence[str],
    *,
    force: bool = False,
    version: str = VERSION,
    run_id: str | None = None,
) -> StageResult:
    """Fold the facts (not preferences) of `days` (one partition key or a range) into the graph: every
    user with a new fact in the range has their relations recomputed once from all their facts, one
    transaction per user (retried on deadlock). No LLM call: `gateway` is accepted for the common
    signature. Per day (`by_day`): the day's facts folded; the graph's changes belong to the run."""
    days = as_days(days)
    per = per_day(STAGE, days)
    all_facts = facts_for_days(store, days)
    due = set(ledger.todo(store, STAGE, version, [f"fact:{f['id']}" for f in all_facts], force=force))
    counters = dict.fromkeys((*_COUNTERS, "preferences", "users"), 0)
    lines: list[list] = []
    before = g.counts(store)
    by_user: dict[str, list[str]] = {}
    for f in all_facts:
        r = per[f["day"]]
        if f"fact:{f['id']}" not in due:
            r.skipped += 1
            continue
        r.processed += 1
        if f["kind"] != "fact":
            r.count("preferences")  # preferences shape replies, not the graph
        by_user.setdefault(f["user_name"], []).append(f"fact:{f['id']}")
    for user in sorted(by_user):  # one user per transaction: a lock held briefly, progress kept
        done, user_lines = g.with_retries(lambda user=user: _fold_user(store, user, by_user[user], version, run_id))
        for k, v in done.items():
            counters[k] += v
        lines.extend(user_lines)
        counters["users"] += 1
    after = g.counts(store)
    for d, r in per.items():
        r.row_count = r.processed + r.skipped  # the day's facts in the graph
        r.extra.setdefault("preferences", 0)
    total = StageResult.total(STAGE, per)
    total.rows_written = counters["entities_created"] + counters["relations_created"] + counters["reinforced"] + counters["invalidated"] + counters["relations_removed"]
    total.row_count = after["relations"]
    total.extra.update({k: v for k, v in counters.items() if k != "preferences"},
                       entities=after["entities"], current_relations=after["current_relations"], new_relations=after["relations"] - before["relations"])
    span = days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}"
    preview = f"**{span}**: {counters['users']} users recomputed, {counters['relations_created']} new relations, {counters['reinforced']} reinforced, {counters['invalidated']} invalidated\n\n" + md_table(
        ["user", "change", "messages"], lines, limit=12
    )
    total.preview = preview
    for r in per.values():
        if r.processed:  # the graph changes are the run's (users span days): each day shows them with its counts
            r.preview = preview
    return total


def refold_user(store: Store, user: str, items: Sequence[str] = (), *, version: str = VERSION, run_id: str | None = None) -> dict:
    """Recompute one user's (or character's) relations from all their facts now, ledgering `items`
    (`fact:ID`) done: for writers of facts outside the day partitions (lore documents, lore/digest.py)."""
    counters, _lines = g.with_retries(lambda: _fold_user(store, user, list(items), version, run_id))
    return counters
