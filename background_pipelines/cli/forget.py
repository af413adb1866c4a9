"""`bgp forget --user U | --message ID ...`: remove them and everything derived from them (dry run
lists what would go); `bgp forget --reapply` forgets again what the log holds, after a restore."""

from __future__ import annotations

import sys

from background_pipelines.config import Settings
from background_pipelines.forget import ForgetError, forget, reapply
from background_pipelines.store import open_store


def register(sub) -> None:
    p = sub.add_parser("forget", help="forget a user or messages and everything derived from them")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="the user to forget: key (platform:id), platform id or unambiguous name; linked accounts go too")
    who.add_argument("--message", type=int, action="append", metavar="ID", help="a message id to forget (repeatable)")
    who.add_argument("--reapply", action="store_true", help="forget again everything in the forget log (after restoring a backup)")
    p.add_argument("--dry-run", action="store_true", help="list what would be removed; change nothing")
    p.set_defaults(func=_forget)


def _forget(args) -> int:
    settings = Settings.from_env()
    store = open_store(settings.database_url)
    try:
        if args.reapply:
            report = reapply(store, home=settings.home, dry_run=args.dry_run)
        else:
            report = forget(store, user=args.user, message_ids=args.message or [], dry_run=args.dry_run, home=settings.home)
    except ForgetError as exc:
        print(f"bgp forget: {exc}", file=sys.stderr)
        return 2
    what = f"user {report.users[0]!r}" if len(report.users) == 1 else f"{len(report.users)} user(s)"
    head = "would remove" if report.dry_run else "removed"
    print(f"{head} {report.message_count} message(s) of {what} and {report.total} row(s) in all:")
    print(report.table())
    if report.dry_run:
        print("dry run: nothing changed")
    return 0
