"""`bgp ingest FILE...`: import chat exports (canonical JSONL, Telegram, Discord) into the store."""

from __future__ import annotations

import sys
from datetime import timedelta

from background_pipelines.config import Settings, redact_urls
from background_pipelines.history import days_ingested_since, history_span, process_days
from background_pipelines.ingest import FORMATS, IngestError, IngestUsageError, ingest_file
from background_pipelines.ingest.model import DEFAULT_PLATFORM
from background_pipelines.ingest.writer import default_store
from background_pipelines.store.ledger import utcnow

EXIT_INVALID = 1  # a file was rejected (nothing from it written)
EXIT_USAGE = 2  # unknown format, missing file, bad option: like argparse's own usage errors
LOCATION = "background_pipelines.definitions"  # the code location workspace.yaml loads (its module name)


def register(sub) -> None:
    p = sub.add_parser(
        "ingest",
        help="import chat exports: canonical JSONL, Telegram Desktop result.json, DiscordChatExporter JSON",
        description="Each file is imported in one transaction: an invalid record rejects the whole file "
        "(nothing written) unless --skip-invalid. Re-importing adds nothing (dedup on platform + external id).",
    )
    p.add_argument("paths", nargs="+", metavar="FILE")
    p.add_argument("--format", choices=FORMATS, help="input format (default: detected from extension and content)")
    p.add_argument("--skip-invalid", action="store_true", help="report invalid records one per line, skip them, write the rest")
    p.add_argument("--character", action="append", default=[], metavar="NAME",
                   help="an account that is a character (bot), by name or id; repeatable (Discord bots are characters anyway)")
    p.add_argument("--platform", default=DEFAULT_PLATFORM, help="platform for JSONL lines without one (default: %(default)s)")
    p.add_argument("--session-gap-minutes", type=float, default=30.0,
                   help="Telegram/Discord: start a new session after this much silence (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--process", action="store_true",
                   help="then process the imported days in the foreground (scores, embeddings, summaries, facts, graph, "
                        "relationships) with a progress bar, instead of waiting for the sensors")
    p.set_defaults(func=_ingest)


def _ingest(args) -> int:
    status = 0
    store = default_store()
    started = utcnow()
    before = history_span(store)
    for path in args.paths:
        try:
            report = ingest_file(
                path,
                store,
                format=args.format,
                skip_invalid=args.skip_invalid,
                platform=args.platform,
                characters=args.character,
                session_gap=timedelta(minutes=args.session_gap_minutes),
                on_problem=lambda line: print(f"invalid: {line}", file=sys.stderr),
                progress=False if args.no_progress else None,
            )
        except IngestUsageError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = max(status, EXIT_USAGE)
            continue
        except IngestError as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = max(status, EXIT_INVALID)
            continue
        rate = report.read / report.seconds if report.seconds else 0.0
        print(f"{path} ({report.format}): {report.summary()} in {report.seconds:.1f}s ({rate:,.0f} records/s)")
    after = history_span(store)
    if after.report():
        print(after.report(), file=sys.stderr)
    days = days_ingested_since(store, started)
    if days:
        print(f"imported messages on {len(days)} day(s), {days[0]}..{days[-1]}")
    if after.first_day and before.first_day and after.first_day < before.first_day:
        print(_reload(after.first_day, before.first_day))
    if args.process and days:
        settings = Settings.from_env()
        totals = process_days(store, settings, days, progress=False if args.no_progress else None)
        print("processed: " + ", ".join(f"{name} {r.processed:,}" for name, r in totals.items())
              + " (the sensors' runs will find this work done)")
    return status


def _reload(first: str, was: str) -> str:
    """Ask a running `dagster dev` (BGP_DAGSTER_URL) to reload the code location, whose day partitions
    start at the earliest message day read when it loaded; say what happened either way."""
    import httpx

    url = Settings.from_env().dagster_url.rstrip("/") + "/graphql"
    query = ("mutation($n: String!) { reloadRepositoryLocation(repositoryLocationName: $n) "
             "{ __typename ... on WorkspaceLocationEntry { name } } }")
    why = f"history now starts {first} (was {was})"
    try:
        answer = httpx.post(url, json={"query": query, "variables": {"n": LOCATION}}, timeout=120).json()
        kind = answer["data"]["reloadRepositoryLocation"]["__typename"]
    except Exception as exc:  # no UI running (or another one): the next load picks the new start up
        return f"{why}: no Dagster UI answered at {redact_urls(url)} ({type(exc).__name__}); reload the code location " \
               "(UI: Deployment > Reload) if one is running, so its day partitions reach back to it"
    if kind != "WorkspaceLocationEntry":
        return f"{why}: reloading code location {LOCATION!r} at {redact_urls(url)} answered {kind}; reload it from the UI"
    return f"{why}: reloaded code location {LOCATION!r} at {redact_urls(url)}, its day partitions now start there"
