"""Implicit edges: entities mentioned in the same sessions (through the source messages of their
explicit relations) get an inferred `co_occurs_with` relation, unless an explicit one links them."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from itertools import combinations

from background_pipelines.graph_upkeep.decay import DEFAULT_FACTOR, DEFAULT_THRESHOLD, strength
from background_pipelines.store.ledger import utcnow

from background_pipelines.store.engine import Store
from background_pipelines.store.graph_upkeep import (
    explicit_pairs,
    inferred_pairs,
    mention_sources,
    message_sessions,
    upsert_cooccurrence,
)

MIN_SESSIONS = 2  # one shared session is chance; two is a pattern
MAX_ENTITIES_PER_SESSION = 50  # a session naming more is a list, not a co-occurrence signal


@dataclass
class EnrichmentResult:
    sessions: int = 0
    pairs_seen: int = 0
    inserted: int = 0
    updated: int = 0
    skipped_explicit: int = 0
    stale: int = 0  # pairs last seen together too long ago to start an edge

    def preview(self) -> str:
        return (
            f"{self.sessions} sessions, {self.pairs_seen} co-occurring pairs: **{self.inserted}** inferred edges added, "
            f"{self.updated} refreshed, {self.skipped_explicit} already explicit, {self.stale} too old to add"
        )


def enrich_cooccurrence(
    store: Store,
    *,
    min_sessions: int = MIN_SESSIONS,
    factor: float = DEFAULT_FACTOR,
    threshold: float = DEFAULT_THRESHOLD,
    now: datetime | None = None,
) -> EnrichmentResult:
    """Add or refresh inferred co-occurrence edges (weight = min(1, shared sessions / 5)). A pair
    whose decayed strength is already below the expiry floor gets no new edge: decay would expire
    it at once and pruning delete it, night after night."""
    now = now or utcnow()
    sources = mention_sources(store)
    msg = message_sessions(store, (m for _, _, ids in sources for m in ids))
    per_session: dict[str, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
    for src, dst, ids in sources:
        for m in ids:
            if m in msg:
                session = msg[m][0]
                per_session[session][src].add(m)
                per_session[session][dst].add(m)
    pair_sessions: dict[tuple[int, int], set[str]] = defaultdict(set)
    pair_messages: dict[tuple[int, int], set[int]] = defaultdict(set)
    for session, ents in per_session.items():
        if len(ents) > MAX_ENTITIES_PER_SESSION:
            continue
        for a, b in combinations(sorted(ents), 2):
            pair_sessions[(a, b)].add(session)
            pair_messages[(a, b)] |= ents[a] | ents[b]
    explicit = explicit_pairs(store)
    existing = inferred_pairs(store)
    result = EnrichmentResult(sessions=len(per_session), pairs_seen=len(pair_sessions))
    edges = []
    for pair, sessions in sorted(pair_sessions.items()):
        if len(sessions) < min_sessions:
            continue
        if pair in explicit:
            result.skipped_explicit += 1
            continue
        mids = sorted(pair_messages[pair])
        times = [msg[m][1] for m in mids]
        n = len(sessions)
        if strength(min(1.0, n / 5.0), max(times), now, factor) < threshold and pair not in existing:
            result.stale += 1
            continue
        edges.append(
            dict(
                src_id=pair[0], dst_id=pair[1], weight=min(1.0, n / 5.0), confidence=round(1 - 1 / (1 + n), 4),
                first_seen=min(times), last_seen=max(times), source_message_ids=mids,
            )
        )
    result.inserted, result.updated = upsert_cooccurrence(store, edges)
    return result
