"""`bgp ingest FILE...`: import chat exports (canonical JSONL, Telegram, Discord) into the store."""

from __future__ import annotations

import sys
from datetime import timedelta

from background_pipelines.ingest import FORMATS, IngestError, IngestUsageError, ingest_file
from background_pipelines.ingest.model import DEFAULT_PLATFORM

EXIT_INVALID = 1  # a file was rejected (nothing from it written)
EXIT_USAGE = 2  # unknown format, missing file, bad option: like argparse's own usage errors


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
    p.set_defaults(func=_ingest)


def _ingest(args) -> int:
    status = 0
    for path in args.paths:
        try:
            report = ingest_file(
                path,
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
    return status
