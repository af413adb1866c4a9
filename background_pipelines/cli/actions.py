"""`bgp actions list|retry`: the outbound actions ledger (what was posted to the bot, what failed and why)."""

from __future__ import annotations

import json
import sys

from background_pipelines.config import Settings
from background_pipelines.store import open_store


def register(sub) -> None:
    p = sub.add_parser("actions", help="outbound actions posted to the bot's webhook: list, retry")
    ps = p.add_subparsers(dest="actions_command", metavar="ACTION")
    ps.required = True
    ls = ps.add_parser("list", help="newest first, with status, attempts and the last error")
    ls.add_argument("--status", choices=("pending", "sending", "delivered", "failed"))
    ls.add_argument("--limit", type=int, default=50)
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_list)
    retry = ps.add_parser("retry", help="send failed actions again (the next actions_job run posts them)")
    retry.add_argument("ids", type=int, nargs="+")
    retry.set_defaults(func=_retry)


def _list(args) -> int:
    from background_pipelines.store.actions import list_actions

    rows = list_actions(open_store(Settings.from_env().database_url), status=args.status, limit=args.limit)
    if args.json:
        print(json.dumps(rows, default=str))
        return 0
    if not rows:
        print("no outbound actions")
    for r in rows:
        err = f"  ({r['last_error'][:120]})" if r["last_error"] else ""
        print(f"#{r['id']}  {r['status']:<9}  {r['kind']:<9}  attempts {r['attempts']}  {r['dedup_key']}{err}")
    return 0


def _retry(args) -> int:
    from background_pipelines.store.actions import get, requeue
    from background_pipelines.store.ledger import utcnow

    store = open_store(Settings.from_env().database_url)
    missing = [i for i in args.ids if get(store, i) is None]
    if missing:
        print(f"error: unknown action id(s) {missing} (bgp actions list)", file=sys.stderr)
        return 1
    n = requeue(store, args.ids, utcnow())
    print(f"{n} failed action(s) pending again; {len(args.ids) - n} were not failed (left as they are)")
    return 0
