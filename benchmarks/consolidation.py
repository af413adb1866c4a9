"""Entity-resolution benchmark: N synthetic entities (10% planted duplicates written in realistic
variants, plus hard negatives that must stay apart) in a fresh SQLite store; runs the real
`resolve_entities` (blocking, fuzzy scoring, embedding confirmation, audited merges) and prints
time, pairs compared against n^2/2, and the precision and recall of the merges.

    .venv/bin/python benchmarks/consolidation.py            # 100,000 entities, sparse then dense
    .venv/bin/python benchmarks/consolidation.py --smoke    # 10,000 entities
    .venv/bin/python benchmarks/consolidation.py --dense -v # only dense, printing false merges
Goal: < 30 s, recall >= 0.95, precision >= 0.98. The dense set (originals not kept 2 edits apart,
as real names are not) is the honest precision figure; the sparse one shows the typo-free ceiling.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from background_pipelines.config import Settings  # noqa: E402
from background_pipelines.graph_upkeep import resolve_entities  # noqa: E402
from background_pipelines.graph_upkeep.normalize import name_key, normalize_name  # noqa: E402
from background_pipelines.llm import get_embedder  # noqa: E402
from background_pipelines.store import open_store  # noqa: E402
from background_pipelines.store.schema import entities, entity_merges  # noqa: E402
from benchmarks._report import Report  # noqa: E402

FIRST = """james mary john patricia robert jennifer michael linda william elizabeth david barbara richard susan joseph
jessica thomas sarah charles karen christopher nancy daniel lisa matthew betty anthony margaret mark sandra donald ashley
steven kimberly paul emily andrew donna joshua michelle kenneth carol kevin amanda brian melissa george deborah timothy
stephanie ronald rebecca edward sharon jason laura jeffrey cynthia ryan kathleen jacob amy gary angela nicholas shirley
eric anna jonathan brenda stephen pamela larry emma justin nicole scott helen brandon samantha benjamin katherine samuel
christine gregory debra alexander rachel frank carolyn patrick janet raymond catherine jack maria dennis heather jerry
diane tyler ruth aaron julie jose olivia adam joyce nathan virginia henry victoria douglas kelly zachary lauren peter
christina kyle joan ethan evelyn walter judith noah megan jeremy andrea christian cheryl keith hannah roger jacqueline
terry martha gerald gloria harold teresa sean ann austin sara carl madison arthur frances lawrence kathryn dylan janice
jesse jean jordan abigail bryan alice billy julia joe judy bruce sophia gabriel grace logan denise albert amber willie
doris alan marilyn juan danielle wayne beverly elijah isabella randy theresa roy diana vincent natalie ralph brittany
eugene charlotte russell marie bobby kayla mason alexis philip lori louis""".split()
LAST_SYL = "an ber ton son ley ford man ers ins ell ard win ick ton field wood ham worth ridge land more".split()
ONSET = "b br c ch d dr f fl g gr h j k kr l m n p pr r s st sh t tr v w z".split()
VOWEL = "a e i o u ai ea io ou".split()
CODA = "n r l x s th nd rk ck m".split()
INDUSTRY = """systems logistics foods labs analytics dynamics networks robotics pharma energy media studios partners
capital holdings motors textiles brewing software consulting security aerospace biotech ventures outfitters""".split()
ORG_PREFIX = "northern southern global united pacific atlantic royal first central western eastern".split()
PLACE_SUFFIX = "city springs valley harbor falls heights ridge bay park point".split()
PLACE_PREFIX = "new port lake fort mount saint".split()
PRODUCT_LINE = "pro max mini air ultra lite plus neo".split()
SUFFIX_FORMS = ["Inc", "Inc.", "Corp", "Corp.", "Corporation", "Ltd", "LLC", "Co.", "Company", "Limited"]


def _syllable_word(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(ONSET) + rng.choice(VOWEL) for _ in range(n - 1)) + rng.choice(ONSET) + rng.choice(VOWEL) + rng.choice(CODA)


def _surname(rng):
    return _syllable_word(rng, rng.choice((1, 2))) + rng.choice(LAST_SYL)


def _original(rng: random.Random, etype: str) -> str:
    if etype == "person":
        return f"{rng.choice(FIRST).title()} {_surname(rng).title()}"
    if etype == "organization":
        words = [_syllable_word(rng, rng.choice((2, 3))).title(), rng.choice(INDUSTRY).title()]
        if rng.random() < 0.35:
            words.insert(0, rng.choice(ORG_PREFIX).title())
        return " ".join(words)
    if etype == "place":
        base = _syllable_word(rng, rng.choice((2, 3))).title()
        r = rng.random()
        if r < 0.35:
            return f"{rng.choice(PLACE_PREFIX).title()} {base} {rng.choice(PLACE_SUFFIX).title()}"
        return f"{base} {rng.choice(PLACE_SUFFIX).title()}" if r < 0.7 else base
    return f"{_syllable_word(rng, 2).title()} {rng.choice(PRODUCT_LINE).title()} {rng.randint(2, 99)}"


def _typo(rng: random.Random, name: str) -> str | None:
    """One keyboard slip inside a word of 6+ letters (never its first or last letter)."""
    words = name.split(" ")
    cand = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha()]
    if not cand:
        return None
    i = rng.choice(cand)
    w = words[i]
    p = rng.randint(1, len(w) - 3)
    op = rng.choice(("sub", "swap", "del", "ins"))
    if op == "sub":
        w = w[:p] + rng.choice(string.ascii_lowercase) + w[p + 1 :]
    elif op == "swap":
        w = w[:p] + w[p + 1] + w[p] + w[p + 2 :]
    elif op == "del":
        w = w[:p] + w[p + 1 :]
    else:
        w = w[:p] + rng.choice(string.ascii_lowercase) + w[p:]
    words[i] = w
    return " ".join(words)


def _variant(rng: random.Random, name: str, etype: str) -> tuple[str, str]:
    """A realistic second spelling of `name` and the kind of variation used."""
    kinds = ["case", "punct", "typo"]
    if etype == "organization":
        kinds += ["suffix", "suffix", "and"]
    if etype == "person":
        kinds += ["order"]
    words = name.split()
    if etype in ("organization", "place") and len(words) >= 3:
        kinds += ["acronym"]
    kind = rng.choice(kinds)
    if kind == "case":
        return rng.choice((name.upper(), name.lower(), name.swapcase())), kind
    if kind == "punct":
        return rng.choice((name.replace(" ", "-"), name + ".", name.replace(" ", ", ", 1), f"{name}!")), kind
    if kind == "suffix":
        return f"{name}{rng.choice((' ', ', '))}{rng.choice(SUFFIX_FORMS)}", kind
    if kind == "and":
        return f"The {name}", kind
    if kind == "order":
        first, last = words[0], " ".join(words[1:])
        return f"{last}, {first}", kind
    if kind == "acronym":
        return "".join(w[0] for w in words).upper(), kind
    typo = _typo(rng, name)
    return (typo, kind) if typo else (name.upper(), "case")


def _hard_negative(rng: random.Random, name: str, etype: str) -> tuple[str, str]:
    """A different entity that looks like `name`: extended/truncated word, swapped word, changed
    number, or the same name of another type."""
    words = name.split()
    r = rng.random()
    if etype == "product":
        n = int(words[-1])
        return " ".join(words[:-1] + [str(n + 1)]), etype
    if r < 0.3:
        i = max(range(len(words)), key=lambda k: len(words[k]))
        w = words[i]
        words[i] = w[:-1] if len(w) > 5 and rng.random() < 0.5 else w + rng.choice("aeiosx")
        return " ".join(words), etype
    if r < 0.6 and len(words) >= 2:
        pool = INDUSTRY if etype == "organization" else PLACE_SUFFIX if etype == "place" else None
        if pool:
            words[-1] = rng.choice([p for p in pool if p != words[-1].lower()]).title()
        else:
            words[0] = rng.choice([f for f in FIRST if f != words[0].lower()]).title()
        return " ".join(words), etype
    other = rng.choice([t for t in ("person", "organization", "place", "product") if t != etype])
    return name, other


def _deletion_keys(name: str) -> set[str]:
    """The name and every one-letter deletion of it: two names within one edit share a key."""
    t = name_key(name).text
    return {t} | {t[:i] + t[i + 1 :] for i in range(len(t))}


def generate(n: int, seed: int = 7, dense: bool = False):
    """(rows, cluster ids, planted duplicate count, variant kinds, kind per row).

    Originals are kept at least two edits apart within a type unless `dense`: two real entities
    one letter apart are indistinguishable from a typo by name alone."""
    rng = random.Random(seed)
    near: set[tuple[str, str]] = set()
    n_dup = n // 10
    n_neg = n // 10
    n_orig = n - n_dup - n_neg
    types = ["person", "organization", "place", "product"]
    rows, cluster, seen = [], [], set()
    while len(rows) < n_orig:
        etype = rng.choice(types)
        name = _original(rng, etype)
        key = (etype, name_key(name).sorted_core)
        if key in seen:
            continue
        if not dense:
            dk = {(etype, k) for k in _deletion_keys(name)}
            if dk & near:
                continue
            near |= dk
        seen.add(key)
        rows.append((name, etype))
        cluster.append(len(rows) - 1)
    extra = []
    for _ in range(n_neg):
        base = rng.randrange(n_orig)
        name, etype = _hard_negative(rng, *rows[base])
        key = (etype, name_key(name).sorted_core)
        if key in seen:
            continue
        seen.add(key)
        extra.append(((name, etype), None))
    kinds: dict[str, int] = {}
    for _ in range(n_dup):
        base = rng.randrange(n_orig)
        name, kind = _variant(rng, *rows[base])
        kinds[kind] = kinds.get(kind, 0) + 1
        extra.append(((name, rows[base][1]), base, kind))
    rng.shuffle(extra)
    row_kind = ["original"] * len(rows)
    for (name, etype), base, *kind in extra:
        rows.append((name, etype))
        cluster.append(base if base is not None else len(rows) - 1)
        row_kind.append(kind[0] if kind else "negative")
    return rows, cluster, n_dup, kinds, row_kind


def _load(store, rows, when):
    data = []
    for i, (name, etype) in enumerate(rows):
        norm = f"{normalize_name(name)}#{etype}#{i}"  # the KG keys on norm; keep every row distinct here
        data.append(dict(name=name, norm=norm, type=etype, aliases=[], created_at=when, updated_at=when))
    with store.begin() as conn:
        for s in range(0, len(data), 5000):
            conn.execute(insert(entities), data[s : s + 5000])
    with store.connect() as conn:
        return [r[0] for r in conn.execute(select(entities.c.id).order_by(entities.c.id))]


def run(n: int, dense: bool, embedder_backend: str, verbose: bool, report: Report) -> None:
    rows, cluster, n_dup, kinds, row_kind = generate(n, dense=dense)
    embedder = get_embedder(Settings.from_env({"BGP_EMBEDDING_BACKEND": embedder_backend}))
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
        t = time.perf_counter()
        ids = _load(store, rows, datetime(2026, 11, 1))
        load_s = time.perf_counter() - t
        index = {eid: i for i, eid in enumerate(ids)}
        cpu = time.process_time()
        result = resolve_entities(store, embedder)
        cpu = time.process_time() - cpu
        again = resolve_entities(store, embedder)
        with store.connect() as conn:
            audited = conn.execute(select(entity_merges.c.id)).all()
        store.engine.dispose()
    tp = sum(1 for p in result.plans if cluster[index[p.merged_id]] == cluster[index[p.survivor_id]])
    precision = tp / len(result.plans) if result.plans else 1.0
    recall = tp / n_dup
    wrong = [(rows[index[p.merged_id]], rows[index[p.survivor_id]], p.reason) for p in result.plans
             if cluster[index[p.merged_id]] != cluster[index[p.survivor_id]]]
    all_pairs = n * (n - 1) // 2
    mode = "dense: originals may be one edit apart" if dense else "sparse: originals kept 2 edits apart"
    print(f"\nentity resolution, n={n:,} ({mode}; {n_dup:,} planted duplicates: {dict(sorted(kinds.items()))}), "
          f"embedder={embedder.model_id}")
    print(f"{'measure':<34}{'figure':>16}  goal")
    print(f"{'time resolve_entities (s)':<34}{result.seconds:>16.2f}  < 30")
    print(f"{'  of which planning (s)':<34}{result.plan_seconds:>16.2f}")
    print(f"{'  CPU time of this process (s)':<34}{cpu:>16.2f}  (wall time suffers on a shared machine)")
    print(f"{'  (load into SQLite, not timed)':<34}{load_s:>16.2f}")
    print(f"{'pairs compared':<34}{result.pairs_compared:>16,}")
    print(f"{'all pairs n^2/2':<34}{all_pairs:>16,}")
    print(f"{'compared / all pairs':<34}{result.pairs_compared / all_pairs:>16.6f}  << 1")
    print(f"{'merges (audited rows)':<34}{result.merges:>16,}  = {len(audited):,} audit rows")
    print(f"{'merges by reason':<34}{str(dict(sorted(result.by_reason.items()))):>16}")
    print(f"{'precision':<34}{precision:>16.4f}  >= 0.98")
    print(f"{'recall':<34}{recall:>16.4f}  >= 0.95")
    print(f"{'second run merges (idempotence)':<34}{again.merges:>16}  0")
    merged_ok = {index[p.merged_id] for p in result.plans if cluster[index[p.merged_id]] == cluster[index[p.survivor_id]]}
    merged_ok |= {index[p.survivor_id] for p in result.plans if cluster[index[p.merged_id]] == cluster[index[p.survivor_id]]}
    missed: dict[str, int] = {}
    missed_rows = []
    for i, k in enumerate(row_kind):
        if k not in ("original", "negative") and i not in merged_ok:
            missed[k] = missed.get(k, 0) + 1
            missed_rows.append((rows[i], rows[cluster[i]]))
    print(f"{'missed duplicates by variant':<34}{str(dict(sorted(missed.items()))):>16}")
    if verbose:
        for w in wrong[:15]:
            print("  false merge:", w)
        for m in missed_rows[:15]:
            print("  missed:", m)
    label = f"{n:,} entities, {'dense' if dense else 'sparse'}"
    report.check(f"resolve_entities wall time, {label} ({cpu:.1f} CPU-s)", f"{result.seconds:.1f} s", "< 30 s", result.seconds < 30)
    report.check(f"merge precision, {label}", f"{precision:.4f}", ">= 0.98", precision >= 0.98)
    report.check(f"merge recall, {label}", f"{recall:.4f}", ">= 0.95", recall >= 0.95)
    report.check(f"merges on a second run, {label}", str(again.merges), "0", again.merges == 0)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="10,000 entities")
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--mode", choices=["both", "sparse", "dense"], default="both",
                    help="sparse: originals kept 2 edits apart; dense: not (the honest figure; see generate)")
    ap.add_argument("--dense", action="store_true", help="same as --mode dense")
    ap.add_argument("-v", "--verbose", action="store_true", help="print false and missed merges")
    ap.add_argument("--embedder", default="hashing", help="BGP_EMBEDDING_BACKEND for the confirming embedder")
    args = ap.parse_args(argv)
    n = 10_000 if args.smoke else args.n
    modes = [True] if args.dense or args.mode == "dense" else [False] if args.mode == "sparse" else [False, True]
    report = Report("consolidation")
    for dense in modes:
        run(n, dense, args.embedder, args.verbose, report)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
