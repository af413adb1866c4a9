"""Graph mode: entities named in the question, expanded 1-2 hops from the user's own entity over
relations valid at the asked time; relations ranked by how much of the question they touch."""

from __future__ import annotations

from datetime import datetime

from background_pipelines.recall.text import STOPWORDS, ngrams, predicates_for, same_word, words
from background_pipelines.cognition.graph import normalize_name as norm
from background_pipelines.store import search_index
from background_pipelines.store.hubs import GROUP_TYPE
from background_pipelines.users.identity import entity_norm, is_user_key

_HOP2_LIMIT = 500


def relation_valid(rel: dict, at: datetime | None) -> bool:
    """Current (at=None): neither invalidated nor expired. As of `at`: began by then, not yet ended."""
    if at is None:
        return rel["invalidated_at"] is None and rel["expired_at"] is None
    if rel["valid_from"] is not None and rel["valid_from"] > at:
        return False
    return all(rel[c] is None or rel[c] > at for c in ("invalidated_at", "expired_at"))


def valid_to(rel: dict) -> datetime | None:
    ends = [rel[c] for c in ("invalidated_at", "expired_at") if rel[c] is not None]
    return min(ends) if ends else None


def user_relations(conn, user: str) -> tuple[int | None, list[dict], dict[int, dict]]:
    """(the speaker's entity id, every relation touching it, entities by id). A user's entity is keyed
    by the account key; a character's own facts are kept under its name (cognition/graph.py)."""
    return search_index.user_graph(conn, entity_norm(user) if is_user_key(user) else norm(user))


def search(conn, user: str, query: str, *, at: datetime | None, include_invalid: bool, limit: int, preloaded=None) -> tuple[list[tuple[str, int, float]], dict[int, dict], dict[int, dict]]:
    """([("relation", id, score)] best first, relations by id, entities by id). `preloaded` is the
    result of user_relations() when the caller already has it."""
    uid, hop1, ents = preloaded if preloaded is not None else user_relations(conn, user)
    ents = dict(ents)
    if uid is None:
        return [], {}, {}
    valid = (lambda r: True) if include_invalid and at is None else (lambda r: relation_valid(r, at))

    def keep(r: dict) -> bool:
        # the hub-organisation layer (hubs.py) only restates relations that exist beside it: as
        # evidence it would repeat them and spend hop-2 slots on group nodes
        return valid(r) and GROUP_TYPE not in (ents.get(r["src_id"], {}).get("type"), ents.get(r["dst_id"], {}).get("type"))

    hop1 = [r for r in hop1 if keep(r)]
    matched = set(search_index.entities_by_norms(conn, sorted({norm(g) for g in ngrams(query)} - {norm(user)})))
    neighbours = {r["src_id"] for r in hop1} | {r["dst_id"] for r in hop1}
    neighbours.discard(uid)
    # hop 2: what the user's neighbours point at (Clara -> lives_in -> Lisbon), plus every edge of a
    # neighbour the question names; never the full fan-in of a shared object such as "nurse"
    hop2 = search_index.relations_from(conn, neighbours, limit=_HOP2_LIMIT)
    if neighbours & matched:
        hop2 += search_index.relations_touching(conn, neighbours & matched)
    missing = ({r["src_id"] for r in hop2} | {r["dst_id"] for r in hop2}) - set(ents)
    if missing:
        ents.update(search_index.entities_by_ids(conn, missing))
    hop2 = [r for r in hop2 if keep(r)]
    qwords = {w for w in words(query) if w not in STOPWORDS} - set(words(user))
    asked = predicates_for(query)

    def overlap(ws: set[str]) -> int:
        return sum(1 for w in ws if any(same_word(w, q) for q in qwords))

    rels: dict[int, dict] = {}
    scored: list[tuple[float, int]] = []
    for hop, group in ((1, hop1), (2, hop2)):
        for r in group:
            if r["id"] in rels:
                continue
            rels[r["id"]] = r
            ends = {r["src_id"], r["dst_id"]}
            pred = {w for w in words(r["predicate"].replace("_", " ")) if w not in STOPWORDS}
            names = set()
            for e in ends - {uid}:
                names |= set(words(ents.get(e, {}).get("name", "")))
            score = 2.0 * len(ends & matched) + 1.5 * (r["predicate"] in asked) + 1.0 * overlap(pred) + 0.5 * overlap(names)
            if score <= 0:
                continue
            score = score / hop + 0.01 * float(r["weight"] or 0)
            scored.append((score, r["id"]))
    scored.sort(key=lambda t: (-t[0], -t[1]))
    return [("relation", rid, s) for s, rid in scored[:limit]], rels, ents
