"""`bgp users list | show USER | link A B | unlink KEY`: accounts (platform, platform id) with their names, and the
explicit, audited links that make several accounts one person."""

from __future__ import annotations

import getpass
import json
import sys

from background_pipelines.config import Settings
from background_pipelines.store import open_store
from background_pipelines.users import UserError, link_users, list_users, unlink_user


def register(sub) -> None:
    p = sub.add_parser("users", help="user accounts, their names, and links between one person's accounts")
    s = p.add_subparsers(dest="users_command", metavar="ACTION")
    s.required = True
    ls = s.add_parser("list", help="accounts: key (platform:id), display name, former names, linked person")
    ls.add_argument("--platform", default=None, help="only this platform")
    ls.add_argument("--name", default=None, help="only accounts whose key or display name contains this")
    ls.add_argument("--limit", type=int, default=200, help="at most this many (default 200)")
    ls.add_argument("--json", action="store_true", help="one JSON object a line")
    ls.set_defaults(func=_list)
    sh = s.add_parser("show", help="everything the store knows about USER, each item with its sources and validity")
    sh.add_argument("user", help="a user key (platform:id), platform id or unambiguous name")
    out = sh.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print it as one JSON object")
    out.add_argument("--html", metavar="FILE", default=None, help="write a self-contained HTML page (graph drawn) to FILE")
    sh.add_argument("--limit", type=int, default=200, help="at most this many items a section (default 200)")
    sh.set_defaults(func=_show)
    ln = s.add_parser("link", help="make the accounts of A and B one person (audited)")
    ln.add_argument("a", help="a user key (platform:id), platform id or unambiguous name")
    ln.add_argument("b", help="the account to join to A's person")
    ln.add_argument("--reason", default="", help="why (kept in the audit)")
    ln.set_defaults(func=_link)
    un = s.add_parser("unlink", help="detach one account (by key) from the person it is linked to (audited)")
    un.add_argument("key", help="the user key (platform:id)")
    un.add_argument("--reason", default="", help="why (kept in the audit)")
    un.set_defaults(func=_unlink)


def _store():
    return open_store(Settings.from_env().database_url)


def _actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers: the audit says so instead of failing
        return "unknown"


def _list(args) -> int:
    rows = list_users(_store(), platform=args.platform, name=args.name, limit=args.limit)
    if args.json:
        for r in rows:
            print(json.dumps({k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in r.items() if k != "id"}, ensure_ascii=False))
        return 0
    if not rows:
        print("no users")
        return 0
    print(f"{'key':<32} {'display name':<20} {'first seen':<10} {'person':<32} former names")
    for r in rows:
        former = [n for n in r["names"] if n != r["display_name"]]
        person = "" if (r["person"] or r["name"]) == r["name"] else r["person"]
        first = f"{r['first_seen']:%Y-%m-%d}" if r["first_seen"] else ""
        print(f"{r['name']:<32} {(r['display_name'] or ''):<20} {first:<10} {person:<32} {', '.join(former)}")
    return 0


def _show(args) -> int:
    from background_pipelines.users.show import jsonable, render_html, render_text, user_profile

    try:
        profile = user_profile(_store(), args.user, limit=args.limit)
    except UserError as exc:
        print(f"bgp users show: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(jsonable(profile), ensure_ascii=False, indent=1))
    elif args.html:
        try:
            with open(args.html, "w", encoding="utf-8") as fh:
                fh.write(render_html(profile))
        except OSError as exc:
            print(f"bgp users show: cannot write {args.html}: {exc.strerror}", file=sys.stderr)
            return 2
        print(f"wrote {args.html}: {profile['user']['key']}, {len(profile['facts'])} facts, "
              f"{len(profile['graph']['neighbours'])} graph neighbours")
    else:
        print(render_text(profile))
    return 0


def _link(args) -> int:
    try:
        u = link_users(_store(), args.a, args.b, reason=args.reason, actor=_actor())
    except UserError as exc:
        print(f"bgp users link: {exc}", file=sys.stderr)
        return 2
    print(f"linked: {', '.join(u.keys)} are one person ({u.person})")
    return 0


def _unlink(args) -> int:
    try:
        u = unlink_user(_store(), args.key, reason=args.reason, actor=_actor())
    except UserError as exc:
        print(f"bgp users unlink: {exc}", file=sys.stderr)
        return 2
    print(f"unlinked: {u.key} is its own person again")
    return 0
