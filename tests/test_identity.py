"""Who is who: a user is (platform, platform user id). Two "alice"s on two platforms never see each
other's memory, a renamed user keeps hers, linking is explicit and audited, names resolve or are
refused as ambiguous, and the identity_users migration moves a store keyed by display names."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import select

from background_pipelines.cognition.facts import extract_facts
from background_pipelines.cognition.graph import update_knowledge_graph
from background_pipelines.cognition.relationships import update_relationship_scores
from background_pipelines.config import Settings
from background_pipelines.forget import ForgetError, forget
from background_pipelines.ingest import ingest_file, record_messages
from background_pipelines.llm import Gateway
from background_pipelines.recall import RecallError, recall
from background_pipelines.store import open_store
from background_pipelines.store.engine import _alembic_config, current_revision, upgrade
from background_pipelines.store.messages import upsert_characters
from background_pipelines.store.schema import entities, facts, relationship_scores, user_links, users
from background_pipelines.users import AmbiguousUserError, UnknownUserError, link_users, resolve_user, unlink_user

DAY = "2026-11-02"
TG, DC = "telegram:user111", "discord:900100"


def _msg(platform, ext, session, author, text, minute, author_id=None, kind="user"):
    # the same channel name on both platforms: names are not unique across platforms, accounts are
    m = dict(platform=platform, external_id=ext, channel="dm/Nova/alice", session=session, author=author,
             author_kind=kind, text=text, created_at=f"{DAY}T10:{minute:02d}:00Z")
    if author_id is not None:
        m["author_id"] = author_id
    return m


def _two_alices(store):
    upsert_characters(store, [dict(name="Nova")])
    record_messages([
        _msg("telegram", "t1", "tg-s", "alice", "I work at Acme Corp as a data analyst.", 0, author_id="user111"),
        _msg("telegram", "t2", "tg-s", "Nova", "Acme sounds busy.", 1, kind="character"),
        _msg("telegram", "t3", "tg-s", "alice", "My dog Biscuit chewed my shoes again.", 2, author_id="user111"),
        _msg("discord", "d1", "dc-s", "alice", "I work at Globex Corporation these days.", 3, author_id=900100),
        _msg("discord", "d2", "dc-s", "Nova", "Globex, nice.", 4, kind="character"),
        _msg("discord", "d3", "dc-s", "alice", "My cat Pickle sleeps all day.", 5, author_id=900100),
    ], store)


def _derive(store):
    settings = Settings.from_env()
    gw = Gateway.from_settings(settings, store)
    for stage in (extract_facts, update_knowledge_graph, update_relationship_scores):
        stage(store, gw, settings, DAY)


def _texts(hits):
    return " | ".join(h.text for h in hits)


def test_two_alices_on_two_platforms_never_see_each_others_memory(bgp_env, store):
    _two_alices(store)
    _derive(store)
    with store.connect() as conn:
        by_user = {}
        for r in conn.execute(select(facts.c.user_name, facts.c.object)):
            by_user.setdefault(r.user_name, set()).add(r.object)
        assert set(by_user) == {TG, DC}
        assert "Acme Corp" in by_user[TG] and "Globex Corporation" not in by_user[TG]
        assert "Globex Corporation" in by_user[DC] and "Acme Corp" not in by_user[DC]
        user_ents = {r.norm for r in conn.execute(select(entities.c.norm).where(entities.c.type == "user"))}
        assert user_ents == {TG, DC}  # one graph entity per account, not one "alice"
        scores = {(r.user_name, r.character) for r in conn.execute(select(relationship_scores))}
        assert scores == {(TG, "Nova"), (DC, "Nova")}

    tg_hits = recall(TG, "where does she work? pet?", k=20, store=store)
    dc_hits = recall("900100", "where does she work? pet?", k=20, store=store)  # the platform id resolves too
    assert "Acme" in _texts(tg_hits) and "Biscuit" in _texts(tg_hits)
    assert "Globex" not in _texts(tg_hits) and "Pickle" not in _texts(tg_hits)
    assert "Globex" in _texts(dc_hits) and "Pickle" in _texts(dc_hits)
    assert "Acme" not in _texts(dc_hits) and "Biscuit" not in _texts(dc_hits)

    with pytest.raises(RecallError) as err:
        recall("alice", "where does she work?", store=store)
    assert TG in str(err.value) and DC in str(err.value) and "ambiguous" in str(err.value)
    with pytest.raises(ForgetError) as err:
        forget(store, user="alice", dry_run=True)
    assert TG in str(err.value) and DC in str(err.value)

    report = forget(store, user=TG)
    assert report.users == [TG]
    with store.connect() as conn:
        assert {r.user_name for r in conn.execute(select(facts.c.user_name))} == {DC}
        assert conn.execute(select(users.c.name)).scalars().all() == [DC]
    assert "Globex" in _texts(recall("alice", "where does she work?", k=20, store=store))  # now unambiguous


def _telegram_export(path, messages):
    chat = {"name": "Alice", "type": "personal_chat", "id": 4242, "messages": messages}
    path.write_text(json.dumps(chat), encoding="utf-8")
    return path


def _tg(msg_id, who, text, day, hour, from_id="user4242"):
    ts = int(datetime.fromisoformat(f"{day}T{hour:02d}:00:00+00:00").timestamp())
    return {"id": msg_id, "type": "message", "date": f"{day}T{hour:02d}:00:00", "date_unixtime": str(ts),
            "from": who, "from_id": from_id, "text": text}


def test_renamed_user_keeps_her_memory(bgp_env, store, tmp_path):
    upsert_characters(store, [dict(name="Nova")])
    # the later name arrives in the first file: the display name follows message time, not import order
    ingest_file(_telegram_export(tmp_path / "late.json", [
        _tg(3, "alicia", "I moved to Porto last week.", "2026-11-03", 9),
    ]), store, characters=["Nova"])
    ingest_file(_telegram_export(tmp_path / "early.json", [
        _tg(1, "alice", "I work at Acme Corp as a data analyst.", DAY, 9),
        _tg(2, "Nova", "Acme sounds busy.", DAY, 10, from_id="user7"),
    ]), store, characters=["Nova"])
    key = "telegram:user4242"
    u = resolve_user(store, "alicia")
    assert u.key == key and u.display_name == "alicia"
    assert resolve_user(store, "alice").key == key  # a former name still names her
    with store.connect() as conn:
        assert conn.execute(select(users.c.name)).scalars().all() == [key]
    _derive(store)
    hits = recall("alicia", "where does she work?", k=10, store=store)
    assert any("Acme" in h.text for h in hits), _texts(hits)  # said as "alice", recalled as "alicia"


def test_importers_keep_platform_ids(bgp_env, store, tmp_path):
    ingest_file(_telegram_export(tmp_path / "t.json", [_tg(1, "Bea", "hello there", DAY, 9, from_id="user99")]), store)
    with store.connect() as conn:
        row = conn.execute(sa.text("SELECT author, author_name FROM messages")).one()
    assert tuple(row) == ("telegram:user99", "Bea")
    # canonical JSONL without author_id: the name stands in for the id, within the platform
    (tmp_path / "c.jsonl").write_text(json.dumps(dict(external_id=1, channel="c", session="s", author="Bea",
                                                      text="hi", created_at=f"{DAY}T09:00:00Z")) + "\n")
    ingest_file(tmp_path / "c.jsonl", store)
    with store.connect() as conn:
        assert sorted(conn.execute(select(users.c.name)).scalars()) == ["jsonl:Bea", "telegram:user99"]
    with pytest.raises(AmbiguousUserError):
        resolve_user(store, "Bea")
    with pytest.raises(UnknownUserError):
        resolve_user(store, "nobody")


def test_link_joins_accounts_explicitly_and_is_audited(bgp_env, store):
    _two_alices(store)
    _derive(store)
    u = link_users(store, TG, DC, reason="same person, confirmed", actor="test")
    assert set(u.keys) == {TG, DC}
    assert resolve_user(store, "alice").keys == (TG, DC) or set(resolve_user(store, "alice").keys) == {TG, DC}
    both = _texts(recall("alice", "where does she work?", k=20, store=store))
    assert "Acme" in both and "Globex" in both
    link_users(store, DC, TG)  # already one person: no change, no audit row
    with store.connect() as conn:
        audit = [dict(r._mapping) for r in conn.execute(select(user_links).order_by(user_links.c.id))]
    assert [(a["action"], a["user_key"], a["person_after"], a["reason"]) for a in audit] == [("link", DC, TG, "same person, confirmed")]
    unlink_user(store, DC, reason="mistake")
    with pytest.raises(AmbiguousUserError):
        resolve_user(store, "alice")
    assert "Acme" not in _texts(recall(DC, "where does she work?", k=20, store=store))


def _old_store(url):
    """A store at the revision before identity_users, filled the way it used to be: keyed by name."""
    s = open_store(url, migrate=False)
    if current_revision(s.engine) is None:
        upgrade(s.engine, "knowledge_fact_time")
    else:  # the PostgreSQL test database is kept at head: step back (this runs the downgrade too)
        with s.begin() as conn:
            command.downgrade(_alembic_config(conn), "knowledge_fact_time")
    now = "2026-11-05 00:00:00"
    rows = [  # id, platform, external id, session, author, kind, text
        (1, "demo", "1", "s1", "alice", "user", "I work at Acme Corp."),
        (2, "demo", "2", "s1", "Nova", "character", "Nice."),
        (3, "jsonl", "3", "s2", "alice", "user", "I work at Globex."),
        (4, "demo", "4", "s3", "bob", "user", "I live in Lisbon."),
    ]
    with s.begin() as conn:
        for i, p, x, sess, a, k, t in rows:
            conn.execute(sa.text(
                "INSERT INTO messages (id, platform, external_id, channel, session, author, author_kind, role, text, "
                "created_at, day, ingested_at) VALUES (:i, :p, :x, 'c', :s, :a, :k, 'user', :t, :c, '2026-11-02', :c)"),
                dict(i=i, p=p, x=x, s=sess, a=a, k=k, t=t, c=f"2026-11-02 10:0{i}:00"))
        for name, disp in (("alice", "Alice"), ("bob", "Bob")):
            conn.execute(sa.text("INSERT INTO users (name, display_name, created_at) VALUES (:n, :d, :c)"), dict(n=name, d=disp, c=now))
        for fid, user, obj, src in ((1, "alice", "Acme Corp", [1]), (2, "alice", "Globex", [3]), (3, "bob", "Lisbon", [4])):
            conn.execute(sa.text(
                "INSERT INTO facts (id, user_name, kind, subject, predicate, object, confidence, valid_from, "
                "source_message_ids, day, backend, version, created_at) VALUES (:i, :u, 'fact', :u, 'works_at', :o, 0.9, "
                ":c, :s, '2026-11-02', 'offline', 'v', :c)"), dict(i=fid, u=user, o=obj, s=json.dumps(src), c=now))
        for user in ("alice", "bob"):
            conn.execute(sa.text(
                "INSERT INTO relationship_scores (user_name, character, familiarity, interactions, sessions, "
                "first_interaction, last_interaction, updated_at) VALUES (:u, 'Nova', 0.5, 1, 1, :c, :c, :c)"), dict(u=user, c=now))
        conn.execute(sa.text(
            "INSERT INTO summaries (id, session, channel, day, first_message_id, last_message_id, message_ids, "
            "participants, text, meaningfulness, status, backend, version, created_at) VALUES (1, 's1', 'c', "
            "'2026-11-02', 1, 2, '[1, 2]', '[\"alice\", \"Nova\"]', 'alice and Nova', 3, 'kept', 'offline', 'v', :c)"),
            dict(c=now))
        conn.execute(sa.text(
            "INSERT INTO entities (id, name, norm, type, aliases, created_at, updated_at) VALUES "
            "(1, 'bob', 'bob', 'person', '[]', :c, :c)"), dict(c=now))
    return s


def test_migration_moves_a_store_keyed_by_names(db_url):
    old = _old_store(db_url)
    upgrade(old.engine)
    with old.connect() as conn:
        authors = dict(conn.execute(sa.text("SELECT id, author FROM messages")).all())
        assert authors == {1: "demo:alice", 2: "Nova", 3: "jsonl:alice", 4: "demo:bob"}
        names = dict(conn.execute(sa.text("SELECT id, author_name FROM messages")).all())
        assert names[1] == names[3] == "alice"
        got = {r.name: (r.display_name, r.platform, r.platform_user_id, r.person) for r in conn.execute(select(users))}
        assert got == {"demo:alice": ("alice", "demo", "alice", "demo:alice"),
                       "jsonl:alice": ("alice", "jsonl", "alice", "jsonl:alice"),
                       "demo:bob": ("Bob", "demo", "bob", "demo:bob")}
        # the merged "alice" is split by each fact's source message; bob's name maps to his one key
        assert dict(conn.execute(select(facts.c.id, facts.c.user_name)).all()) == {1: "demo:alice", 2: "jsonl:alice", 3: "demo:bob"}
        assert conn.execute(select(relationship_scores.c.user_name)).scalars().all() == ["demo:bob"]
        parts = conn.execute(sa.text("SELECT participants FROM summaries")).scalar_one()
        assert (json.loads(parts) if isinstance(parts, str) else parts) == ["demo:alice", "Nova"]
        assert conn.execute(select(entities.c.name, entities.c.norm, entities.c.type)).one() == ("bob", "demo:bob", "user")
    with pytest.raises(AmbiguousUserError):
        resolve_user(old, "alice")
    assert resolve_user(old, "Bob").key == "demo:bob"
    old.engine.dispose()


def test_users_show_lists_what_is_known_with_sources_and_validity(bgp_env, store, tmp_path, capsys):
    from background_pipelines.cli import main
    from background_pipelines.users.show import user_profile

    _two_alices(store)
    record_messages([_msg("telegram", "t4", "tg-s", "alice", "I work at Initech now.", 30, author_id="user111")], store)
    _derive(store)
    forget(store, message_ids=[3])  # "My dog Biscuit..." goes; what cited it is trimmed or deleted
    p = user_profile(store, TG)
    assert p["user"]["key"] == TG and [a["key"] for a in p["accounts"]] == [TG]
    jobs = {f["object"]: f for f in p["facts"] if f["predicate"] == "works_at"}
    assert set(jobs) == {"Acme Corp", "Initech"}  # never discord alice's Globex
    assert jobs["Acme Corp"]["valid_to"] is not None and jobs["Initech"]["valid_to"] is None  # the job change ended Acme
    assert all(f["source_message_ids"] and set(f["source_message_ids"]) <= set(p["sources"]) for f in p["facts"])
    assert {n["entity"] for n in p["graph"]["neighbours"]} >= {"Acme Corp", "Initech"}
    assert "Globex Corporation" not in json.dumps(p, default=str) and "Pickle" not in json.dumps(p, default=str)
    assert [r["character"] for r in p["relationships"]] == ["Nova"]
    assert 3 not in p["sources"] and "Biscuit" not in {f["object"] for f in p["facts"]}

    assert main(["users", "show", TG, "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["user"]["key"] == TG and {f["object"] for f in shown["facts"]} >= {"Acme Corp", "Initech"}
    page = tmp_path / "alice.html"
    assert main(["users", "show", TG, "--html", str(page)]) == 0
    text = page.read_text()
    assert "<svg" in text and "Initech" in text and "works_at" in text and "Globex" not in text
    assert main(["users", "show", "alice"]) == 2
    assert "ambiguous" in capsys.readouterr().err
