"""`recall()`: what the conversation between a user and a character holds that bears on a message, for
a bot at reply time: turns first (both speakers), ranked from full-text, vectors, facts, summaries and
the graph, each carrying the derived items that led to it; every hit traced to its source messages."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime, timezone
from typing import Iterable

from background_pipelines.config import Settings
from background_pipelines.recall import graph, turns, vectors
from background_pipelines.recall.fusion import rrf
from background_pipelines.recall.hit import KINDS, Hit
from background_pipelines.recall.text import expand_terms, query_terms
from background_pipelines.cognition.graph import normalize_name as norm
from background_pipelines.store import Store, open_store, search_index
from background_pipelines.store import facts as facts_store
from background_pipelines.users import UnknownUserError, UserError, is_user_key, resolve_user

MODES = ("fulltext", "vectors", "graph")
TURNS = ("message",)  # the default `kinds`: conversation turns with their context attached
_CONTEXT = 5  # derived items attached to one turn at most
_CHARACTER_FACTS = 64  # of the character's facts stated in this conversation, embedded per query at most
_FACT_VEC_CACHE = 10_000  # fact vectors kept in process (~15 MB at 384 dimensions)
_fact_vec_cache: "OrderedDict[tuple[str, str], object]" = OrderedDict()
_fact_vec_lock = threading.Lock()
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
    kinds: Iterable[str] = TURNS,
    settings: Settings | None = None,
) -> list[Hit]:
    """The `k` turns of the conversation between `user` and `character` that best bear on `query`.

    The conversation is every channel the user wrote in (with `character`: where it spoke too), both
    speakers' turns; never another user's private channel. Each hit is a turn with its speaker,
    session and time, carrying as `context` the facts, summaries and relations that led to it.
    `kinds` other than ("message",) returns those derived items instead (e.g. kinds=("fact",)),
    fused as before. Facts and relations that were invalidated or expired are left out unless
    `include_invalid`; `at` answers as of that time (only what was said and valid then).

    `user` is a user key ("telegram:user42"), a platform user id or an unambiguous display name; an
    ambiguous name raises RecallError listing the candidates, an unknown one recalls nothing. Accounts
    linked to it (`bgp users link`) are searched too; no other account's memory ever is.
    """
    modes, kinds = tuple(modes), tuple(kinds)
    _check(user, query, k, modes)
    bad = [x for x in kinds if x not in KINDS]
    if bad or not kinds:
        raise RecallError(f"recall(kinds={kinds!r}): expected one or more of {KINDS}")
    at = parse_at(at)
    settings = settings or Settings.from_env()
    store = store or _store_for(settings)
    try:
        keys = resolve_user(store, user).keys
    except UnknownUserError:
        return []  # no account by that key, id or name: nothing is known (a new user, or a forgotten one)
    except UserError as exc:
        raise RecallError(f"recall(user={user!r}): {exc}") from None
    if len(keys) == 1:
        return _recall_account(keys[0], query, character, k, at, store, include_invalid, modes, kinds, settings)
    # linked accounts: each account's own fusion, merged by score
    hits = [h for key in keys for h in _recall_account(key, query, character, k, at, store, include_invalid, modes, kinds, settings)]
    return sorted(hits, key=lambda h: -h.score)[:k]


def _recall_account(user: str, query: str, character: str | None, k: int, at: datetime | None, store: Store,
                    include_invalid: bool, modes: tuple[str, ...], kinds: tuple[str, ...], settings: Settings) -> list[Hit]:
    """recall() over one account, `user` being its key."""
    depth = max(3 * k, 50)
    with store.connect() as conn:
        g = _gather(conn, settings, user, query, character, at, include_invalid, modes, depth)
        if kinds == TURNS:
            return _turn_hits(conn, g, query, character, at, include_invalid, k, depth)
        return _derived_hits(conn, g, at, include_invalid, k, kinds)


def _platform(user: str) -> str | None:
    """The platform of a user key: its conversations' channels are looked up on that platform only."""
    return user.partition(":")[0] if is_user_key(user) else None


def _gather(conn, settings, user, query, character, at, include_invalid, modes, depth) -> dict:
    """Every mode's ranking, each list best first: turns, facts, summaries and relations."""
    g: dict = {"channels": search_index.conversation_channels(conn, user, character=character, at=at), "user": user}
    preloaded = graph.user_relations(conn, user)
    g["uid"], g["user_rels"], g["ents"] = preloaded
    g["rels"] = {r["id"]: r for r in g["user_rels"]}
    for key in ("turns_ft", "facts_ft", "sums_ft", "turns_vec", "facts_vec", "sums_vec", "relations"):
        g[key] = []
    if "fulltext" in modes:
        words = query_terms(query, exclude=(user, character))
        # turns are matched on the question's own words; facts also on the predicates it asks about
        g["turns_ft"] = search_index.search_turns(conn, g["channels"], words, character=character, at=at, limit=depth,
                                                  platform=_platform(user))
        terms = expand_terms(words, query)
        g["facts_ft"] = search_index.search_facts_of(conn, [user, character], terms, at=at, limit=depth)
        g["sums_ft"] = search_index.search_summaries(conn, user, terms, character=character, at=at, limit=depth)
    if "vectors" in modes:
        qvec = vectors.query_vector(settings, query)
        g["backend"] = qvec[0].backend
        g["turns_vec"] = vectors.search_turns(conn, settings, g["channels"], query, character=character, at=at, limit=depth, qvec=qvec,
                                              platform=_platform(user))
        derived = vectors.search(conn, settings, user, query, character=character, at=at, limit=depth, qvec=qvec, messages=False)
        g["facts_vec"] = [(i, s) for kind, i, s in derived if kind == "fact"]
        if character and g["channels"]:  # the character's facts too: what it told the user is evidence as much
            g["facts_vec"] = sorted(g["facts_vec"] + _character_fact_vectors(conn, character, g["channels"], at, qvec),
                                    key=lambda t: -t[1])[:depth]
        g["sums_vec"] = [(i, s) for kind, i, s in derived if kind == "summary"]
    if "graph" in modes:
        # from both speakers' entities: what the character told the user is as much the conversation's
        # as what the user told it (a user-centred graph found 34% of user-spoken evidence, 3% of the character's)
        ranked: list[tuple[float, int]] = []
        for who, pre in ((user, preloaded), (character, None)):
            if not who:
                continue
            got, found, found_ents = graph.search(conn, who, query, at=at, include_invalid=include_invalid, limit=depth, preloaded=pre)
            ranked += [(s, i) for _, i, s in got]
            g["rels"].update(found)
            g["ents"].update(found_ents)
        best: dict[int, float] = {}
        for s, i in ranked:
            best[i] = max(best.get(i, s), s)
        g["relations"] = sorted(best.items(), key=lambda t: (-t[1], -t[0]))[:depth]
    return g


def _character_fact_vectors(conn, character: str, channels: list[str], at, qvec) -> list[tuple[int, float]]:
    """(fact id, cosine) of the character's own facts stated in this conversation, embedded on the fly
    (bounded: a user's facts are embedded on the fly the same way in vectors.search)."""
    rows = facts_store.facts_stated_in(conn, character, channels, at=at, limit=_CHARACTER_FACTS)
    if not rows:
        return []
    emb, q = qvec
    texts = [vectors.fact_text(r) for r in rows]
    scores = _fact_vectors(emb, texts) @ q
    return [(r["id"], float(s)) for r, s in zip(rows, scores)]


def _fact_vectors(emb, texts: list[str]):
    """The vectors of fact texts, from a bounded in-process cache (a fact's text never changes, and a
    bot asks about the same conversation turn after turn: 64 facts cost ~220 ms CPU with MiniLM)."""
    import numpy as np

    with _fact_vec_lock:
        missing = [t for t in dict.fromkeys(texts) if (emb.model_id, t) not in _fact_vec_cache]
    fresh = dict(zip(missing, emb.encode(missing).astype(np.float32))) if missing else {}  # outside the lock
    with _fact_vec_lock:
        for t, v in fresh.items():
            _fact_vec_cache[(emb.model_id, t)] = v
        out = []
        for t in texts:
            key = (emb.model_id, t)
            v = _fact_vec_cache.get(key)
            if v is None:  # evicted meanwhile by another thread (rare): this call's own vector, or again
                v = fresh[t] if t in fresh else emb.encode([t]).astype(np.float32)[0]
            _fact_vec_cache[key] = v
            _fact_vec_cache.move_to_end(key)
            out.append(v)
        while len(_fact_vec_cache) > _FACT_VEC_CACHE:
            _fact_vec_cache.popitem(last=False)
    return np.stack(out)


def _merge(*lists: list[tuple[int, float]]) -> list[int]:
    """Ids of several rankings of one kind of item merged by reciprocal rank."""
    fused = rrf({str(n): [("x", i, s) for i, s in lst] for n, lst in enumerate(lists)})
    return [key[1] for key, _, _ in fused]


def _in_scope(row: dict, channels: set[str], character: str | None, at: datetime | None) -> bool:
    return (row["channel"] in channels and (at is None or row["created_at"] <= at)
            and (not character or row["author_kind"] == "user" or row["author"] == character))


def turn_signals(user: str, query: str, character: str | None = None, *, store: Store, settings: Settings,
                 at: datetime | None = None, k: int = 10, modes: Iterable[str] = MODES) -> turns.Signals | None:
    """The per-mode turn rankings recall() fuses for this question (for measuring fusion weights)."""
    depth = max(3 * k, 50)
    try:
        user = resolve_user(store, user).key
    except UnknownUserError:
        return None
    with store.connect() as conn:
        g = _gather(conn, settings, user, query, character, at, False, tuple(modes), depth)
        got = _signals(conn, g, query, character, at, depth)
    return got[0] if got else None


def _signals(conn, g: dict, query: str, character, at, depth: int):
    channels = set(g["channels"])
    if not channels:
        return None
    fact_ids, sum_ids = _merge(g["facts_ft"], g["facts_vec"]), _merge(g["sums_ft"], g["sums_vec"])
    fact_ft_ids = [i for i, _ in g["facts_ft"]]
    facts = search_index.facts_by_ids(conn, fact_ids[:depth])
    sums = search_index.summaries_by_ids(conn, sum_ids[:depth])
    rels, ents = g["rels"], g["ents"]
    sources: dict[tuple[str, int], list[int]] = {}
    sources.update({("fact", i): [int(x) for x in f["source_message_ids"] or []] for i, f in facts.items()})
    sources.update({("summary", i): [int(x) for x in s["message_ids"] or []] for i, s in sums.items()})
    sources.update({("relation", i): [int(x) for x in rels[i]["source_message_ids"] or []] for i, _ in g["relations"] if i in rels})
    ranks = {
        "fulltext": {i: r for r, (i, _) in enumerate(g["turns_ft"], start=1)},
        "vectors": {i: r for r, (i, _) in enumerate(g["turns_vec"], start=1)},
        # facts matched by full text (the user's and the character's alike) and, apart, by vectors (the
        # user's only: a character's facts span all its users, too many to embed per query)
        "facts": turns.derived_ranks([("fact", i) for i in fact_ft_ids], sources, depth),
        "fact_vectors": turns.derived_ranks([("fact", i) for i, _ in g["facts_vec"]], sources, depth),
        "summaries": turns.derived_ranks([("summary", i) for i in sum_ids], sources, depth),
        "graph": turns.derived_ranks([("relation", i) for i, _ in g["relations"]], sources, depth),
    }
    rows = search_index.messages_by_ids(conn, {i for r in ranks.values() for i in r})
    in_scope = {i: m for i, m in rows.items() if _in_scope(m, channels, character, at)}
    ranks = {mode: {i: r for i, r in rr.items() if i in in_scope} for mode, rr in ranks.items()}
    sig = turns.Signals(ranks, in_scope, {}, turns.asks_when(query), named=turns.named_speakers(query, (g["user"], character)))
    # the neighbours of the strongest turns: an answer sits right after its question
    top = [i for i, _ in turns.fuse(sig, **{**turns.settings_for(g.get("backend")), "neighbour": 0.0, "temporal": 0.0})[:depth]]
    order = search_index.session_turns(conn, {in_scope[i]["session"] for i in top})
    for ids in order.values():
        for n, mid in enumerate(ids):
            sig.neighbours[mid] = ids[max(0, n - 1) : n] + ids[n + 1 : n + 2]
    extra = {n for i in top for n in sig.neighbours.get(i, ()) if n not in in_scope}
    in_scope.update({i: m for i, m in search_index.messages_by_ids(conn, extra).items() if _in_scope(m, channels, character, at)})
    return sig, facts, sums, fact_ids, sum_ids


def _turn_hits(conn, g: dict, query: str, character, at, include_invalid: bool, k: int, depth: int) -> list[Hit]:
    got = _signals(conn, g, query, character, at, depth)
    if got is None:
        return []
    sig, facts, sums, fact_ids, sum_ids = got
    rels, ents, ranks, in_scope = g["rels"], g["ents"], sig.ranks, sig.turns
    fused = turns.fuse(sig, **turns.settings_for(g.get("backend")))[:k]
    # context: the derived items that cite each returned turn, visible at `at`
    fact_end = _fact_validity(facts, g["uid"], g["user_rels"], ents)
    cited: dict[int, list[Hit]] = {}
    for mode, keys in (("facts", [("fact", i) for i in fact_ids]), ("summaries", [("summary", i) for i in sum_ids]),
                       ("graph", [("relation", i) for i, _ in g["relations"]])):
        for rank, (kind, item_id) in enumerate(keys[:depth], start=1):
            hit = _hit(kind, item_id, 0.0, {mode: rank}, {}, sums, facts, fact_end, rels, ents)
            if hit is None or (kind in ("fact", "relation") and not _visible_context(hit, at, include_invalid)):
                continue
            for mid in hit.source_message_ids:
                seen = cited.setdefault(mid, [])
                if not any(c.text == hit.text for c in seen):  # a relation restating a fact adds nothing
                    seen.append(hit)
    out = []
    when = turns.asks_when(query)
    names = {m["author"]: m.get("author_name") or m["author"] for m in in_scope.values()}  # user key -> display name
    for mid, score in fused:
        m = in_scope[mid]
        modes_of = {mode: rr[mid] for mode, rr in ranks.items() if mid in rr}
        context = [_as_context(c, at, names) for c in cited.get(mid, [])[:_CONTEXT]]
        hit = Hit("message", mid, m["text"], score, [mid], m["created_at"], None, modes_of, speaker=m.get("author_name") or m["author"],
                  speaker_kind=m["author_kind"], session=m["session"], channel=m["channel"], context=context, speaker_id=m["author"])
        if when:  # a "when" question: the dated event its facts point at; `at` stays the turn's (session) time
            dated = next((c for c in context if c.event_start is not None), None)
            if dated is not None:
                hit.event_start, hit.event_end = dated.event_start, dated.event_end
        out.append(hit)
    return out


def _day(t: datetime) -> str:
    return t.date().isoformat()


def _as_context(item: Hit, at: datetime | None, names: dict[str, str]) -> Hit:
    """A context fact or relation as a bot reads it: one that has ended says so, with its dates (never as
    if it still held), and a dated event says when. As of `at`, what had not ended by then reads as current."""
    if item.kind not in ("fact", "relation"):
        return item
    subject, _, rest = item.text.partition(" ")
    if subject in names and names[subject] != subject:  # "demo:dana works as ..." reads "Dana works as ..."
        item = replace(item, text=f"{names[subject]} {rest}")
    notes = []
    if item.event_start is not None:
        end = item.event_end or item.event_start
        notes.append(f"on {_day(item.event_start)}" if _day(end) == _day(item.event_start) else f"{_day(item.event_start)} to {_day(end)}")
    if item.ended:  # the statement that ended it: its event day, else the day it was said
        notes.append(f"ended {_day(item.event_end or item.valid_from)}" if (item.event_end or item.valid_from) else "ended")
        notes = notes[1:] if item.event_start is not None else notes  # "ended" already carries the day
    elif item.valid_to is not None and (at is None or item.valid_to <= at):
        notes.append(f"ended {_day(item.valid_to)}" + (f", held from {_day(item.valid_from)}" if item.valid_from else ""))
    if notes:
        item = replace(item, text=f"{item.text} ({'; '.join(notes)})")
    return item


def _derived_hits(conn, g: dict, at, include_invalid: bool, k: int, kinds: tuple[str, ...]) -> list[Hit]:
    """The derived items (and turns, if asked with them) fused by reciprocal rank across modes."""
    rankings: dict[str, list[tuple[str, int, float]]] = {}
    ft = {"fact": g["facts_ft"], "summary": g["sums_ft"], "message": g["turns_ft"]}
    if any(ft.values()):  # bm25 is not comparable across tables: interleave by rank (facts first on ties)
        rankings["fulltext"] = [(kind, *ft[kind][r]) for r in range(max(len(v) for v in ft.values()))
                                for kind in ("fact", "summary", "message") if r < len(ft[kind])]
    vec = [("fact", i, s) for i, s in g["facts_vec"]] + [("summary", i, s) for i, s in g["sums_vec"]] + [("message", i, s) for i, s in g["turns_vec"]]
    if vec:  # cosines of one embedder are comparable across kinds
        rankings["vectors"] = sorted(vec, key=lambda t: -t[2])
    if g["relations"]:
        rankings["graph"] = [("relation", i, s) for i, s in g["relations"]]
    fused = [f for f in rrf(rankings) if f[0][0] in kinds]
    want = {kind: [key[1] for key, _, _ in fused if key[0] == kind] for kind in ("message", "summary", "fact")}
    msgs = search_index.messages_by_ids(conn, want["message"])
    sums = search_index.summaries_by_ids(conn, want["summary"])
    facts = search_index.facts_by_ids(conn, want["fact"])
    fact_end = _fact_validity(facts, g["uid"], g["user_rels"], g["ents"])
    hits: list[Hit] = []
    for (kind, item_id), score, ranks in fused:
        hit = _hit(kind, item_id, score, ranks, msgs, sums, facts, fact_end, g["rels"], g["ents"])
        if hit is None:
            continue
        if kind in ("fact", "relation") and not _visible(hit, at, include_invalid):
            continue
        hits.append(hit)
        if len(hits) == k:
            break
    return hits


def _visible_context(hit: Hit, at: datetime | None, include_invalid: bool) -> bool:
    """A statement that ended a fact ("I lost my job as a banker") is history, true whatever came after:
    it stays in the context (read as ended) once said; everything else as _visible."""
    if hit.ended:
        return at is None or hit.valid_from is None or hit.valid_from <= at
    return _visible(hit, at, include_invalid)


def _visible(hit: Hit, at: datetime | None, include_invalid: bool) -> bool:
    if at is not None:
        return (hit.valid_from is None or hit.valid_from <= at) and (hit.valid_to is None or hit.valid_to > at)
    return include_invalid or hit.valid_to is None


def _hit(kind, item_id, score, ranks, msgs, sums, facts, fact_end, rels, ents) -> Hit | None:
    if kind == "message" and item_id in msgs:
        m = msgs[item_id]
        return Hit("message", item_id, m["text"], score, [item_id], m["created_at"], None, ranks, speaker=m.get("author_name") or m["author"],
                   speaker_kind=m["author_kind"], session=m["session"], channel=m["channel"], speaker_id=m["author"])
    if kind == "summary" and item_id in sums:
        s = sums[item_id]
        return Hit("summary", item_id, s["text"], score, [int(i) for i in s["message_ids"] or []], s["created_at"], None, ranks)
    if kind == "fact" and item_id in facts:
        f = facts[item_id]
        text = f"{f['subject']} {f['predicate'].replace('_', ' ')} {f['object']}"
        return Hit("fact", item_id, text, score, [int(i) for i in f["source_message_ids"] or []], f["valid_from"], fact_end.get(item_id), ranks,
                   event_start=f.get("event_start"), event_end=f.get("event_end"), ended=bool(f.get("ended")))
    if kind == "relation" and item_id in rels:
        r = rels[item_id]
        src = ents.get(r["src_id"], {}).get("name", f"#{r['src_id']}")
        dst = ents.get(r["dst_id"], {}).get("name", f"#{r['dst_id']}")
        text = f"{src} {r['predicate'].replace('_', ' ')} {dst}"
        return Hit("relation", item_id, text, score, [int(i) for i in r["source_message_ids"] or []], r["valid_from"], graph.valid_to(r), ranks)
    return None  # deleted between ranking and reading (a concurrent forget): leave it out
