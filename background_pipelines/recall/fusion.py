"""Reciprocal rank fusion: each mode's ranking contributes 1 / (K + rank) per item, so modes with
incomparable scores (bm25, cosine, graph overlap) combine without calibration."""

from __future__ import annotations

from typing import Mapping, Sequence

RRF_K = 60


def rrf(rankings: Mapping[str, Sequence[tuple[str, int, float]]], k: int = RRF_K) -> list[tuple[tuple[str, int], float, dict[str, int]]]:
    """[((kind, id), fused score, {mode: rank})] best first; ties broken by best single rank, then key."""
    fused: dict[tuple[str, int], float] = {}
    ranks: dict[tuple[str, int], dict[str, int]] = {}
    for mode, ranking in rankings.items():
        seen: set[tuple[str, int]] = set()
        for rank, (kind, item_id, _score) in enumerate(ranking, start=1):
            key = (kind, item_id)
            if key in seen:
                continue
            seen.add(key)
            fused[key] = fused.get(key, 0.0) + 1.0 / (k + rank)
            ranks.setdefault(key, {})[mode] = rank
    order = sorted(fused, key=lambda key: (-fused[key], min(ranks[key].values()), key))
    return [(key, fused[key], ranks[key]) for key in order]
