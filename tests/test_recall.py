"""recall(): planted facts come back with existing source messages, invalid facts stay out unless asked,
at= travels in time, results stay within the user (and character), and the FTS index follows writes."""

from __future__ import annotations

import json
from datetime import timezone

import pytest
from sqlalchemy import func, select, text, update

import background_pipelines
from background_pipelines.recall import RecallError, recall
from background_pipelines.store.schema import messages
from background_pipelines.store.search_index import fts_row_counts, search_messages
from recall_seed import ALICE, JOB_CHANGE, OLD_JOB_AT, seed


@pytest.fixture
def seeded(store, bgp_env):
    return store, seed(store)


def _texts(hits):
    return [h.text for h in hits]


def test_recall_returns_current_job_with_existing_source_messages(seeded):
    store, ids = seeded
    hits = recall("alice", "Where does Alice work?", store=store, kinds=("fact", "summary", "relation"))
    facts = [h for h in hits if h.kind == "fact"]
    assert facts and facts[0].text == "alice works as pastry chef"
    with store.connect() as conn:
        existing = set(conn.execute(select(messages.c.id)).scalars())
    for h in hits:
        assert h.source_message_ids and set(h.source_message_ids) <= existing
    assert facts[0].source_message_ids == [ids["messages"]["a5"]]
    # turns first (the default): the turn that says it, with who said it, when, and the fact attached
    turns = recall("alice", "Where does Alice work?", store=store)
    assert turns and all(h.kind == "message" for h in turns)
    top = turns[0]
    assert top.id == ids["messages"]["a5"] and top.speaker == "alice" and top.speaker_kind == "user"
    assert top.session == "s-alice-rex" and top.at == JOB_CHANGE
    assert "alice works as pastry chef" in [c.text for c in top.context]
    assert all(c.source_message_ids and set(c.source_message_ids) <= existing for h in turns for c in h.context)


def test_invalidated_job_is_left_out_by_default(seeded):
    store, _ = seeded
    hits = recall("alice", "alice works as nurse", store=store, k=20, kinds=("fact", "relation"))
    assert hits and "alice works as nurse" not in _texts(hits)
    assert all(h.valid_to is None for h in hits if h.kind in ("fact", "relation"))
    turns = recall("alice", "alice works as nurse", store=store, k=20)
    assert turns and not any(c.text == "alice works as nurse" for h in turns for c in h.context)


def test_include_invalid_shows_the_old_job_with_its_end(seeded):
    store, _ = seeded
    hits = recall("alice", "alice works as nurse", store=store, k=20, include_invalid=True, kinds=("fact",))
    old = [h for h in hits if h.kind == "fact" and h.text == "alice works as nurse"]
    assert old and old[0].valid_to == JOB_CHANGE


@pytest.mark.parametrize("at", [OLD_JOB_AT, OLD_JOB_AT.isoformat(), OLD_JOB_AT.replace(tzinfo=timezone.utc)])
def test_at_time_travel_shows_the_old_job(seeded, at):
    store, _ = seeded
    hits = recall("alice", "Where does Alice work?", store=store, at=at, kinds=("message", "fact", "relation"))
    texts = _texts(hits)
    assert "alice works as nurse" in texts
    assert not any("pastry" in t for t in texts)  # neither the new fact nor the later message
    # turns as of then: the nurse turn with the fact valid then, nothing said later
    turns = recall("alice", "Where does Alice work?", store=store, at=at)
    assert turns and all(h.at <= OLD_JOB_AT for h in turns)
    nurse = [h for h in turns if "nurse" in h.text]
    assert nurse and "alice works as nurse" in [c.text for c in nurse[0].context]
    assert not any("pastry" in c.text for h in turns for c in h.context)


def test_recall_stays_within_the_user(seeded):
    store, ids = seeded
    bob_msgs = {v for k, v in ids["messages"].items() if k.startswith("b")}
    for modes in (("fulltext",), ("vectors",), ("graph",), ("fulltext", "vectors", "graph")):
        for kinds in (("message",), ("message", "summary", "fact", "relation")):
            hits = recall("alice", "firefighter Denver dog Biscuit snow Luna", store=store, k=50, modes=modes, kinds=kinds)
            assert not any(set(h.source_message_ids) & bob_msgs for h in hits), (modes, kinds)
            assert not any(set(c.source_message_ids) & bob_msgs for h in hits for c in h.context), (modes, kinds)
    # Luna spoke to bob too, in his private channel: asking with character=Luna never reaches it
    luna = recall("alice", "Stay safe out there firefighter", character="Luna", store=store, k=50)
    assert not any(h.id in bob_msgs for h in luna)


def test_character_limits_messages_and_summaries_to_that_conversation(seeded):
    store, ids = seeded
    rex = recall("alice", "hospital nurse job pastry", character="Rex", store=store, k=50, modes=("fulltext", "vectors"))
    luna_session = {ids["messages"][x] for x in ("a1", "a2", "a3", "a4")}
    assert rex and not any(h.kind in ("message", "summary") and set(h.source_message_ids) & luna_session for h in rex)
    luna = recall("alice", "hospital nurse job", character="Luna", store=store, k=50, modes=("fulltext",), kinds=("message", "summary"))
    assert any(h.kind == "summary" for h in luna)


def test_each_mode_alone_finds_its_kind_of_evidence(seeded):
    store, ids = seeded
    ft = recall("alice", "Lisbon azulejo", store=store, modes=("fulltext",))
    assert ft[0].kind in ("message", "summary") and ids["messages"]["a3"] in ft[0].source_message_ids
    vec = recall("alice", "grey cat called Pixel", store=store, modes=("vectors",))
    assert ids["messages"]["a4"] in vec[0].source_message_ids
    gr = recall("alice", "Where does her sister Clara live? Lisbon?", store=store, modes=("graph",), kinds=("relation",))
    assert any(h.kind == "relation" and h.text == "Clara lives in Lisbon" for h in gr)
    assert all(h.modes.keys() == {"graph"} for h in gr)


def test_fused_hits_carry_every_mode_that_ranked_them(seeded):
    store, _ = seeded
    hits = recall("alice", "What pet does alice have?", store=store, kinds=("fact",))
    top = hits[0]
    assert top.text == "alice has pet cat Pixel" and {"fulltext", "vectors"} <= set(top.modes)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_fulltext_index_follows_inserts_updates_and_deletes(seeded):
    store, ids = seeded
    a4 = ids["messages"]["a4"]
    with store.begin() as conn:
        assert [i for i, _ in search_messages(conn, ALICE, ["pixel"], character=None, at=None, limit=5)] == [a4]
        conn.execute(update(messages).where(messages.c.id == a4).values(text="I adopted a tortoise called Shelly"))
    with store.begin() as conn:
        assert search_messages(conn, ALICE, ["pixel"], character=None, at=None, limit=5) == []
        assert [i for i, _ in search_messages(conn, ALICE, ["tortoise"], character=None, at=None, limit=5)] == [a4]
        conn.execute(text("DELETE FROM pins WHERE message_id = :i"), {"i": a4})
        conn.execute(text("DELETE FROM message_scores WHERE message_id = :i"), {"i": a4})
        conn.execute(messages.delete().where(messages.c.id == a4))
    with store.begin() as conn:
        assert search_messages(conn, ALICE, ["tortoise"], character=None, at=None, limit=5) == []
        if conn.dialect.name == "sqlite":
            n = conn.execute(select(func.count()).select_from(messages)).scalar_one()
            assert fts_row_counts(conn)["messages_fts"] == n


@pytest.mark.parametrize(
    "kwargs, names",
    [
        (dict(user="", query="x"), "user"),
        (dict(user="alice", query="  "), "query"),
        (dict(user="alice", query="x", k=0), "k="),
        (dict(user="alice", query="x", at="last tuesday"), "at="),
        (dict(user="alice", query="x", modes=("telepathy",)), "modes="),
        (dict(user="alice", query="x", kinds=("gossip",)), "kinds="),
    ],
)
def test_bad_arguments_raise_errors_naming_them(seeded, kwargs, names):
    store, _ = seeded
    with pytest.raises(RecallError, match=names):
        recall(store=store, **kwargs)


def test_recall_is_callable_from_the_package(seeded):
    store, _ = seeded
    hits = background_pipelines.recall("alice", "pet", store=store)
    assert hits and hits[0].kind in ("fact", "message", "summary", "relation")


def test_recall_unknown_user_returns_nothing(seeded):
    store, _ = seeded
    assert recall("nobody", "Where does Alice work?", store=store) == []


def test_bgp_recall_prints_a_ranked_table(seeded, capsys):
    from background_pipelines.cli import main

    assert main(["recall", "alice", "Where does Alice work?", "--k", "3"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["#", "kind", "id"] and "speaker" in out[0]
    ranked = [line for line in out[1:] if line.split()[0].isdigit()]  # a turn per row, its context indented under it
    assert len(ranked) == 3 and "pastry chef" in ranked[0] and "alice" in ranked[0] and "2026-10-20" in ranked[0]
    assert "alice works as pastry chef" in out[out.index(ranked[0]) + 1]
    assert main(["recall", "alice", "Where does Alice work?", "--at", OLD_JOB_AT.isoformat(), "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows and all(r["kind"] == "message" and r["speaker"] for r in rows)
    assert any(c["text"] == "alice works as nurse" for r in rows for c in r["context"])
    assert main(["recall", "alice", "Where does Alice work?", "--kinds", "fact", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["text"] == "alice works as pastry chef"
    assert main(["recall", "alice", "job", "--at", "yesterday-ish"]) == 2


def test_bgp_why_prints_fact_messages_run_and_asset(seeded, capsys):
    from background_pipelines.cli import main

    store, ids = seeded
    fid = ids["facts"][("alice", "nurse")]
    assert main(["why", str(fid)]) == 0
    out = capsys.readouterr().out
    assert "alice works_as nurse" in out
    assert "run run-facts-1, asset extracted_facts" in out
    assert f"#{ids['messages']['a1']}" in out and "alice: I just started a new job as a nurse" in out
    assert "knowledge_graph" in out and "ended 2026-10-20" in out
    assert main(["why", "999999"]) == 1


def test_migration_0002_downgrades_and_upgrades_cleanly(store):
    from alembic import command
    from sqlalchemy import inspect

    from background_pipelines.store.engine import _alembic_config, current_revision

    with store.begin() as conn:
        command.downgrade(_alembic_config(conn), "0002_recall")  # undo the merge point first
    with store.begin() as conn:
        command.downgrade(_alembic_config(conn), "0002_recall@-1")
    assert "0002_recall" not in (current_revision(store.engine) or "")
    names = set(inspect(store.engine).get_table_names())
    assert "forget_log" not in names and not any(n.endswith("_fts") for n in names)
    with store.begin() as conn:
        command.upgrade(_alembic_config(conn), "heads")
    seed(store)  # triggers and indexes work after the round trip
    assert recall("alice", "pet Pixel", store=store, modes=("fulltext",))
