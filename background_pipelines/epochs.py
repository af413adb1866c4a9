"""synthesize_epochs: nightly, one "epoch" per (character, local day) saying what changed in what the
character knows: facts it learned (from the users it knows, its own statements and its lore) and facts
that ended, entities new to its knowledge, relations added and invalidated, consolidation merges that
touched them. Deterministic (no LLM): a function of the store, written again only when that changes,
so a re-run or a backfill of a day writes nothing new."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Sequence

from background_pipelines.character.days import day_is_over, widest_window
from background_pipelines.character.material import profile_day
from background_pipelines.cognition.result import StageResult, as_days, md_table, per_day
from background_pipelines.store import character as cstore
from background_pipelines.store import epochs as estore
from background_pipelines.store import ledger
from background_pipelines.store.engine import Store

STAGE = "epochs"
VERSION = "epochs-v1"
NOT_OVER = "local day not over yet"


def _in(t: datetime | None, start: datetime, end: datetime) -> bool:
    return t is not None and start <= t < end


def _epoch(store: Store, who, all_rels: list[dict]) -> dict:
    """The epoch row of one CharacterDay (without version, run_id, times); `all_rels`: the graph's
    explicit relations, read once per run."""
    users = cstore.users_known_by(store, who.name, who.end) | {who.name}
    fs = estore.facts_of_users_until(store, users, who.end)
    today = [f for f in fs if _in(f["valid_from"], who.start, who.end)]
    fact_ids = {int(f["id"]) for f in fs}
    rels = estore.relations_citing(all_rels, fact_ids)
    ents = estore.entities_by_id(store, {r["src_id"] for r in rels} | {r["dst_id"] for r in rels})
    first: dict[int, datetime] = {}
    for r in rels:
        for e in (r["src_id"], r["dst_id"]):
            first[e] = min(first.get(e, r["first_seen"]), r["first_seen"])

    def name(i: int) -> str:
        return ents[i]["name"] if i in ents else f"#{i}"

    def fact(f: dict) -> dict:
        return dict(id=int(f["id"]), user=f["user_name"], subject=f["subject"], predicate=f["predicate"], object=f["object"])

    def rel(r: dict) -> dict:
        return dict(id=int(r["id"]), src=name(r["src_id"]), predicate=r["predicate"], dst=name(r["dst_id"]))

    row = dict(
        character=who.name,
        day=who.day,
        new_facts=[fact(f) for f in today if not f["ended"]],
        ended_facts=[fact(f) for f in today if f["ended"]],
        new_entities=[dict(id=i, name=name(i), type=ents[i]["type"]) for i in sorted(first) if i in ents and _in(first[i], who.start, who.end)],
        relations_added=[rel(r) for r in sorted(rels, key=lambda r: r["id"]) if _in(r["valid_from"], who.start, who.end)],
        relations_ended=[rel(r) for r in sorted(rels, key=lambda r: r["id"]) if _in(r["invalidated_at"], who.start, who.end)],
        merges=[dict(m) for m in estore.merges_between(store, set(ents), who.start, who.end)],
        users=sorted({f["user_name"] for f in today} - {who.name}),
        source_fact_ids=sorted(int(f["id"]) for f in today),
    )
    row["text"] = _text(row)
    row["material_hash"] = hashlib.sha256(json.dumps({k: v for k, v in row.items() if k != "text"}, sort_keys=True, default=str).encode()).hexdigest()
    return row


def _text(row: dict) -> str:
    parts = [f"**{row['character']}, {row['day']}**: learned {len(row['new_facts'])} fact(s), {len(row['ended_facts'])} ended; "
             f"{len(row['new_entities'])} new entit{'y' if len(row['new_entities']) == 1 else 'ies'}; relations "
             f"+{len(row['relations_added'])} / -{len(row['relations_ended'])}; {len(row['merges'])} merge(s)"]
    for label, items in (("learned", row["new_facts"]), ("ended", row["ended_facts"])):
        if items:
            parts.append(f"- {label}: " + "; ".join(f"{f['subject']} {f['predicate']} {f['object']}" for f in items[:8])
                         + (f" (+{len(items) - 8} more)" if len(items) > 8 else ""))
    if row["new_entities"]:
        parts.append("- new: " + ", ".join(f"{e['name']} ({e['type']})" for e in row["new_entities"][:10]))
    if row["relations_ended"]:
        parts.append("- no longer: " + "; ".join(f"{r['src']} {r['predicate']} {r['dst']}" for r in row["relations_ended"][:8]))
    for m in row["merges"][:5]:
        parts.append(f"- merged: {m['merged_name']} into {m['survivor_name']} ({m['reason']})")
    return "\n".join(parts)


def synthesize_epochs(
    store: Store,
    days: str | Sequence[str],
    *,
    characters: Sequence[str] | None = None,
    force: bool = False,
    run_id: str | None = None,
    now: datetime | None = None,
) -> StageResult:
    """An epoch per character (registered, or speaking around the day) for each local day of `days`
    that is over; a day not over is pending in the ledger with the reason. A row is rewritten only
    when its content changed (or with `force`): one row per (character, day), whatever the reruns."""
    days = as_days(days)
    per = per_day(STAGE, days)
    profiles = cstore.character_profiles(store)
    all_rels: list[dict] | None = None  # read on the first day with a character to write
    for d in days:
        r = per[d]
        names = set(profiles) | cstore.character_authors_between(store, *widest_window(d))
        if characters:
            names &= set(characters)
        whos = [profile_day(n, d, profiles.get(n)) for n in sorted(names)]
        over = [w for w in whos if day_is_over(d, w.timezone, now)]
        waiting = [f"{w.name}/{d}" for w in whos if w not in over]
        if waiting:
            ledger.mark(store, STAGE, VERSION, waiting, ledger.PENDING, error=NOT_OVER, run_id=run_id)
            r.pending += len(waiting)
        if over and all_rels is None:
            all_rels = estore.explicit_relations(store)
        rows = [_epoch(store, w, all_rels or []) for w in over]
        old = estore.existing(store, [(x["character"], d) for x in rows])
        fresh = [x for x in rows if force or old.get((x["character"], d)) != {"version": VERSION, "material_hash": x["material_hash"]}]
        r.skipped += len(rows) - len(fresh)
        with store.begin() as conn:  # the rows and their ledger outcomes together
            estore.save_epochs(conn, fresh, VERSION, run_id)
            ledger.mark(store, STAGE, VERSION, [f"{x['character']}/{d}" for x in rows], ledger.DONE, run_id=run_id, conn=conn)
        r.processed += len(rows)
        r.rows_written += len(fresh)
        r.row_count = len(estore.epochs(store, [d]))
        r.extra = {"facts_learned": sum(len(x["new_facts"]) for x in rows), "facts_ended": sum(len(x["ended_facts"]) for x in rows),
                   "new_entities": sum(len(x["new_entities"]) for x in rows), "relations_added": sum(len(x["relations_added"]) for x in rows),
                   "relations_ended": sum(len(x["relations_ended"]) for x in rows)}
        r.preview = "\n\n".join(x["text"] for x in rows[:8]) or ("_" + (NOT_OVER if waiting else "no character") + "_")
        if rows:
            r.preview += "\n\n" + md_table(["character", "learned", "ended", "new entities", "relations +/-"],
                                           [[x["character"], len(x["new_facts"]), len(x["ended_facts"]), len(x["new_entities"]),
                                             f"+{len(x['relations_added'])}/-{len(x['relations_ended'])}"] for x in rows], limit=20)
    return StageResult.total(STAGE, per)
