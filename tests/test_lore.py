"""The lore digest in real Dagster runs: a document digested a slice per run equals the one-shot
result (facts, provenance offsets, graph), a re-run adds nothing, a changed document replaces its old
contributions, the sensor asks while chunks are owed, and bad files are refused with nothing written."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest
from sqlalchemy import func, select

from assets.lore import definitions as lore_definitions
from assets.resources import LLMResource, StoreResource
from background_pipelines.characters_yaml import set_character
from background_pipelines.cli import main
from background_pipelines.config import Settings
from background_pipelines.lore import LoreError, add_documents, chunk_text
from background_pipelines.store import open_store
from background_pipelines.store.lore import list_documents, lore_facts
from background_pipelines.store.schema import entities, facts, lore_documents, lore_fact_sources, relations
from sensors.lore import build_lore_job, build_lore_sensor

LORE = """# Mira, keeper of the night sky

Mira works at the Lisbon Observatory. She grew up in Porto, where her grandmother taught her the
names of the stars. Mira's cat is named Pixel.

She loves stargazing. Her sister Ana lives in Madrid and calls every Sunday.

Mira lives in Coimbra during her studies. She studies at the University of Coimbra.

She has a dog named Comet. Mira is a night owl who sleeps until noon.

Years later, Mira moved to Lisbon. She likes fado. Her brother Rui works as a pilot.

Mira used to work at the Porto Planetarium. She loves astronomy books.
"""


def _store_with_mira(url: str):
    s = open_store(url)
    set_character(s, "Mira", persona="an astronomer", timezone="Europe/Lisbon")
    return s


def _digest(url: str, slice_chunks: int) -> list[dict]:
    """lore_digest materialized until nothing is owed; the metadata of each run."""
    settings = Settings.from_env()
    assets = list(lore_definitions(settings).assets)
    resources = {"store": StoreResource(database_url=url), "llm": LLMResource()}
    metas = []
    for _ in range(50):
        result = dg.materialize(assets, resources=resources, run_config={"ops": {"lore_digest": {"config": {"slice_chunks": slice_chunks}}}})
        assert result.success
        mats = result.asset_materializations_for_node("lore_digest")
        metas.append({k: v.value for k, v in mats[0].metadata.items()})
        if not metas[-1]["chunks_owed"]:
            return metas
    raise AssertionError("the digest never finished")


def _snapshot(store) -> dict:
    """What the lore made, independent of ids and of when the document was added: facts with their
    provenance offsets, and the graph's relations by entity names."""
    with store.connect() as conn:
        added = {d.id: d.added_at for d in conn.execute(select(lore_documents.c.id, lore_documents.c.added_at))}
        names = {e.id: e.norm for e in conn.execute(select(entities.c.id, entities.c.norm))}
        rels = sorted(
            (names[r.src_id], r.predicate, names[r.dst_id], r.weight, r.invalidated_at is not None, len(r.source_fact_ids))
            for r in conn.execute(select(relations))
        )
    fs = sorted(
        (f["subject"], f["predicate"], f["object"], f["ended"], f["confidence"], f["chunk"], f["start"], f["end"],
         f["valid_from"] - added[f["document_id"]])
        for f in lore_facts(store)
    )
    return {"facts": fs, "relations": rels}


def test_sliced_digest_equals_one_shot_and_a_rerun_adds_nothing(store, bgp_env, tmp_path):
    doc = tmp_path / "mira.md"
    doc.write_text(LORE)
    chunks = chunk_text(LORE, 120)
    assert len(chunks) >= 5  # so slices of 2 take several runs
    sliced = _store_with_mira(bgp_env)
    add_documents(sliced, [doc], "Mira", chunk_chars=120)
    runs = _digest(bgp_env, slice_chunks=2)
    assert len(runs) == -(-len(chunks) // 2)  # ceil: one slice of 2 chunks per run
    assert [m["chunks_digested"] for m in runs[:-1]] == [2] * (len(runs) - 1)
    assert list_documents(sliced)[0]["status"] == "done" and list_documents(sliced)[0]["cursor"] == len(chunks)

    one_url = f"sqlite:///{tmp_path / 'one_shot.db'}"
    one = _store_with_mira(one_url)
    add_documents(one, [doc], "Mira", chunk_chars=120)
    assert len(_digest(one_url, slice_chunks=100)) == 1

    got, want = _snapshot(sliced), _snapshot(one)
    assert got == want
    preds = {(f[0], f[1], f[2], f[3]) for f in got["facts"]}
    assert {("Mira", "works_at", "Lisbon Observatory", False), ("Mira's sister", "lives_in", "Madrid", False),
            ("Mira", "has_pet", "Pixel", False), ("Mira", "works_at", "Porto Planetarium", True)} <= preds
    # lives_in Coimbra (chunk 3) was superseded by lives_in Lisbon (a later chunk, a later slice)
    assert ("mira", "lives_in", "coimbra", 1.0, True, 1) in got["relations"]
    assert ("mira", "lives_in", "lisbon", 1.0, False, 1) in got["relations"]
    # provenance: each fact's offsets point at the sentence stating it
    for f in lore_facts(sliced):
        assert f["object"].split()[0] in LORE[f["start"]:f["end"]]

    def counts():
        with sliced.connect() as conn:
            return [conn.execute(select(func.count()).select_from(t)).scalar_one() for t in (facts, lore_fact_sources, entities, relations)]

    before = counts()
    again = _digest(bgp_env, slice_chunks=2)  # nothing owed
    assert again[0]["processed"] == 0 and again[0]["rows_written"] == 0
    settings = Settings.from_env()
    forced = dg.materialize(list(lore_definitions(settings).assets), resources={"store": StoreResource(), "llm": LLMResource()},
                            run_config={"ops": {"lore_digest": {"config": {"slice_chunks": 100, "force": True}}}})
    meta = forced.asset_materializations_for_node("lore_digest")[0].metadata
    assert meta["processed"].value == len(chunks) and meta["rows_written"].value == 0
    assert counts() == before and _snapshot(sliced) == got


def test_a_changed_document_replaces_its_old_contributions(store, bgp_env, tmp_path):
    doc = tmp_path / "mira.md"
    doc.write_text("Mira works at the Lisbon Observatory. Her cat is named Pixel.\n")
    s = _store_with_mira(bgp_env)
    add_documents(s, [doc], "Mira")
    _digest(bgp_env, slice_chunks=4)
    assert {f["object"] for f in lore_facts(s)} == {"Lisbon Observatory", "Pixel"}
    doc.write_text("Mira works at the Porto Planetarium. Her cat is named Pixel.\n")
    assert main(["lore", "add", str(doc), "--character", "Mira"]) == 0
    # the old revision's facts and the relation folded from them are gone at once
    assert lore_facts(s) == []
    assert not [r for r in _snapshot(s)["relations"] if r[2] == "lisbon observatory"]
    _digest(bgp_env, slice_chunks=4)
    assert {f["object"] for f in lore_facts(s)} == {"Porto Planetarium", "Pixel"}
    rels = _snapshot(s)["relations"]
    assert [r[:3] for r in rels if r[1] == "works_at"] == [("mira", "works_at", "porto planetarium")]
    assert [r[:4] for r in rels if r[1] == "has_pet"] == [("mira", "has_pet", "pixel", 1.0)]  # not duplicated
    assert main(["lore", "add", str(doc), "--character", "Mira"]) == 0  # unchanged: nothing owed again
    assert list_documents(s)[0]["status"] == "done" and list_documents(s)[0]["revision"] == 2


def test_the_sensor_requests_a_run_while_chunks_are_owed(store, bgp_env, tmp_path):
    settings = Settings.from_env()
    job = build_lore_job(settings)
    sensor = build_lore_sensor(settings, job)
    assert sensor.minimum_interval_seconds == 20 * 60
    s = _store_with_mira(bgp_env)
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources={"store": StoreResource()})
        assert sensor.evaluate_tick(ctx).skip_message == "no lore document owes a chunk"
        doc = tmp_path / "mira.txt"
        doc.write_text(LORE)
        add_documents(s, [doc], "Mira", chunk_chars=120)
        first = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, resources={"store": StoreResource()}))
        assert len(first.run_requests) == 1
        again = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, resources={"store": StoreResource()}))
        assert [r.run_key for r in again.run_requests] == [r.run_key for r in first.run_requests]  # same state, same key
        from dagster._core.test_utils import create_run_for_test

        queued = create_run_for_test(instance, job_name="lore_digest_job", status=dg.DagsterRunStatus.STARTED)
        busy = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, resources={"store": StoreResource()}))
        assert busy.run_requests == [] and "already queued or running" in busy.skip_message
        instance.report_run_failed(queued)
        _digest(bgp_env, slice_chunks=100)
        done = sensor.evaluate_tick(dg.build_sensor_context(instance=instance, resources={"store": StoreResource()}))
        assert done.skip_message == "no lore document owes a chunk"


@pytest.mark.parametrize("name, content, expected", [
    ("missing.md", None, "missing.md: no such file"),
    ("empty.md", b"  \n\n", "empty.md: empty"),
    ("blob.txt", b"line one\nline two\x00\x01", "blob.txt:2: binary file"),
    ("latin.txt", "Mira\ncaf\xe9".encode("latin-1"), "latin.txt:2: not UTF-8 text"),
    ("notes.pdf", b"%PDF", "notes.pdf: not a markdown or text file"),
])
def test_bad_files_are_refused_by_name_and_nothing_is_written(store, bgp_env, tmp_path, capsys, name, content, expected):
    s = _store_with_mira(bgp_env)
    good = tmp_path / "good.md"
    good.write_text("Mira works at the Lisbon Observatory.\n")
    bad = tmp_path / name
    if content is not None:
        bad.write_bytes(content)
    with pytest.raises(LoreError, match=expected.replace(".", r"\.")):
        add_documents(s, [good, bad], "Mira")
    assert main(["lore", "add", str(good), str(bad), "--character", "Mira"]) == 1
    assert expected in capsys.readouterr().err
    assert list_documents(s) == []


def test_an_unknown_character_is_refused(store, bgp_env, tmp_path, capsys):
    s = _store_with_mira(bgp_env)
    doc = tmp_path / "x.md"
    doc.write_text("Zed works at Acme.\n")
    assert main(["lore", "add", str(doc), "--character", "Zed"]) == 1
    err = capsys.readouterr().err
    assert "unknown character 'Zed'" in err and "Mira" in err
    assert list_documents(s) == []


def test_with_an_endpoint_the_llm_reads_each_chunk_and_failures_wait_in_the_ledger(store, bgp_env, tmp_path, monkeypatch):
    """Through the local OpenAI-compatible server (real HTTP): facts come from the model's answer, each
    placed at the sentence it quotes; a chunk the model cannot answer is failed with the reason and the
    next run retries it (the cursor stays on it)."""
    from background_pipelines.llm.local_server import LocalLLMServer
    from background_pipelines.store import ledger

    bees, cello = "Mira keeps bees on the roof of the old observatory in Lisbon.", "Mira plays the cello in a quartet every Thursday."
    text = f"{bees}\n\n{cello}\n"
    doc = tmp_path / "mira.md"
    doc.write_text(text)
    s = _store_with_mira(bgp_env)
    add_documents(s, [doc], "Mira", chunk_chars=100)
    assert len(chunk_text(text, 100)) == 2
    broken = {"on": True}

    def answer(request):
        chunk = next(m["content"] for m in request["messages"] if m["role"] == "user")
        if "cello" in chunk:
            if broken["on"]:
                return "not json"
            return {"facts": [{"quote": cello, "predicate": "plays", "object": "cello",
                               "confidence": 0.9, "about": None, "ended": False}]}
        return {"facts": [{"quote": bees, "predicate": "keeps", "object": "bees", "confidence": 0.8,
                           "about": None, "ended": False},
                          {"quote": "made up", "predicate": "likes", "object": "jazz", "confidence": 0.5, "about": "landlord", "ended": False}]}

    monkeypatch.setenv("BGP_LLM_MAX_ATTEMPTS", "1")
    with LocalLLMServer(api_key="sk-test") as srv:
        srv.script("lore_digest", answer)
        monkeypatch.setenv("BGP_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("BGP_LLM_API_KEY", "sk-test")
        settings = Settings.from_env()
        assets = list(lore_definitions(settings).assets)
        resources = {"store": StoreResource(), "llm": LLMResource()}
        first = dg.materialize(assets, resources=resources, raise_on_error=False)
        assert not first.success  # half the chunks failed: at BGP_FAILURE_RATE_THRESHOLD (0.5) the run fails
        assert [(f["predicate"], f["object"], f["start"]) for f in lore_facts(s)] == [("keeps", "bees", 0)]
        failed = ledger.failures(s, "lore_digest")
        assert len(failed) == 1 and failed[0]["item"].endswith(":c1") and "invalid_json" in failed[0]["error"]
        assert list_documents(s)[0]["cursor"] == 1 and list_documents(s)[0]["status"] == "pending"
        broken["on"] = False
        second = dg.materialize(assets, resources=resources)
        assert second.success
    facts_now = [(f["predicate"], f["object"], f["start"], f["end"]) for f in lore_facts(s)]
    at = text.index(cello)
    assert facts_now == [("keeps", "bees", 0, len(bees)), ("plays", "cello", at, at + len(cello))] and at > len(bees)
    assert list_documents(s)[0]["status"] == "done"
    meta = second.asset_materializations_for_node("lore_digest")[0].metadata
    assert meta["llm_backend"].value == "openai" and meta["chunks_digested"].value == 1


def test_an_unknown_document_id_fails_the_run_without_retries(store, bgp_env):
    _store_with_mira(bgp_env)
    result = dg.materialize(list(lore_definitions(Settings.from_env()).assets), resources={"store": StoreResource(), "llm": LLMResource()},
                            run_config={"ops": {"lore_digest": {"config": {"documents": [42]}}}}, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "unknown document id(s) [42]" in failure.event_specific_data.error.message
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]


def test_decay_never_expires_relations_resting_only_on_lore(store, bgp_env, tmp_path):
    """Lore is a character's curated background: a year without mention expires what users said, never
    the relations the digest made from the document."""
    from datetime import datetime

    from background_pipelines.cognition.facts import extract_facts
    from background_pipelines.cognition.graph import update_knowledge_graph
    from background_pipelines.graph_upkeep import decay_relations
    from background_pipelines.ingest.writer import record_messages
    from background_pipelines.llm.gateway import Gateway

    doc = tmp_path / "mira.md"
    doc.write_text(LORE)
    s = _store_with_mira(bgp_env)
    add_documents(s, [doc], "Mira", chunk_chars=400)
    _digest(bgp_env, slice_chunks=100)
    record_messages([dict(external_id="u1", channel="dm/ola", session="s1", author="ola", text="I live in Porto.",
                          created_at="2026-11-02T10:00:00Z")], s, platform="demo")
    settings = Settings.from_env()
    gw = Gateway.from_settings(settings, s)
    extract_facts(s, gw, settings, "2026-11-02")
    update_knowledge_graph(s, gw, settings, "2026-11-02")
    lore_ids = {f["id"] for f in lore_facts(s)}
    with s.connect() as conn:
        rels = [(r.id, set(r.source_fact_ids)) for r in conn.execute(select(relations.c.id, relations.c.source_fact_ids))]
    from_lore = {rid for rid, fids in rels if fids and fids <= lore_ids}
    from_chat = {rid for rid, fids in rels if not fids & lore_ids}
    assert from_lore and from_chat  # both kinds exist, so the check below can fail either way

    decay_relations(s, now=datetime(2030, 1, 1))
    with s.connect() as conn:
        expired = set(conn.execute(select(relations.c.id).where(relations.c.expired_at.is_not(None))).scalars())
    assert from_chat <= expired and not (from_lore & expired)
