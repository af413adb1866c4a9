"""Embedding pipeline rate vs the raw model's encode rate, on the same texts and batch size.

pipeline = the gateway's embedder (get_embedder) + embed_and_save into a store (SQLite in a temp dir,
or --database-url); raw = the bare model encoding the same batches, writing nothing.
The overhead figure is the hashing backend's ratio (encoding is nearly free, so the ratio is what our
pipeline costs): goal >= 0.9. With sentence-transformers (all-MiniLM-L6-v2, when installed) encoding is
~100x the store write, so its ratio tends to 1.0 whatever the pipeline does: printed as end-to-end, no goal.

    .venv/bin/python benchmarks/embedding.py            # 2,000 texts, batch 100
    .venv/bin/python benchmarks/embedding.py --smoke    # 200 texts
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

from background_pipelines.config import Settings  # noqa: E402
from background_pipelines.llm import embed_and_save, get_embedder  # noqa: E402
from background_pipelines.llm.embedders import HashingEmbedder, sentence_transformers_available  # noqa: E402
from background_pipelines.store import open_store  # noqa: E402
from benchmarks._report import Report  # noqa: E402

_WORDS = (
    "i you we they love hate went saw the a my your dog cat hiking coffee Lisbon work tomorrow yesterday "
    "really think maybe movie book dinner friend sister train rain sunny weekend plan remember birthday "
    "music guitar lesson exam tired happy worried excited garden cooking pasta trip mountains beach"
).split()


def make_texts(n: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(_WORDS) for _ in range(rng.randint(6, 40))).capitalize() + "." for _ in range(n)]


def raw_encoder(backend: str, batch: int):
    """The bare model: encode(list[str]) with nothing of ours around it."""
    if backend == "hashing":
        return HashingEmbedder(batch).encode
    from sentence_transformers import SentenceTransformer

    from background_pipelines.llm.embedders import sentence_transformers_model_path

    model = SentenceTransformer(sentence_transformers_model_path(), device="cpu")
    return lambda texts: model.encode(texts, batch_size=batch, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False)


def measure(backend: str, texts: list[str], batch: int, database_url: str | None, tmp: Path, repeats: int) -> dict:
    """Best-of-`repeats` rates, raw and pipeline runs interleaved so background load hits both alike."""
    from background_pipelines.store.embeddings import delete_embeddings

    encode = raw_encoder(backend, batch)
    encode(texts[:batch])  # warm-up (model load, first-call allocations) outside both timings
    settings = Settings.from_env({"BGP_EMBEDDING_BACKEND": backend, "BGP_EMBEDDING_BATCH_SIZE": str(batch)})
    embedder = get_embedder(settings)
    embedder.encode(texts[:batch])
    store = open_store(database_url or f"sqlite:///{tmp / f'{backend}.db'}")
    ids = list(range(1, len(texts) + 1))
    raw_times, pipe_times, raw_cpu, pipe_cpu = [], [], [], []
    for rep in range(repeats):
        started, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(texts), batch):
            encode(texts[start : start + batch])
        raw_times.append(time.perf_counter() - started)
        raw_cpu.append(time.process_time() - cpu)

        kind = f"bench_{os.getpid()}_{rep}"  # a fresh index each run: inserts, as a first embedding would
        started, cpu = time.perf_counter(), time.process_time()
        written = embed_and_save(store, embedder, kind, ids, texts)
        pipe_times.append(time.perf_counter() - started)
        pipe_cpu.append(time.process_time() - cpu)
        delete_embeddings(store, kind, ids)
        assert written == len(texts)
    n = len(texts)
    return dict(
        backend=backend,
        model=embedder.model_id,
        raw=n / min(raw_times),
        pipeline=n / min(pipe_times),
        raw_cpu=n / min(raw_cpu),
        pipeline_cpu=n / min(pipe_cpu),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--database-url", default=None, help="store to write into (default: SQLite in a temp dir)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each; the best is reported (default 3)")
    parser.add_argument("--smoke", action="store_true", help="200 texts, 1 run")
    args = parser.parse_args()
    n = 200 if args.smoke else args.texts
    texts = make_texts(n)
    backends = ["hashing"] + (["sentence-transformers"] if sentence_transformers_available() else [])
    with tempfile.TemporaryDirectory() as tmp:
        repeats = 1 if args.smoke else max(1, args.repeats)
        rows = [measure(b, texts, args.batch, args.database_url, Path(tmp), repeats) for b in backends]
    store_name = "PostgreSQL/--database-url" if args.database_url else "SQLite"
    print(f"Embedding: {n} texts, batch {args.batch}, pipeline writes into {store_name}; best of {repeats} interleaved runs")
    print("rates in texts per wall-clock second, and per CPU-second of this process (steadier on a shared box)")
    print(f"| {'backend':<22} | {'figure':<22} | {'raw /s':>8} | {'pipeline /s':>11} | {'ratio':>6} | {'raw /CPU-s':>10} | {'pipe /CPU-s':>11} | {'CPU ratio':>9} |")
    print(f"|{'-' * 24}|{'-' * 24}|{'-' * 10}|{'-' * 13}|{'-' * 8}|{'-' * 12}|{'-' * 13}|{'-' * 11}|")
    report = Report("embedding")
    for r in rows:
        ratio = r["pipeline"] / r["raw"]
        cpu_ratio = r["pipeline_cpu"] / r["raw_cpu"]
        figure = "overhead (goal >= 0.9)" if r["backend"] == "hashing" else "end-to-end (no goal)"
        print(
            f"| {r['backend']:<22} | {figure:<22} | {r['raw']:>8.0f} | {r['pipeline']:>11.0f} | {ratio:>6.2f} | {r['raw_cpu']:>10.0f} | "
            f"{r['pipeline_cpu']:>11.0f} | {cpu_ratio:>9.2f} |"
        )
        if r["backend"] == "hashing":
            report.check(f"pipeline overhead: hashing embed + store write vs bare encode, texts/s (CPU ratio {cpu_ratio:.2f})",
                         f"{ratio:.2f}", ">= 0.9", ratio >= 0.9)
    print("models: " + ", ".join(f"{r['backend']} = {r['model']}" for r in rows))
    if "sentence-transformers" not in backends:
        print("sentence-transformers not installed: pip install -e '.[local]' to measure it")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
