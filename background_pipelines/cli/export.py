"""`bgp export graph --format graphml|json -o FILE`: the knowledge graph for Gephi or a Neo4j import."""

from __future__ import annotations

from background_pipelines.config import Settings
from background_pipelines.exports import FORMATS, export_graph
from background_pipelines.store import open_store


def register(sub) -> None:
    p = sub.add_parser("export", help="export what the store knows")
    what = p.add_subparsers(dest="export_what", metavar="WHAT")
    what.required = True
    g = what.add_parser("graph", help="entities and relations as GraphML or JSON nodes/edges")
    g.add_argument("--format", choices=FORMATS, default="graphml")
    g.add_argument("-o", "--output", required=True, help="file to write")
    g.add_argument("--include-invalid", action="store_true", help="also invalidated and expired relations")
    g.set_defaults(func=_graph)


def _graph(args) -> int:
    store = open_store(Settings.from_env().database_url)
    out = export_graph(store, args.output, args.format, include_invalid=args.include_invalid)
    print(f"wrote {out['nodes']} nodes and {out['edges']} edges to {out['path']} ({args.format})")
    return 0
