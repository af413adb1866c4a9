"""`bgp cleanup`: delete LLM cache and superseded ledger rows older than N days (see cleanup.py)."""

from __future__ import annotations

import json

from background_pipelines.cleanup import DEFAULT_RETENTION_DAYS, run_cleanup
from background_pipelines.config import Settings
from background_pipelines.store import open_store


def register(sub) -> None:
    p = sub.add_parser("cleanup", help="delete LLM cache rows and superseded ledger rows older than N days")
    p.add_argument("--days", type=int, default=DEFAULT_RETENTION_DAYS, help=f"retention in days (default {DEFAULT_RETENTION_DAYS})")
    p.set_defaults(func=_cleanup)


def _cleanup(args) -> int:
    settings = Settings.from_env()
    if args.days < 1:
        print(f"bgp cleanup --days {args.days}: expected at least 1")
        return 2
    result = run_cleanup(open_store(settings.database_url), args.days)
    print(json.dumps({"store": settings.safe_database_url, **result.as_dict()}))
    return 0
