"""The lore digest on a long document: digested a slice per run (BGP_LORE_SLICE_CHUNKS chunks, as the
20-minute sensor does) against one run that takes the whole document, each on its own fresh SQLite
store, engine functions only (offline backend). Measured in CPU seconds (process time), so the load of
a shared machine does not skew the ratios; the load average is printed beside them.

Goals: the sliced result equals the one-shot result (facts with their offsets, relations); slicing
costs at most 1.5x the CPU of one run in total; and no sliced run costs more than a quarter of the
one-shot run (a long document never makes one huge run).

    python benchmarks/lore_digest.py [--paragraphs 2000] [--slice 4] [--smoke]
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._report import Report  # noqa: E402

SMOKE_ARGS = ["--smoke"]

_ORGS = ["the Lisbon Observatory", "Acme Corp", "the Porto Planetarium", "Globex", "the Royal Library", "Initech", "the Night Market"]
_CITIES = ["Lisbon", "Porto", "Madrid", "Coimbra", "Paris", "Seville", "Faro", "Braga", "Valencia", "Lyon"]
_NAMES = ["Pixel", "Comet", "Luna", "Orion", "Vega", "Nova", "Atlas", "Sirius"]
_LIKES = ["stargazing", "fado", "astronomy books", "sailing", "baking", "chess", "hiking", "old maps"]
_FILLER = ["The wind was cold that year.", "Nobody remembers the exact date.", "The town square had a fountain.",
           "It rained for most of the winter.", "The old bridge still stands."]


def document(paragraphs: int, seed: int = 0) -> str:
    rnd = random.Random(seed)
    templates = [
        lambda: f"Mira works at {rnd.choice(_ORGS)}.", lambda: f"Years later, Mira moved to {rnd.choice(_CITIES)}.",
        lambda: f"Her sister {rnd.choice(_NAMES)} lives in {rnd.choice(_CITIES)}.", lambda: f"She loves {rnd.choice(_LIKES)}.",
        lambda: f"Mira's cat is named {rnd.choice(_NAMES)}.", lambda: f"Mira used to live in {rnd.choice(_CITIES)}.",
        lambda: f"She grew up in {rnd.choice(_CITIES)}.", lambda: rnd.choice(_FILLER),
    ]
    return "\n\n".join(" ".join(rnd.choice(templates)() for _ in range(rnd.randint(2, 5))) for _ in range(paragraphs)) + "\n"


def _digest(url: str, path: Path, slice_chunks: int) -> tuple[list[float], object]:
    from background_pipelines.characters_yaml import set_character
    from background_pipelines.config import Settings
    from background_pipelines.llm.gateway import Gateway
    from background_pipelines.lore.digest import digest_lore
    from background_pipelines.lore.documents import add_documents
    from background_pipelines.store import open_store

    store = open_store(url)
    set_character(store, "Mira", timezone="UTC")
    add_documents(store, [path], "Mira")
    gw = Gateway.from_settings(Settings.from_env({"BGP_HOME": str(path.parent)}), store)
    runs = []
    while True:
        t = time.process_time()
        r = digest_lore(store, gw, slice_chunks=slice_chunks)
        runs.append(time.process_time() - t)
        if not r.pending:
            return runs, store


def _snapshot(store) -> tuple:
    from sqlalchemy import select

    from background_pipelines.store.lore import lore_facts
    from background_pipelines.store.schema import entities, relations

    with store.connect() as conn:
        names = {e.id: e.norm for e in conn.execute(select(entities.c.id, entities.c.norm))}
        rels = sorted((names[r.src_id], r.predicate, names[r.dst_id], r.weight, r.invalidated_at is not None) for r in conn.execute(select(relations)))
    facts = sorted((f["predicate"], f["object"], f["ended"], f["start"], f["end"]) for f in lore_facts(store))
    return facts, rels


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--paragraphs", type=int, default=2000)
    ap.add_argument("--slice", type=int, default=4)
    ap.add_argument("--smoke", action="store_true", help="200 paragraphs, slices of 2")
    args = ap.parse_args(argv)
    n, slice_chunks = (200, 2) if args.smoke else (args.paragraphs, args.slice)
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mira.md"
        path.write_text(document(n))
        from background_pipelines.lore.documents import chunk_text

        chunks = len(chunk_text(path.read_text()))
        warm = Path(tmp) / "warm.md"  # imports and compiled rules are paid here, by neither side
        warm.write_text(document(3, seed=1))
        _digest(f"sqlite:///{tmp}/warm.db", warm, 10**9)
        sliced_runs, sliced = _digest(f"sqlite:///{tmp}/sliced.db", path, slice_chunks)
        one_runs, one = _digest(f"sqlite:///{tmp}/one.db", path, 10**9)
        same = _snapshot(sliced) == _snapshot(one)
        facts = len(_snapshot(one)[0])
    one_cpu, sliced_cpu, worst = sum(one_runs), sum(sliced_runs), max(sliced_runs)
    size = f"{n:,} paragraphs, {chunks} chunks, {facts:,} facts, slice {slice_chunks}"
    print(f"document: {size}; sliced: {len(sliced_runs)} runs, {sliced_cpu:.2f} CPU-s (largest {worst:.3f}); "
          f"one-shot: {one_cpu:.2f} CPU-s; load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    report = Report("lore_digest")
    report.check(f"sliced result == one-shot result ({size})", "equal" if same else "DIFFERENT", "equal", same)
    report.check(f"sliced total CPU / one-shot CPU ({len(sliced_runs)} runs)", f"{sliced_cpu / one_cpu:.2f}x", "<= 1.5x", sliced_cpu / one_cpu <= 1.5)
    report.check("largest sliced run CPU / one-shot run CPU", f"{worst / one_cpu:.3f}", "<= 0.25", worst / one_cpu <= 0.25)
    return report.finish(f"load average {load[0]:.1f}")


if __name__ == "__main__":
    sys.exit(main())
