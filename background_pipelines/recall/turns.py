"""Turns first: conversation turns are the unit of evidence. Full-text and vector rankings of the turns,
plus facts, summaries and relations that point at their source turns, are fused by weighted reciprocal
rank; a turn next to a strong turn shares some of its score (a question and its answer sit side by
side), and a "when" question prefers turns that say when. Weights measured by benchmarks/memory_tune.py."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

# Measured by benchmarks/memory_tune.py with all-MiniLM-L6-v2 (the default local embedder), tuned on
# generated seed 0 (memory_gen.py), the demo world and real chat (chitchat-dataset pairs 3-4), never
# below full text alone on any of them; a derived signal is at most half as strong as the turn's own
# words. Macro recall@10 on sets never tuned on (full text alone -> these): held-out generator
# (memory_gen_heldout.py) 0.432 -> 0.778, generated seed 1 0.587 -> 0.748, real chat (chitchat pairs
# 1-2) 0.321 -> 0.696; re-measured after the character's facts and graph joined (2026-12-07): the
# search's best differs only by facts 0.5, within 0.002 on the tuning sets. Each signal's
# contribution is printed there.
WEIGHTS: dict[str, float] = {"fulltext": 1.0, "vectors": 1.0, "facts": 0.25, "fact_vectors": 0.5, "summaries": 0.1, "graph": 0.5}
NEIGHBOUR = 0.6  # share of the best adjacent turn's score a turn receives (real chat held out: 0.500 without)
TEMPORAL = 0.0  # boost of a turn that says when, for a question that asks when (measured: no gain)
SPEAKER = 0.5  # boost of a turn spoken by the person the question names
RRF_K = 20
# The hashing fallback's vectors are much weaker (memory_embedders.py: dense-only recall@10 0.342 vs
# 0.692), so its measured best leans on full text, facts and neighbours. Held out (full text alone ->
# these): held-out generator 0.432 -> 0.585, generated seed 1 0.587 -> 0.663, real chat 0.321 -> 0.384.
HASHING = {"weights": {"fulltext": 1.0, "vectors": 0.5, "facts": 0.5, "fact_vectors": 0.5, "summaries": 0.1, "graph": 0.5},
           "neighbour": 0.6, "temporal": 0.0, "speaker": 0.5, "k_rrf": 10}


def settings_for(embedder_backend: str | None) -> dict:
    """fuse()'s keyword arguments measured for this embedder backend."""
    if embedder_backend == "hashing":
        return dict(HASHING)
    return {"weights": WEIGHTS, "neighbour": NEIGHBOUR, "temporal": TEMPORAL, "speaker": SPEAKER, "k_rrf": RRF_K}

_TEMPORAL_QUESTION = re.compile(
    r"\b(when|what (day|date|time|month|year|week)|which (day|date|month|year|week)|how long ago|what year|since when)\b", re.I)
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_TEMPORAL_TURN = re.compile(
    r"\b(yesterday|today|tonight|tomorrow|last|next|ago|this (morning|afternoon|evening|week|weekend|month|year)|weekend|"
    rf"(mon|tues|wednes|thurs|fri|satur|sun)day|{_MONTHS}|(19|20)\d\d)\b", re.I)


def asks_when(query: str) -> bool:
    return bool(_TEMPORAL_QUESTION.search(query))


def says_when(text: str) -> bool:
    return bool(_TEMPORAL_TURN.search(text or ""))


@dataclass
class Signals:
    """Everything the fusion needs for one question, gathered once (so weights can be measured offline)."""

    ranks: dict[str, dict[int, int]]  # mode -> {message id: 1-based rank}
    turns: dict[int, dict]  # candidate turns in scope (rows of messages_by_ids)
    neighbours: dict[int, list[int]]  # message id -> the turns just before and after it in its session
    temporal: bool
    context: dict[int, list[tuple[str, int]]] = field(default_factory=dict)  # message id -> derived (kind, id)
    named: frozenset[str] = frozenset()  # speakers the question names, lower case


def named_speakers(query: str, speakers) -> frozenset[str]:
    """The speakers (user and character names) whose name is a word of the question."""
    q = {w.lower() for w in re.findall(r"\w+", query)}
    return frozenset(s.lower() for s in speakers if s and set(re.findall(r"\w+", s.lower())) & q)


def derived_ranks(items: list[tuple[str, int]], sources: dict[tuple[str, int], list[int]], limit: int) -> dict[int, int]:
    """{message id: rank of the best derived item citing it}: a fact or summary pulls up its turns."""
    out: dict[int, int] = {}
    for rank, key in enumerate(items[:limit], start=1):
        for mid in sources.get(key, []):
            out.setdefault(mid, rank)
    return out


def fuse(sig: Signals, weights: dict[str, float] | None = None, neighbour: float | None = None, temporal: float | None = None,
         k_rrf: int = RRF_K, speaker: float | None = None) -> list[tuple[int, float]]:
    """[(message id, score)] best first over the candidate turns."""
    weights = WEIGHTS if weights is None else weights
    neighbour = NEIGHBOUR if neighbour is None else neighbour
    temporal = TEMPORAL if temporal is None else temporal
    speaker = SPEAKER if speaker is None else speaker
    base: dict[int, float] = defaultdict(float)
    for mode, ranked in sig.ranks.items():
        w = weights.get(mode, 0.0)
        if w:
            for mid, r in ranked.items():
                base[mid] += w / (k_rrf + r)
    scored: list[tuple[int, float]] = []
    for mid, row in sig.turns.items():
        s = base.get(mid, 0.0) + neighbour * max((base.get(n, 0.0) for n in sig.neighbours.get(mid, ())), default=0.0)
        if sig.temporal and temporal and says_when(row["text"]):
            s *= 1.0 + temporal
        if speaker and row["author"].lower() in sig.named:
            s *= 1.0 + speaker
        if s > 0:
            scored.append((mid, s))
    scored.sort(key=lambda t: (-t[1], t[0]))
    return scored
