"""organise_hubs: entities with very many current relations (BGP_HUB_DEGREE_THRESHOLD) get a layer of
typed groups, one per relation type and direction ("Dana: works_at", "lives_in New York City"): the
hub `has_group` each group, each group `includes` the neighbours of that type, carrying the original
relation's provenance (messages, facts), weight and times. The layer is inferred relations on top:
the relations folded from facts stay where the knowledge graph recomputes them, so the layer never
fights the fold and undoing it (`undo_hub`) restores the graph exactly. A run recomputes each hub's
layer from the graph and writes only the difference (a second run changes nothing); every change is
appended to the organisation's audit trail.

Degrees are a GROUP BY over the relations table; no graph library is needed for one hop."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from background_pipelines.cognition.result import md_table
from background_pipelines.store import hubs as hs
from background_pipelines.store.engine import Store
from background_pipelines.store.ledger import utcnow

DEFAULT_THRESHOLD = 25
MIN_GROUP = 2  # a type with a single neighbour stays a direct relation
_FIELDS = ("weight", "confidence", "first_seen", "last_seen", "source_message_ids", "source_fact_ids")


class HubError(ValueError):
    """An organisation that cannot be undone (unknown id, already undone); the message says which."""


@dataclass
class HubResult:
    hubs: int = 0
    organised: int = 0  # hubs whose layer changed this run
    unchanged: int = 0
    skipped_undone: int = 0  # undone by a person: left alone
    ungroupable: int = 0  # no relation type with MIN_GROUP neighbours: left as it is
    undone: int = 0  # fell below the threshold: layer removed
    groups_created: int = 0
    groups_removed: int = 0
    relations_created: int = 0
    relations_removed: int = 0
    relations_updated: int = 0
    lines: list[list] = field(default_factory=list)

    def preview(self) -> str:
        head = (f"{self.hubs} hub(s): **{self.organised} organised**, {self.unchanged} unchanged, {self.undone} undone "
                f"(below the threshold), {self.skipped_undone} left undone by a person, {self.ungroupable} with nothing to group; groups +{self.groups_created}/"
                f"-{self.groups_removed}, layer relations +{self.relations_created}/-{self.relations_removed}/~{self.relations_updated}")
        return head + ("\n\n" + md_table(["hub", "degree", "group", "members"], self.lines, limit=20) if self.lines else "")


def _desired(hub: dict, rels: list[dict], min_group: int) -> dict[str, dict]:
    """{group norm: {name, direction, predicate, members: {neighbour id: relation}}} for the hub."""
    groups: dict[tuple[str, str], dict[int, dict]] = {}
    for r in rels:
        if r["src_id"] == r["dst_id"]:
            continue
        direction, other = ("out", r["dst_id"]) if r["src_id"] == hub["id"] else ("in", r["src_id"])
        members = groups.setdefault((direction, r["predicate"]), {})
        if other not in members or r["weight"] > members[other]["weight"]:
            members[other] = r
    out = {}
    for (direction, predicate), members in sorted(groups.items()):
        if len(members) < min_group:
            continue
        name = f"{hub['name']}: {predicate}" if direction == "out" else f"{predicate} {hub['name']}"
        out[f"hub:{hub['id']}:{direction}:{predicate}"] = dict(name=name[:255], direction=direction, predicate=predicate, members=members)
    return out


def _values(members: list[dict]) -> dict:
    return dict(
        weight=float(sum(m["weight"] for m in members)), confidence=max(float(m["confidence"]) for m in members),
        first_seen=min(m["first_seen"] for m in members), last_seen=max(m["last_seen"] for m in members),
        source_message_ids=sorted({int(i) for m in members for i in (m["source_message_ids"] or [])}),
        source_fact_ids=sorted({int(i) for m in members for i in (m["source_fact_ids"] or [])}),
    )


def _sync(conn, hub: dict, want: dict[str, dict], now: datetime) -> dict:
    """Make the hub's layer equal `want`; returns what changed (ids) for the audit trail."""
    have = hs.group_entities(conn, hub["id"])
    changed = dict(groups_created=[], groups_removed=[], relations_created=[], relations_removed=[], relations_updated=[])
    gone = [e["id"] for n, e in have.items() if n not in want]
    if gone:
        changed["relations_removed"] += [r["id"] for r in hs.overlay_relations(conn, hub["id"], gone)]
        hs.delete_relations(conn, changed["relations_removed"])
        hs.delete_entities(conn, gone)
        changed["groups_removed"] += gone
    ids = {}
    for norm, g in want.items():
        e = have.get(norm)
        if e is None:
            ids[norm] = hs.insert_group(conn, dict(name=g["name"], norm=norm, type=hs.GROUP_TYPE, aliases=[], created_at=now, updated_at=now))
            changed["groups_created"].append(ids[norm])
        else:
            ids[norm] = e["id"]
    desired: dict[tuple, dict] = {}
    for norm, g in want.items():
        members = list(g["members"].values())
        desired[(hub["id"], hs.HAS_GROUP, ids[norm])] = dict(_values(members), valid_from=min(m["valid_from"] for m in members))
        for other, m in g["members"].items():
            desired[(ids[norm], hs.INCLUDES, other)] = dict(_values([m]), valid_from=m["valid_from"])
    existing = {(r["src_id"], r["predicate"], r["dst_id"]): r for r in hs.overlay_relations(conn, hub["id"], list(ids.values()))}
    extra = [r["id"] for k, r in existing.items() if k not in desired]
    hs.delete_relations(conn, extra)
    changed["relations_removed"] += extra
    for key, v in desired.items():
        r = existing.get(key)
        if r is None:
            changed["relations_created"].append(hs.insert_relation(conn, dict(
                v, src_id=key[0], predicate=key[1], dst_id=key[2], invalidated_at=None, expired_at=None, inferred=True)))
            continue
        diff = {k: v[k] for k in (*_FIELDS, "valid_from") if r[k] != v[k] and not (isinstance(v[k], float) and abs(float(r[k]) - v[k]) < 1e-9)}
        if r["expired_at"] is not None:
            diff["expired_at"] = None  # the members are current: the layer is too
        if diff:
            hs.update_relation(conn, r["id"], **diff)
            changed["relations_updated"].append(r["id"])
    return changed


def _groups_record(conn, hub_id: int, want: dict[str, dict]) -> list[dict]:
    have = hs.group_entities(conn, hub_id)
    return [dict(entity_id=have[n]["id"], norm=n, name=g["name"], direction=g["direction"], predicate=g["predicate"],
                 members=sorted(m["id"] for m in g["members"].values())) for n, g in want.items() if n in have]


def organise_hubs(store: Store, *, threshold: int = DEFAULT_THRESHOLD, min_group: int = MIN_GROUP, now: datetime | None = None) -> HubResult:
    """Give every entity with at least `threshold` current explicit relations its group layer (or bring
    the layer up to date), and remove the layer of organised hubs that fell below it. One transaction
    per hub; a hub whose layer a person undid is left alone."""
    if threshold < 2:
        raise ValueError(f"hub degree threshold {threshold}: expected at least 2 (BGP_HUB_DEGREE_THRESHOLD)")
    now = now or utcnow()
    result = HubResult()
    with store.connect() as conn:
        deg = hs.degrees(conn)
        active = {o["hub_id"]: o for o in hs.organisations(conn, "active")}
    hubs = sorted(i for i, d in deg.items() if d >= threshold)
    for hub_id in hubs:
        with store.begin() as conn:
            hub = hs.entity(conn, hub_id)
            if hub is None or hub["type"] == hs.GROUP_TYPE:
                continue
            result.hubs += 1
            latest = hs.latest_for(conn, hub_id)
            if latest and latest["status"] == "undone" and latest["undone_by"] == "person":
                result.skipped_undone += 1
                continue
            want = _desired(hub, hs.current_relations_of(conn, hub_id), min_group)
            if not want and not (latest and latest["status"] == "active"):
                result.ungroupable += 1  # every relation type has a single neighbour: nothing to group
                continue
            changed = _sync(conn, hub, want, now)
            n = {k: len(v) for k, v in changed.items()}
            record = _groups_record(conn, hub_id, want)
            if not any(n.values()) and latest and latest["status"] == "active":
                result.unchanged += 1
                continue
            entry = dict(at=now.isoformat(timespec="seconds"), action="organise" if not (latest and latest["status"] == "active") else "update",
                         by="schedule", **changed)
            if latest and latest["status"] == "active":
                hs.update_organisation(conn, latest["id"], degree=deg[hub_id], groups=record, audit=list(latest["audit"]) + [entry], updated_at=now)
            else:
                hs.insert_organisation(conn, dict(hub_id=hub_id, hub_name=hub["name"], degree=deg[hub_id], groups=record, status="active",
                                                  audit=[entry], created_at=now, updated_at=now, undone_at=None, undone_by=None))
            result.organised += 1
            result.groups_created += n["groups_created"]
            result.groups_removed += n["groups_removed"]
            result.relations_created += n["relations_created"]
            result.relations_removed += n["relations_removed"]
            result.relations_updated += n["relations_updated"]
            result.lines += [[hub["name"], deg[hub_id], g["name"], len(g["members"])] for g in record]
    for hub_id, org in sorted(active.items()):
        if deg.get(hub_id, 0) < threshold:
            _undo(store, org["id"], by="threshold", reason=f"degree {deg.get(hub_id, 0)} below {threshold}", now=now)
            result.undone += 1
    return result


def _undo(store: Store, organisation_id: int, *, by: str, reason: str, now: datetime | None = None) -> dict:
    now = now or utcnow()
    with store.begin() as conn:
        org = next((o for o in hs.organisations(conn) if o["id"] == organisation_id), None)
        if org is None:
            raise HubError(f"no hub organisation {organisation_id} (see `bgp hubs list`)")
        if org["status"] != "active":
            raise HubError(f"hub organisation {organisation_id} ({org['hub_name']}) is already undone")
        have = hs.group_entities(conn, org["hub_id"])
        rels = [r["id"] for r in hs.overlay_relations(conn, org["hub_id"], [e["id"] for e in have.values()])]
        hs.delete_relations(conn, rels)
        hs.delete_entities(conn, [e["id"] for e in have.values()])
        entry = dict(at=now.isoformat(timespec="seconds"), action="undo", by=by, reason=reason, groups_removed=sorted(e["id"] for e in have.values()),
                     relations_removed=sorted(rels))
        hs.update_organisation(conn, organisation_id, status="undone", undone_at=now, undone_by=by, audit=list(org["audit"]) + [entry], updated_at=now)
    return entry


def undo_hub(store: Store, organisation_id: int, *, reason: str = "") -> dict:
    """Remove a hub's group layer (the graph is as before it was organised) and keep the hub unorganised
    until a person asks again (`organise_hubs` leaves hubs a person undid alone)."""
    return _undo(store, organisation_id, by="person", reason=reason or "undone by hand")


def redo_hub(store: Store, hub_id: int) -> None:
    """Let `organise_hubs` organise a hub a person undid (its next run rebuilds the layer)."""
    with store.begin() as conn:
        latest = hs.latest_for(conn, hub_id)
        if latest and latest["status"] == "undone" and latest["undone_by"] == "person":
            hs.update_organisation(conn, latest["id"], undone_by="released", audit=list(latest["audit"]) + [
                dict(at=utcnow().isoformat(timespec="seconds"), action="release", by="person")])


def list_organisations(store: Store) -> list[dict]:
    with store.connect() as conn:
        return hs.organisations(conn)
