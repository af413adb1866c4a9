"""update_knowledge_graph: facts become entities and temporal relations. Re-mentions strengthen a
relation; a new value of a single-valued predicate (works_at, lives_in, partner_of, ...) invalidates
the current relation, which is kept with invalidated_at rather than deleted."""

from __future__ import annotations

import re
import unicodedata

from background_pipelines.cognition.facts import SINGLE_VALUED
from background_pipelines.cognition.result import StageResult, md_table
from background_pipelines.config import Settings
from background_pipelines.store import ledger
from background_pipelines.store import graph as g
from background_pipelines.store.engine import Store
from background_pipelines.store.facts import facts_for_day

STAGE = "graph"
VERSION = "graph-v1"

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


def _initials(norm: str) -> str:
    return "".join(w[0] for w in norm.split() if w not in ("of", "and", "&"))


def _acronym_match(conn, norm: str, type_: str) -> dict | None:
    """The existing place/org a short all-letter name abbreviates ("nyc" -> "new york city")."""
    if type_ not in ("place", "org") or not (2 <= len(norm) <= 5 and norm.isalpha()):
        return None
    hits = [e for e in g.entities_of_type(conn, type_) if len(e["norm"].split()) >= 2 and _initials(e["norm"]) == norm]
    return hits[0] if len(hits) == 1 else None  # ambiguous initials stay a separate entity


def _entity(conn, name: str, type_: str) -> tuple[dict, bool]:
    norm = normalize_name(name)
    if g.entity_by_norm(conn, norm) is None:
        abbreviated = _acronym_match(conn, norm, type_)
        if abbreviated is not None:
            norm = abbreviated["norm"]
    ent, created = g.ensure_entity(conn, name.strip(), norm, type_)
    changes = {}
    if not created and name.strip() != ent["name"] and name.strip() not in (ent["aliases"] or []):
        changes["aliases"] = sorted(set(ent["aliases"] or []) | {name.strip()})
    if ent["type"] == "thing" and type_ != "thing":
        changes["type"] = type_  # a later, more specific mention tells us what it is
    if changes:
        g.update_entity(conn, ent["id"], **changes)
        ent.update(changes)
    return ent, created


def _apply(conn, fact: dict, counters: dict) -> str | None:
    """Fold one fact into the graph; returns a preview line or None when nothing changed."""
    t = fact["valid_from"]
    predicate = fact["predicate"]
    # the subject is who the fact is about: the speaker (a user or a character) or their relative
    src, created_src = _entity(conn, fact.get("subject") or fact["user_name"], "person")
    dst, created_dst = _entity(conn, fact["object"], ENTITY_TYPES.get(predicate, "thing"))
    counters["entities_created"] += int(created_src) + int(created_dst)
    sources_m, sources_f = list(fact["source_message_ids"]), [fact["id"]]

    if fact.get("ended"):  # "I lost my job as a banker": ends that relation if current; nothing new holds
        ended_at = min(fact.get("event_start") or t, t)
        lines = []
        for r in g.current_relations(conn, src["id"], predicate):
            if r["dst_id"] == dst["id"] and r["valid_from"] <= t:
                g.update_relation(conn, r["id"], invalidated_at=max(ended_at, r["valid_from"]),
                                  source_fact_ids=sorted(set(r["source_fact_ids"] or []) | set(sources_f)))
                counters["invalidated"] += 1
                lines.append(f"{src['name']} {predicate} {dst['name']}: ended")
        return lines[0] if lines else None

    if predicate == "broke_up_with":  # ends the partnership with that person, if current
        for r in g.current_relations(conn, src["id"], "partner_of"):
            if r["dst_id"] == dst["id"] and r["valid_from"] <= t:
                g.update_relation(conn, r["id"], invalidated_at=t)
                counters["invalidated"] += 1

    between = g.relations_between(conn, src["id"], predicate, dst["id"])
    if any(fact["id"] in (r["source_fact_ids"] or []) for r in between):
        return None  # already folded in (a rerun or a forced backfill)
    same = [r for r in between if r["invalidated_at"] is None]
    if same:
        r = same[0]
        g.update_relation(
            conn,
            r["id"],
            weight=r["weight"] + 1.0,
            confidence=round(1 - (1 - r["confidence"]) * (1 - fact["confidence"]), 4),
            first_seen=min(r["first_seen"], t),
            last_seen=max(r["last_seen"], t),
            expired_at=None,  # mentioned again: no longer soft-expired
            source_message_ids=sorted(set(r["source_message_ids"] or []) | set(sources_m)),
            source_fact_ids=sorted(set(r["source_fact_ids"] or []) | set(sources_f)),
        )
        counters["reinforced"] += 1
        return f"{src['name']} {predicate} {dst['name']}: seen again (weight {r['weight'] + 1:g})"

    existing = next((r for r in between if r["valid_from"] == t), None)
    invalidated_at = None
    if predicate in SINGLE_VALUED:
        for r in g.current_relations(conn, src["id"], predicate):
            if r["dst_id"] == dst["id"]:
                continue
            if r["valid_from"] <= t:
                g.update_relation(conn, r["id"], invalidated_at=t)
                counters["invalidated"] += 1
            else:  # a newer value is already current (an older day backfilled late)
                invalidated_at = r["valid_from"] if invalidated_at is None else min(invalidated_at, r["valid_from"])
    if existing:  # same identity from another fact: merge sources
        g.update_relation(
            conn,
            existing["id"],
            source_message_ids=sorted(set(existing["source_message_ids"] or []) | set(sources_m)),
            source_fact_ids=sorted(set(existing["source_fact_ids"] or []) | set(sources_f)),
        )
        return None
    g.insert_relation(
        conn,
        dict(
            src_id=src["id"],
            predicate=predicate,
            dst_id=dst["id"],
            weight=1.0,
            confidence=float(fact["confidence"]),
            first_seen=t,
            last_seen=t,
            valid_from=t,
            invalidated_at=invalidated_at,
            expired_at=None,
            inferred=False,
            source_message_ids=sorted(sources_m),
            source_fact_ids=sources_f,
        ),
    )
    counters["relations_created"] += 1
    return f"{src['name']} {predicate} {dst['name']}" + (" (superseded)" if invalidated_at else "")


def update_knowledge_graph(
    store: Store,
    gateway,
    settings: Settings,
    day: str,
    *,
    force: bool = False,
    version: str = VERSION,
    run_id: str | None = None,
) -> StageResult:
    """Fold the day's facts (not preferences) into the graph, oldest first. No LLM call: `gateway`
    is accepted for the common signature."""
    result = StageResult(stage=STAGE, days=[day])
    all_facts = facts_for_day(store, day)
    due = set(ledger.todo(store, STAGE, version, [f"fact:{f['id']}" for f in all_facts], force=force))
    todo_facts = [f for f in all_facts if f"fact:{f['id']}" in due]
    result.skipped = len(all_facts) - len(todo_facts)
    counters = dict(entities_created=0, relations_created=0, reinforced=0, invalidated=0, preferences=0)
    lines: list[list] = []
    before = g.counts(store)
    with store.begin() as conn:
        for f in todo_facts:
            if f["kind"] != "fact":
                counters["preferences"] += 1  # preferences shape replies, not the graph
                continue
            line = _apply(conn, f, counters)
            if line:
                lines.append([f["user_name"], line, f["source_message_ids"]])
        ledger.mark(store, STAGE, version, [f"fact:{f['id']}" for f in todo_facts], ledger.DONE, run_id=run_id, conn=conn)
    after = g.counts(store)
    result.processed = len(todo_facts)
    result.rows_written = counters["entities_created"] + counters["relations_created"] + counters["reinforced"] + counters["invalidated"]
    result.row_count = after["relations"]
    result.extra = dict(counters, entities=after["entities"], current_relations=after["current_relations"], new_relations=after["relations"] - before["relations"])
    result.preview = f"**{day}**: {counters['relations_created']} new relations, {counters['reinforced']} reinforced, {counters['invalidated']} invalidated\n\n" + md_table(
        ["user", "change", "messages"], lines, limit=12
    )
    return result
