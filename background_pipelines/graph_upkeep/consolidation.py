"""Entity resolution: blocking on normalized-name keys (sorted core, acronym, one-deletion
neighbourhood), fuzzy similarity (rapidfuzz), acronyms and known aliases, with embeddings confirming
the fuzzy matches; every merge is audited for unmerge.

Precision first: only same-type entities merge, a typo match may differ in one word only, numbers
and short words must match exactly, and a name that merely extends another ("Globe"/"Globex")
stays apart.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein

from background_pipelines.graph_upkeep.normalize import NameKey, name_key
from background_pipelines.store.engine import Store
from background_pipelines.store.graph_upkeep import load_entities, merge_entities
from background_pipelines.store.ledger import utcnow

# Tuned on benchmarks/consolidation.py (see its table): candidates need ratio >= FUZZY_CUTOFF on the
# sorted core; a fuzzy (typo) match must also reach EMBED_MIN cosine on the embedder's vectors.
FUZZY_CUTOFF = 85
EMBED_MIN = 0.3
TYPO_MIN_LEN = 5  # shorter words must match exactly
MERGE_BATCH = 500  # merges per transaction


@dataclass(frozen=True)
class MergePlan:
    survivor_id: int
    merged_id: int
    score: float
    reason: str  # exact | alias | acronym | fuzzy


@dataclass
class ConsolidationResult:
    entities: int = 0
    blocks: int = 0
    pairs_compared: int = 0
    candidates: int = 0
    merges: int = 0
    merge_ids: list[int] = field(default_factory=list)
    plans: list[MergePlan] = field(default_factory=list)
    by_reason: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    plan_seconds: float = 0.0
    names: dict[int, str] = field(default_factory=dict)  # entity id -> name, for the planned merges

    @property
    def all_pairs(self) -> int:
        return self.entities * (self.entities - 1) // 2

    def preview(self, names: dict[int, str] | None = None, limit: int = 10) -> str:
        lines = [
            f"**{self.merges} merges** among {self.entities} entities; {self.pairs_compared} pairs compared "
            f"({self.all_pairs} for all pairs)",
            "",
            "| merged | into | reason | score |",
            "|---|---|---|---|",
        ]
        names = names or self.names
        for p in self.plans[:limit]:
            lines.append(
                f"| {names.get(p.merged_id, p.merged_id)} | {names.get(p.survivor_id, p.survivor_id)} | {p.reason} | {p.score:.2f} |"
            )
        return "\n".join(lines)


def _token_typo(a: str, b: str) -> bool:
    """Two different words that are one typo apart (two for long words), letters only."""
    if not (a.isalpha() and b.isalpha()) or min(len(a), len(b)) < TYPO_MIN_LEN:
        return False
    if a.startswith(b) or b.startswith(a):  # an extension, not a typo ("globe"/"globex")
        return False
    if a[0] != b[0]:  # slips rarely hit the first letter; a new initial is usually a new name
        return False
    limit = 2 if min(len(a), len(b)) >= 10 else 1
    return DamerauLevenshtein.distance(a, b, score_cutoff=limit) <= limit


def _typo_match(a: NameKey, b: NameKey) -> bool:
    """Same words in the same (or sorted) order except exactly one word that is a typo of the other."""
    if len(a.core) != len(b.core):
        return False
    for ta, tb in ((a.core, b.core), (sorted(a.core), sorted(b.core))):
        diffs = [(x, y) for x, y in zip(ta, tb) if x != y]
        if len(diffs) == 1 and _token_typo(*diffs[0]):
            return True
    return False


def _drop_ambiguous(accepted: dict[tuple[int, int], tuple[float, str]], keys: list[NameKey]) -> None:
    """A name that fuzzily matches two names which do not match each other could be either: drop
    its fuzzy links rather than chain the two together (precision first)."""
    group = {i: keys[i].sorted_core for pair in accepted for i in pair}
    neighbours: dict[str, set[str]] = defaultdict(set)
    for (i, j), (_, reason) in accepted.items():
        if reason == "fuzzy":
            neighbours[group[i]].add(group[j])
            neighbours[group[j]].add(group[i])
    ambiguous = {
        g for g, ns in neighbours.items()
        if len(ns) > 1 and any(b not in neighbours[a] for a in ns for b in ns if a < b)
    }
    for pair in [p for p, (_, r) in accepted.items() if r == "fuzzy" and (group[p[0]] in ambiguous or group[p[1]] in ambiguous)]:
        del accepted[pair]


class _UnionFind:
    def __init__(self):
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _blocks(rows: list[dict], keys: list[NameKey], alias_keys: list[list[str]]) -> dict[tuple[str, str], list[int]]:
    """(type, key) -> member indexes, for keys shared by at least two entities. Grouped with pandas:
    a 100k-entity graph has ~2M keys, nearly all unique."""
    flat_keys: list[str] = []
    flat_idx: list[int] = []
    for i, (r, k) in enumerate(zip(rows, keys)):
        ks = k.blocking_keys() + [f"s:{a}" for a in alias_keys[i]]
        prefix = f"{r['type']}\x1f"
        flat_keys.extend(prefix + key for key in ks)
        flat_idx.extend([i] * len(ks))
    frame = pd.DataFrame({"k": flat_keys, "i": flat_idx}).drop_duplicates()
    frame = frame[frame["k"].duplicated(keep=False)]
    grouped: dict[str, list[int]] = defaultdict(list)
    for key, i in zip(frame["k"].tolist(), frame["i"].tolist()):
        grouped[key].append(i)
    out: dict[tuple[str, str], list[int]] = {}
    for key in sorted(grouped):
        etype, _, block_key = key.partition("\x1f")
        out[(etype, block_key)] = sorted(grouped[key])
    return out


def plan_merges(rows: list[dict], embedder=None) -> tuple[list[MergePlan], dict]:
    """Decide merges for entity rows (id, name, type, aliases, degree); no store access.

    Returns the plans (survivor = most relations, then lowest id) and counters."""
    keys = [name_key(r["name"]) for r in rows]
    alias_keys = [[name_key(a).sorted_core for a in r.get("aliases") or []] for r in rows]
    blocks = _blocks(rows, keys, alias_keys)

    pairs_compared = 0
    accepted: dict[tuple[int, int], tuple[float, str]] = {}
    fuzzy: list[tuple[int, int, float]] = []
    seen_pairs: set[tuple[int, int]] = set()

    def _accept(i: int, j: int, score: float, reason: str) -> None:
        pair = (min(i, j), max(i, j))
        if pair not in accepted or accepted[pair][0] < score:
            accepted[pair] = (score, reason)

    for (etype, key), members in blocks.items():
        kind = key[0]
        if kind == "s":  # equal sorted cores (or a known alias): duplicates without comparing text
            first = members[0]
            for j in members[1:]:
                pairs_compared += 1
                exact = keys[first].sorted_core == keys[j].sorted_core
                _accept(first, j, 1.0, "exact" if exact else "alias")
            continue
        if kind == "a":  # one spelled-out name and its acronym; ambiguous acronyms merge nothing
            spelled = {keys[i].sorted_core for i in members if keys[i].acronym}
            if len(spelled) != 1:
                continue
            full = next(i for i in members if keys[i].acronym)
            for j in members:
                if keys[j].as_acronym:
                    pairs_compared += 1
                    _accept(full, j, 0.95, "acronym")
            continue
        # "d:" block: names within one edit of each other; score every pair, keep typo matches
        texts = [keys[i].text for i in members]
        pairs_compared += len(members) * (len(members) - 1) // 2
        if len(members) == 2:  # most blocks: skip the matrix
            r = fuzz.ratio(texts[0], texts[1], score_cutoff=FUZZY_CUTOFF)
            hits = [(0, 1, r)] if r else []
        else:
            scores = process.cdist(texts, texts, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, dtype=np.uint8)
            hits = [(a, b, scores[a, b]) for a, b in zip(*np.nonzero(scores)) if a < b]
        for a, b, r in hits:
            i, j = members[a], members[b]
            pair = (min(i, j), max(i, j))
            if pair in seen_pairs or pair in accepted:
                continue
            seen_pairs.add(pair)
            if keys[i].sorted_core == keys[j].sorted_core:
                _accept(i, j, 1.0, "exact")
            elif _typo_match(keys[i], keys[j]):
                fuzzy.append((i, j, float(r) / 100.0))

    # Embeddings confirm typo matches: a typo keeps most of a name's character n-grams.
    if fuzzy:
        if embedder is not None:
            idx = sorted({i for i, _, _ in fuzzy} | {j for _, j, _ in fuzzy})
            pos = {i: n for n, i in enumerate(idx)}
            vecs = embedder.encode([rows[i]["name"] for i in idx])
            for i, j, ratio in fuzzy:
                cos = float(np.dot(vecs[pos[i]], vecs[pos[j]]))
                if cos >= EMBED_MIN:
                    _accept(i, j, 0.6 * ratio + 0.4 * cos, "fuzzy")
        else:
            for i, j, ratio in fuzzy:
                _accept(i, j, ratio, "fuzzy")

    _drop_ambiguous(accepted, keys)
    uf = _UnionFind()
    for i, j in accepted:
        uf.union(i, j)
    clusters: dict[int, list[int]] = defaultdict(list)
    for i in {x for pair in accepted for x in pair}:
        clusters[uf.find(i)].append(i)
    best_link: dict[int, tuple[float, str]] = {}
    for pair, sr in accepted.items():
        for x in pair:
            if x not in best_link or best_link[x] < sr:
                best_link[x] = sr
    plans: list[MergePlan] = []
    for members in clusters.values():
        survivor = min(members, key=lambda i: (-rows[i].get("degree", 0), rows[i]["id"]))
        for m in sorted(members, key=lambda i: rows[i]["id"]):
            if m == survivor:
                continue
            score, reason = accepted.get((min(m, survivor), max(m, survivor))) or best_link[m]
            plans.append(MergePlan(rows[survivor]["id"], rows[m]["id"], score, reason))
    plans.sort(key=lambda p: (p.survivor_id, p.merged_id))
    stats = dict(
        blocks=len(blocks),
        pairs_compared=pairs_compared,
        candidates=len(accepted) + len(fuzzy),
    )
    return plans, stats


def resolve_entities(store: Store, embedder=None, *, dry_run: bool = False, now: datetime | None = None) -> ConsolidationResult:
    """Find duplicate entities and merge each into its survivor, one audit row per merged entity.

    Idempotent: merged entities are gone and their names live on as survivor aliases, so a second
    run finds nothing new. `dry_run` plans without writing."""
    started = time.perf_counter()
    rows = load_entities(store)
    plans, stats = plan_merges(rows, embedder)
    result = ConsolidationResult(entities=len(rows), plans=plans, plan_seconds=time.perf_counter() - started, **stats)
    planned = {i for p in plans for i in (p.survivor_id, p.merged_id)}
    result.names = {r["id"]: r["name"] for r in rows if r["id"] in planned}
    if not dry_run:
        now = now or utcnow()
        for s in range(0, len(plans), MERGE_BATCH):
            batch = [(p.survivor_id, p.merged_id, p.score, p.reason) for p in plans[s : s + MERGE_BATCH]]
            with store.begin() as conn:
                result.merge_ids.extend(merge_entities(conn, batch, now))
        result.merges = len(result.merge_ids)
    for p in plans:
        result.by_reason[p.reason] = result.by_reason.get(p.reason, 0) + 1
    result.seconds = time.perf_counter() - started
    return result
