"""Exports of what the store knows: the knowledge graph as GraphML (Gephi, yEd, networkx) or JSON
nodes/edges (Neo4j import scripts, web viewers), and facts and summaries as pandas DataFrames."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from background_pipelines.store import Store
from background_pipelines.store.schema import entities, facts, relations, summaries
from background_pipelines.users.identity import resolve_user

GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
FORMATS = ("graphml", "json")
_NODE_ATTRS = {"name": "string", "type": "string", "aliases": "string"}
_EDGE_ATTRS = {
    "predicate": "string", "weight": "double", "confidence": "double", "valid_from": "string",
    "invalidated_at": "string", "expired_at": "string", "inferred": "boolean",
    "source_message_ids": "string", "source_fact_ids": "string",
}


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def graph_data(store: Store, include_invalid: bool = False) -> dict:
    """{"nodes": [...], "edges": [...]}: entities and relations (current ones unless include_invalid;
    entities that only invalid relations touch are left out with them)."""
    q = select(relations).order_by(relations.c.id)
    if not include_invalid:
        q = q.where(relations.c.invalidated_at.is_(None), relations.c.expired_at.is_(None))
    with store.connect() as conn:
        rels = [dict(r._mapping) for r in conn.execute(q)]
        ents = [dict(r._mapping) for r in conn.execute(select(entities).order_by(entities.c.id))]
    used = {r["src_id"] for r in rels} | {r["dst_id"] for r in rels}
    nodes = [
        {"id": f"e{e['id']}", "entity_id": e["id"], "name": e["name"], "type": e["type"], "aliases": list(e["aliases"] or [])}
        for e in ents
        if include_invalid or e["id"] in used
    ]
    edges = [
        {
            "id": f"r{r['id']}", "relation_id": r["id"], "source": f"e{r['src_id']}", "target": f"e{r['dst_id']}",
            "predicate": r["predicate"], "weight": float(r["weight"]), "confidence": float(r["confidence"]),
            "valid_from": _iso(r["valid_from"]), "invalidated_at": _iso(r["invalidated_at"]), "expired_at": _iso(r["expired_at"]),
            "inferred": bool(r["inferred"]), "source_message_ids": list(r["source_message_ids"] or []),
            "source_fact_ids": list(r["source_fact_ids"] or []),
        }
        for r in rels
    ]
    return {"nodes": nodes, "edges": edges}


def to_graphml(data: dict) -> bytes:
    """GraphML (directed, parallel edges allowed); lists are stored as JSON strings."""
    ET.register_namespace("", GRAPHML_NS)
    root = ET.Element(f"{{{GRAPHML_NS}}}graphml")
    for scope, attrs in (("node", _NODE_ATTRS), ("edge", _EDGE_ATTRS)):
        for name, kind in attrs.items():
            ET.SubElement(root, f"{{{GRAPHML_NS}}}key", {"id": f"{scope[0]}_{name}", "for": scope, "attr.name": name, "attr.type": kind})
    graph = ET.SubElement(root, f"{{{GRAPHML_NS}}}graph", {"id": "knowledge_graph", "edgedefault": "directed"})

    def data_el(parent, key: str, value) -> None:
        if value is None:
            return
        if isinstance(value, list):
            value = json.dumps(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        ET.SubElement(parent, f"{{{GRAPHML_NS}}}data", {"key": key}).text = str(value)

    for n in data["nodes"]:
        el = ET.SubElement(graph, f"{{{GRAPHML_NS}}}node", {"id": n["id"]})
        for name in _NODE_ATTRS:
            data_el(el, f"n_{name}", n[name])
    for e in data["edges"]:
        el = ET.SubElement(graph, f"{{{GRAPHML_NS}}}edge", {"id": e["id"], "source": e["source"], "target": e["target"]})
        for name in _EDGE_ATTRS:
            data_el(el, f"e_{name}", e[name])
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def export_graph(store: Store, path: str | Path, fmt: str = "graphml", include_invalid: bool = False) -> dict:
    """Write the graph to `path` in `fmt`; returns {"nodes": n, "edges": m, "path": ...}. The file is
    written to a temporary name and renamed, so a failed export leaves no partial file."""
    if fmt not in FORMATS:
        raise ValueError(f"export format {fmt!r}: expected one of {FORMATS}")
    data = graph_data(store, include_invalid)
    payload = to_graphml(data) if fmt == "graphml" else json.dumps(data, indent=1, ensure_ascii=False).encode("utf-8")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(payload)
    tmp.replace(path)
    return {"nodes": len(data["nodes"]), "edges": len(data["edges"]), "path": str(path)}


def facts_frame(store: Store, user: str | None = None) -> pd.DataFrame:
    """Every fact (of `user`, if given: a key, platform id or unambiguous name, with linked accounts)
    as a DataFrame, oldest first; source_message_ids as lists."""
    q = select(facts).order_by(facts.c.valid_from, facts.c.id)
    if user:
        q = q.where(facts.c.user_name.in_(resolve_user(store, user).keys))
    with store.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(q)]
    return pd.DataFrame(rows, columns=list(facts.c.keys()))


def summaries_frame(store: Store, user: str | None = None) -> pd.DataFrame:
    """Every summary (that `user` took part in, if given) as a DataFrame, oldest first."""
    keys = set(resolve_user(store, user).keys) if user else set()
    with store.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(summaries).order_by(summaries.c.day, summaries.c.id))]
    if user:
        rows = [r for r in rows if keys & set(r["participants"] or [])]
    return pd.DataFrame(rows, columns=list(summaries.c.keys()))


__all__ = ["graph_data", "to_graphml", "export_graph", "facts_frame", "summaries_frame", "FORMATS"]
