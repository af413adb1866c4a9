"""Entity resolution: blocking on normalized-name keys (sorted core, acronym, one-deletion
neighbourhood), fuzzy similarity (rapidfuzz), acronyms and known aliases, with embeddings confirming
the fuzzy matches; every merge is audited for unmerge.

Precision first: only same-type entities merge, a typo match may differ in one word only (same
first letter), numbers and short words must match exactly, a name that merely extends another
("Globe"/"Globex") stays apart, and a name one slip from two different names merges with neither.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein

from background_pipelines.graph_upkeep.normalize import NameKey, name_key
from background_pipelines.store.engine import Store
from background_pipelines.store.graph_upkeep import load_entities, merge_entities
from background_pipelines.store.ledger import utcnow
from background_pipelines.users.identity import USER_ENTITY_TYPE

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
    name_variants: int = 0  # names and aliases matched
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


def _keep_unique_fuzzy(accepted: dict[tuple[int, int], tuple[float, str]]) -> None:
    """Keep a typo match only when each side has exactly one typo neighbour (counting entities
    joined by exact, alias or acronym matches as one): a name one slip away from two different
    names could be either, so it merges with neither (precision first). The rule reads only names,
    which live on as aliases after a merge, so a second run decides the same way (idempotent)."""
    groups = _UnionFind()
    for (i, j), (_, reason) in accepted.items():
        if reason != "fuzzy":
            groups.union(i, j)
    neighbours: dict[int, set[int]] = defaultdict(set)
    for (i, j), (_, reason) in accepted.items():
        if reason == "fuzzy":
            gi, gj = groups.find(i), groups.find(j)
            if gi != gj:
                neighbours[gi].add(gj)
                neighbours[gj].add(gi)
    for (i, j), (_, reason) in list(accepted.items()):
        if reason == "fuzzy" and (len(neighbours[groups.find(i)]) != 1 or len(neighbours[groups.find(j)]) != 1):
            del accepted[(i, j)]


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


def _blocks(types: list[str], keys: list[NameKey]) -> dict[tuple[str, str], list[int]]:
    """(type, key) -> indexes of the name variants holding it, for keys shared by at least two.
    Grouped with pandas: a 100k-entity graph has ~2M keys, nearly all unique."""
    flat_keys: list[str] = []
    flat_idx: list[int] = []
    for v, (etype, k) in enumerate(zip(types, keys)):
        ks = k.blocking_keys()
        prefix = f"{etype}\x1f"
        flat_keys.extend(prefix + key for key in ks)
        flat_idx.extend([v] * len(ks))
    import pandas as pd  # at use: pandas costs ~1 CPU-s to import, and only consolidation needs it

    frame = pd.DataFrame({"k": flat_keys, "i": flat_idx}).drop_duplicates()
    frame = frame[frame["k"].duplicated(keep=False)]
    grouped: dict[str, list[int]] = defaultdict(list)
    for key, v in zip(frame["k"].tolist(), frame["i"].tolist()):
        grouped[key].append(v)
    out: dict[tuple[str, str], list[int]] = {}
    for key in sorted(grouped):
        etype, _, block_key = key.partition("\x1f")
        out[(etype, block_key)] = sorted(grouped[key])
    return out


def plan_merges(rows: list[dict], embedder=None) -> tuple[list[MergePlan], dict]:
    """Decide merges for entity rows (id, name, type, aliases, degree); no store access.

    Returns the plans (survivor = most relations, then lowest id) and counters."""
    # every known name of an entity (its name, then its aliases) is a variant that can match
    owner: list[int] = []
    keys: list[NameKey] = []
    texts_all: list[str] = []
    for i, r in enumerate(rows):
        for n, name in enumerate([r["name"], *(r.get("aliases") or [])]):
            if n and name == r["name"]:
                continue
            owner.append(i)
            keys.append(name_key(name))
            texts_all.append(name)
    primary = {}
    for v, i in enumerate(owner):
        primary.setdefault(i, v)
    blocks = _blocks([rows[i]["type"] for i in owner], keys)

    pairs_compared = 0
    accepted: dict[tuple[int, int], tuple[float, str]] = {}
    fuzzy: dict[tuple[int, int], tuple[int, int, float]] = {}  # entity pair -> (variant, variant, ratio)
    seen_pairs: set[tuple[int, int]] = set()

    def _accept(i: int, j: int, score: float, reason: str) -> None:
        pair = (min(i, j), max(i, j))
        if i != j and (pair not in accepted or accepted[pair][0] < score):
            accepted[pair] = (score, reason)

    for (etype, key), members in blocks.items():
        kind = key[0]
        if kind == "s":  # equal sorted cores: duplicates without comparing text
            first = members[0]
            for v in members[1:]:
                if owner[v] == owner[first]:
                    continue
                pairs_compared += 1
                both_primary = primary[owner[first]] == first and primary[owner[v]] == v
                _accept(owner[first], owner[v], 1.0, "exact" if both_primary else "alias")
            continue
        if kind == "a":  # one spelled-out name and its acronym; ambiguous acronyms merge nothing
            spelled = [v for v in members if keys[v].acronym]
            if len({keys[v].sorted_core for v in spelled}) != 1:  # exact duplicates count once
                continue
            for v in members:
                if keys[v].as_acronym:
                    for full in {owner[f] for f in spelled}:
                        pairs_compared += 1
                        _accept(full, owner[v], 0.95, "acronym")
            continue
        # "d:" block: names within one edit of each other; score every pair, keep typo matches
        texts = [keys[v].text for v in members]
        pairs_compared += len(members) * (len(members) - 1) // 2
        if len(members) == 2:  # most blocks: skip the matrix
            r = fuzz.ratio(texts[0], texts[1], score_cutoff=FUZZY_CUTOFF)
            hits = [(0, 1, r)] if r else []
        else:
            scores = process.cdist(texts, texts, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, dtype=np.uint8)
            hits = [(a, b, scores[a, b]) for a, b in zip(*np.nonzero(scores)) if a < b]
        for a, b, r in hits:
            va, vb = members[a], members[b]
            i, j = owner[va], owner[vb]
            pair = (min(i, j), max(i, j))
            if i == j or (va, vb) in seen_pairs or pair in accepted:
                continue
            seen_pairs.add((va, vb))
            if keys[va].sorted_core == keys[vb].sorted_core:
                _accept(i, j, 1.0, "exact" if primary[i] == va and primary[j] == vb else "alias")
            elif _typo_match(keys[va], keys[vb]) and pair not in fuzzy:
                fuzzy[pair] = (va, vb, float(r) / 100.0)

    # Embeddings confirm typo matches: a typo keeps most of a name's character n-grams.
    if fuzzy:
        vecs = None
        if embedder is not None:
            idx = sorted({v for va, vb, _ in fuzzy.values() for v in (va, vb)})
            pos = {v: n for n, v in enumerate(idx)}
            vecs = embedder.encode([texts_all[v] for v in idx])
        for (i, j), (va, vb, ratio) in fuzzy.items():
            if (i, j) in accepted:
                continue
            if vecs is None:
                _accept(i, j, ratio, "fuzzy")
                continue
            cos = float(np.dot(vecs[pos[va]], vecs[pos[vb]]))
            if cos >= EMBED_MIN:
                _accept(i, j, 0.6 * ratio + 0.4 * cos, "fuzzy")

    _keep_unique_fuzzy(accepted)
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
        name_variants=len(keys),
    )
    return plans, stats


def resolve_entities(store: Store, embedder=None, *, dry_run: bool = False, now: datetime | None = None) -> ConsolidationResult:
    """Find duplicate entities and merge each into its survivor, one audit row per merged entity.

    Idempotent: merged entities are gone and their names live on as survivor aliases, so a second
    run finds nothing new. `dry_run` plans without writing."""
    started = time.perf_counter()
    # an account's entity is one person by construction: never merged with a look-alike name
    # user accounts never merge; hub groups (hubs.py) are a derived layer keyed by their hub, not names
    rows = [r for r in load_entities(store) if r["type"] not in (USER_ENTITY_TYPE, "hub_group")]
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
