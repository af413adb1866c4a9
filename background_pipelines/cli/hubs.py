"""`bgp hubs organise | list | undo ID | redo HUB_ID`: the hub organisation by hand (the same engine
function the weekly `hub_organisation` asset runs), its audit, and undoing a hub's group layer."""

from __future__ import annotations

import sys

from background_pipelines.config import Settings
from background_pipelines.store import open_store


def register(sub) -> None:
    p = sub.add_parser("hubs", help="hub organisation: group a very-high-degree entity's relations by type, undo it")
    hsub = p.add_subparsers(dest="hubs_command", metavar="ACTION")
    hsub.required = True
    o = hsub.add_parser("organise", help="organise every hub now (what the weekly asset does)")
    o.add_argument("--threshold", type=int, help="degree of a hub (default BGP_HUB_DEGREE_THRESHOLD)")
    o.set_defaults(func=_organise)
    ls = hsub.add_parser("list", help="organisations with their status, groups and audit trail")
    ls.set_defaults(func=_list)
    u = hsub.add_parser("undo", help="remove organisation ID's group layer (kept undone until `redo`)")
    u.add_argument("organisation_id", type=int, metavar="ID")
    u.add_argument("--reason", default="")
    u.set_defaults(func=_undo)
    r = hsub.add_parser("redo", help="let the next run organise HUB_ID again after an undo")
    r.add_argument("hub_id", type=int, metavar="HUB_ID")
    r.set_defaults(func=_redo)


def _store():
    return open_store(Settings.from_env().database_url)


def _organise(args) -> int:
    from background_pipelines.hubs import organise_hubs

    r = organise_hubs(_store(), threshold=args.threshold or Settings.from_env().hub_degree_threshold)
    print(r.preview())
    return 0


def _list(args) -> int:
    from background_pipelines.hubs import list_organisations

    rows = list_organisations(_store())
    if not rows:
        print("no hub organisations")
    for o in rows:
        print(f"{o['id']:>4}  hub {o['hub_id']} {o['hub_name']!r}  degree {o['degree']}  {o['status']}"
              + (f" ({o['undone_by']})" if o["undone_by"] else "") + f"  groups: " + ", ".join(f"{g['name']} ({len(g['members'])})" for g in o["groups"]))
        for a in o["audit"]:
            print(f"        {a['at']} {a['action']} by {a.get('by', '')}" + (f": {a['reason']}" if a.get("reason") else ""))
    return 0


def _undo(args) -> int:
    from background_pipelines.hubs import HubError, undo_hub

    try:
        entry = undo_hub(_store(), args.organisation_id, reason=args.reason)
    except HubError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"undone: {len(entry['groups_removed'])} groups, {len(entry['relations_removed'])} layer relations removed")
    return 0


def _redo(args) -> int:
    from background_pipelines.hubs import redo_hub

    redo_hub(_store(), args.hub_id)
    print(f"hub {args.hub_id}: the next organise run rebuilds its groups")
    return 0
