"""`recall()`: what the store knows about a user, for a bot at reply time. Full-text, vector and
graph retrieval fused by reciprocal rank; every hit carries its source message ids and valid time."""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from typing import Iterable

from background_pipelines.config import Settings
from background_pipelines.recall import fulltext, graph, vectors
from background_pipelines.recall.fusion import rrf
from background_pipelines.recall.hit import Hit
from background_pipelines.cognition.graph import normalize_name as norm
from background_pipelines.store import Store, open_store, search_index

MODES = ("fulltext", "vectors", "graph")
_stores: dict[str, Store] = {}
_stores_lock = threading.Lock()


class RecallError(ValueError):
    """A recall argument is malformed; the message names the argument and the value."""


def _store_for(settings: Settings) -> Store:
    with _stores_lock:  # one engine (and pool) per URL: opening one per query would dominate latency
        if settings.database_url not in _stores:
            _stores[settings.database_url] = open_store(settings.database_url)
        return _stores[settings.database_url]


def parse_at(at) -> datetime | None:
    """`at` as naive UTC: a datetime (aware ones converted) or an ISO-8601 string."""
    if at is None:
        return None
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at.strip().replace("Z", "+00:00"))
        except ValueError:
            raise RecallError(f"recall(at={at!r}): expected an ISO-8601 time such as 2026-10-05T12:00:00") from None
    if not isinstance(at, datetime):
        raise RecallError(f"recall(at={at!r}): expected a datetime or an ISO-8601 string")
    return at.astimezone(timezone.utc).replace(tzinfo=None) if at.tzinfo else at


def _check(user, query, k, modes) -> None:
    if not isinstance(user, str) or not user.strip():
        raise RecallError(f"recall(user={user!r}): expected a non-empty user name")
    if not isinstance(query, str) or not query.strip():
        raise RecallError(f"recall(query={query!r}): expected a non-empty question")
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 1000:
        raise RecallError(f"recall(k={k!r}): expected an integer from 1 to 1000")
    unknown = [m for m in modes if m not in MODES]
    if unknown or not modes:
        raise RecallError(f"recall(modes={tuple(modes)!r}): expected one or more of {MODES}")


def _fact_validity(facts: dict[int, dict], uid: int | None, rels: list[dict], ents: dict[int, dict]) -> dict[int, datetime | None]:
    """{fact id: valid_to}. A fact ends when every relation the graph built from it has ended: the
    relations citing it in source_fact_ids, else the user's relation with its predicate and object."""
    ends: dict[int, datetime | None] = {}
    for fid, f in facts.items():
        citing = [r for r in rels if fid in (r["source_fact_ids"] or [])]
        if not citing and uid is not None:
            obj = norm(f["object"])
            citing = [
                r
                for r in rels
                if r["src_id"] == uid and r["predicate"] == f["predicate"] and norm(ents.get(r["dst_id"], {}).get("name", "")) == obj
            ]
        if citing and all(graph.valid_to(r) is not None for r in citing):
            ends[fid] = max(graph.valid_to(r) for r in citing)
        else:
            ends[fid] = None
    return ends


def recall(
    user: str,
    query: str,
    character: str | None = None,
    k: int = 10,
    at: datetime | str | None = None,
    store: Store | None = None,
    include_invalid: bool = False,
    *,
    modes: Iterable[str] = MODES,
    settings: Settings | None = None,
) -> list[Hit]:
    """The `k` best hits about `user` for `query`, fused over `modes`.

    `character` restricts messages and summaries to conversations with that character. Facts and
    relations that were invalidated or expired are left out unless `include_invalid`; `at` answers as
    of that time (only what was valid then, and nothing newer).
    """
    modes = tuple(modes)
    _check(user, query, k, modes)
    at = parse_at(at)
    settings = settings or Settings.from_env()
    store = store or _store_for(settings)
    depth = max(3 * k, 30)
    rankings: dict[str, list[tuple[str, int, float]]] = {}
    with store.connect() as conn:
        preloaded = graph.user_relations(conn, user)
        uid, user_rels, ents = preloaded
        rels: dict[int, dict] = {r["id"]: r for r in user_rels}
        if "fulltext" in modes:
            rankings["fulltext"] = fulltext.search(conn, user, query, character=character, at=at, limit=depth)
        if "vectors" in modes:
            rankings["vectors"] = vectors.search(conn, settings, user, query, character=character, at=at, limit=depth)
        if "graph" in modes:
            ranked, found, found_ents = graph.search(
                conn, user, query, at=at, include_invalid=include_invalid, limit=depth, preloaded=preloaded
            )
            rankings["graph"] = ranked
            rels.update(found)
            ents.update(found_ents)
        fused = rrf(rankings)
        want = {kind: [key[1] for key, _, _ in fused if key[0] == kind] for kind in ("message", "summary", "fact")}
        msgs = search_index.messages_by_ids(conn, want["message"])
        sums = search_index.summaries_by_ids(conn, want["summary"])
        facts = search_index.facts_by_ids(conn, want["fact"])
    fact_end = _fact_validity(facts, uid, user_rels, ents)
    hits: list[Hit] = []
    for (kind, item_id), score, ranks in fused:
        hit = _hit(kind, item_id, score, ranks, msgs, sums, facts, fact_end, rels, ents)
        if hit is None:
            continue
        if kind in ("fact", "relation") and not _visible(hit, at, include_invalid):
            continue
        hits.append(hit)
        if len(hits) == k:
            break
    return hits


def _visible(hit: Hit, at: datetime | None, include_invalid: bool) -> bool:
    if at is not None:
        return (hit.valid_from is None or hit.valid_from <= at) and (hit.valid_to is None or hit.valid_to > at)
    return include_invalid or hit.valid_to is None


def _hit(kind, item_id, score, ranks, msgs, sums, facts, fact_end, rels, ents) -> Hit | None:
    if kind == "message" and item_id in msgs:
        m = msgs[item_id]
        return Hit("message", item_id, m["text"], score, [item_id], m["created_at"], None, ranks)
    if kind == "summary" and item_id in sums:
        s = sums[item_id]
        return Hit("summary", item_id, s["text"], score, [int(i) for i in s["message_ids"] or []], s["created_at"], None, ranks)
    if kind == "fact" and item_id in facts:
        f = facts[item_id]
        text = f"{f['subject']} {f['predicate'].replace('_', ' ')} {f['object']}"
        return Hit("fact", item_id, text, score, [int(i) for i in f["source_message_ids"] or []], f["valid_from"], fact_end.get(item_id), ranks)
    if kind == "relation" and item_id in rels:
        r = rels[item_id]
        src = ents.get(r["src_id"], {}).get("name", f"#{r['src_id']}")
        dst = ents.get(r["dst_id"], {}).get("name", f"#{r['dst_id']}")
        text = f"{src} {r['predicate'].replace('_', ' ')} {dst}"
        return Hit("relation", item_id, text, score, [int(i) for i in r["source_message_ids"] or []], r["valid_from"], graph.valid_to(r), ranks)
    return None  # deleted between ranking and reading (a concurrent forget): leave it out
