"""`bgp prompts add|list|cancel`: scheduled prompts per user and character (see prompts/)."""

from __future__ import annotations

import json
import sys

from background_pipelines.config import Settings
from background_pipelines.store import open_store


def register(sub) -> None:
    p = sub.add_parser("prompts", help="scheduled prompts: add, list, cancel")
    ps = p.add_subparsers(dest="prompts_command", metavar="ACTION")
    ps.required = True
    add = ps.add_parser("add", help="schedule a one-off (--at) or recurring (--cron) prompt for a user and character")
    add.add_argument("user", help="user key (platform:id), platform id or unambiguous display name")
    add.add_argument("character")
    add.add_argument("text")
    when = add.add_mutually_exclusive_group(required=True)
    when.add_argument("--at", help="'2026-12-11 09:00', 'in 2 hours', 'tomorrow 9am', 'friday 09:00' (in --timezone)")
    when.add_argument("--cron", help="five cron fields in --timezone, e.g. '0 9 * * 1-5'")
    add.add_argument("--timezone", help="the user's IANA timezone (default BGP_TIMEZONE)")
    add.add_argument("--json", action="store_true")
    add.set_defaults(func=_add)
    ls = ps.add_parser("list", help="scheduled prompts, next first")
    ls.add_argument("--user")
    ls.add_argument("--character")
    ls.add_argument("--status", choices=("active", "done", "cancelled"))
    ls.add_argument("--limit", type=int, default=200)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)
    cancel = ps.add_parser("cancel", help="cancel an active prompt")
    cancel.add_argument("id", type=int)
    cancel.set_defaults(func=_cancel)


def _line(p) -> str:
    when = p.next_local.strftime("%Y-%m-%d %H:%M %Z") if p.next_local else "-"
    rule = f"cron '{p.cron}'" if p.cron else "once"
    return f"#{p.id}  {p.status:<9}  next {when:<24}  {rule:<22}  {p.user} -> {p.character}: {p.text[:60]}"


def _fail(exc) -> int:
    print(f"error: {exc}", file=sys.stderr)
    return 1


def _add(args) -> int:
    from background_pipelines.prompts import PromptError, add_prompt

    settings = Settings.from_env()
    try:
        p = add_prompt(open_store(settings.database_url), args.user, args.character, args.text, at=args.at, cron=args.cron,
                       timezone=args.timezone or settings.timezone)
    except PromptError as exc:
        return _fail(exc)
    print(json.dumps(p.as_dict()) if args.json else f"scheduled {_line(p)}")
    return 0


def _list(args) -> int:
    from background_pipelines.prompts import PromptError, list_prompts

    settings = Settings.from_env()
    try:
        found = list_prompts(open_store(settings.database_url), user=args.user, character=args.character, status=args.status,
                             limit=args.limit)
    except PromptError as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps([p.as_dict() for p in found]))
    else:
        print("\n".join(_line(p) for p in found) if found else "no scheduled prompts")
    return 0


def _cancel(args) -> int:
    from background_pipelines.prompts import PromptError, cancel_prompt

    settings = Settings.from_env()
    try:
        p = cancel_prompt(open_store(settings.database_url), args.id)
    except PromptError as exc:
        return _fail(exc)
    print(f"cancelled {_line(p)}")
    return 0
