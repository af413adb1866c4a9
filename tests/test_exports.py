"""Exports: the graph round-trips through GraphML (networkx and plain XML) and JSON; facts and
summaries come out as DataFrames."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from background_pipelines.exports import GRAPHML_NS, export_graph, facts_frame, graph_data, summaries_frame
from recall_seed import JOB_CHANGE, seed


@pytest.fixture
def seeded(store, bgp_env):
    return store, seed(store)


def test_graphml_round_trips_through_networkx(seeded, tmp_path):
    nx = pytest.importorskip("networkx")
    store, _ = seeded
    data = graph_data(store, include_invalid=True)
    out = export_graph(store, tmp_path / "g.graphml", "graphml", include_invalid=True)
    g = nx.read_graphml(tmp_path / "g.graphml")
    assert out["nodes"] == g.number_of_nodes() == len(data["nodes"]) == 10
    assert out["edges"] == g.number_of_edges() == len(data["edges"]) == 8
    for e in data["edges"]:
        (attrs,) = [a for a in g.get_edge_data(e["source"], e["target"]).values()] if g.is_multigraph() else [g.get_edge_data(e["source"], e["target"])]
        assert attrs["predicate"] == e["predicate"] and json.loads(attrs["source_message_ids"]) == e["source_message_ids"]
        assert attrs["inferred"] is False and attrs["weight"] == e["weight"]
    assert {g.nodes[n["id"]]["name"] for n in data["nodes"]} == {n["name"] for n in data["nodes"]}


def test_graphml_is_plain_xml_with_typed_keys(seeded, tmp_path):
    store, _ = seeded
    export_graph(store, tmp_path / "g.graphml", "graphml")
    root = ET.parse(tmp_path / "g.graphml").getroot()
    ns = {"g": GRAPHML_NS}
    keys = {k.get("attr.name"): k.get("attr.type") for k in root.findall("g:key", ns) if k.get("for") == "edge"}
    assert keys["weight"] == "double" and keys["predicate"] == "string"
    edges = root.findall("g:graph/g:edge", ns)
    assert len(edges) == 7  # current relations only: alice's old job is left out


def test_json_export_round_trips_and_leaves_out_ended_relations(seeded, tmp_path):
    store, _ = seeded
    export_graph(store, tmp_path / "g.json", "json")
    data = json.loads((tmp_path / "g.json").read_text())
    assert data == json.loads(json.dumps(graph_data(store)))
    names = {n["id"]: n["name"] for n in data["nodes"]}
    triples = {(names[e["source"]], e["predicate"], names[e["target"]]) for e in data["edges"]}
    assert ("alice", "works_as", "pastry chef") in triples and ("alice", "works_as", "nurse") not in triples
    assert "nurse" not in names.values()  # only the ended relation touched it
    full = graph_data(store, include_invalid=True)
    ended = [e for e in full["edges"] if e["invalidated_at"]]
    assert len(ended) == 1 and ended[0]["invalidated_at"] == JOB_CHANGE.isoformat()


def test_unknown_format_is_refused_without_writing(seeded, tmp_path):
    store, _ = seeded
    with pytest.raises(ValueError, match="'csv'"):
        export_graph(store, tmp_path / "g.csv", "csv")
    assert not (tmp_path / "g.csv").exists() and not (tmp_path / "g.csv.tmp").exists()


def test_facts_and_summaries_frames(seeded):
    store, ids = seeded
    df = facts_frame(store)
    assert len(df) == 7 and {"user_name", "predicate", "object", "source_message_ids", "valid_from"} <= set(df.columns)
    alice = facts_frame(store, "alice")
    assert set(alice["user_name"]) == {"demo:alice"} and len(alice) == 5  # by name; rows hold the key
    assert alice.loc[alice["object"] == "nurse", "source_message_ids"].iloc[0] == [ids["messages"]["a1"]]
    sums = summaries_frame(store, "bob")
    assert len(sums) == 1 and sums["participants"].iloc[0] == ["demo:bob", "Luna"]
    assert len(summaries_frame(store)) == 2


def test_bgp_export_graph_writes_the_file(seeded, tmp_path, capsys):
    from background_pipelines.cli import main

    assert main(["export", "graph", "--format", "json", "-o", str(tmp_path / "out" / "g.json")]) == 0
    assert "wrote 9 nodes and 7 edges" in capsys.readouterr().out
    assert json.loads((tmp_path / "out" / "g.json").read_text())["edges"]
