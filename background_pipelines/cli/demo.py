"""`bgp demo-data`: load the deterministic demo world into the store (re-running adds nothing)."""

from __future__ import annotations

from datetime import date

from background_pipelines.demo import DEFAULT_SEED, DEFAULT_START, load_demo
from background_pipelines.ingest.writer import default_store


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        import argparse

        raise argparse.ArgumentTypeError(f"{value!r}: expected a date YYYY-MM-DD") from None


def register(sub) -> None:
    p = sub.add_parser(
        "demo-data",
        help="load a deterministic demo world: 4 characters, 36 users, 228 sessions over 14 days, planted facts",
    )
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="world seed (default: %(default)s)")
    p.add_argument("--start", type=_day, default=DEFAULT_START,
                   help="first day of the two weeks, UTC (default: %(default)s)")
    p.set_defaults(func=_demo)


def _demo(args) -> int:
    store = default_store()
    result = load_demo(store, seed=args.seed, start=args.start)
    print(f"{result.summary()} into {store.safe_url}")
    return 0
