"""The demo world: deterministic, shaped for every later stage, and carrying its planted truths."""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import func, select

import background_pipelines.demo as demo
from background_pipelines.cli import main
from background_pipelines.demo import build_world, load_demo
from background_pipelines.store.messages import list_characters
from background_pipelines.store.schema import messages, users


def test_same_seed_gives_identical_world_and_other_seed_differs():
    a, b = build_world(7), build_world(7)
    assert a.messages == b.messages and a.facts == b.facts and a.events == b.events
    assert build_world(8).messages != a.messages


def test_world_has_the_shape_later_stages_need():
    world = demo.default_world()
    assert len(world.characters) >= 3
    assert all(c["persona"] and c["voice"] and c["timezone"] and c["goals"] for c in world.characters)
    assert len(world.users) >= 30
    sizes = Counter(m["session"] for m in world.messages)
    assert len(sizes) >= 200
    assert any(n < 20 for n in sizes.values()) and any(n > 20 for n in sizes.values())
    days = {m["created_at"].date() for m in world.messages}
    assert min(days) == date(2026, 11, 1) and max(days) == date(2026, 11, 14)
    assert {m["author_kind"] for m in world.messages} == {"user", "character"}
    met = {(m["author"], m["channel"].split("/")[1]) for m in world.messages
           if m["author_kind"] == "user" and m["channel"].startswith("dm/")}
    partners = Counter(user for user, _ in met)
    assert set(partners.values()) <= {1, 2}
    characters = [c["name"] for c in world.characters]
    unmet = [(u, c) for u in partners for c in characters if (u, c) not in met]
    assert unmet  # gossip needs characters who have not met some users


def test_planted_facts_are_stated_in_the_cited_user_messages():
    world = demo.default_world()
    by_id = {m["external_id"]: m for m in world.messages}
    facts = demo.PLANTED_FACTS
    assert {f.predicate for f in facts} >= {"works_at", "works_as", "lives_in", "has_pet", "prefers"}
    for fact in facts:
        assert fact.message_ids
        for ext in fact.message_ids:
            message = by_id[ext]
            assert message["author"] == fact.user and message["author_kind"] == "user"
            if fact.predicate != "prefers":
                assert fact.object in message["text"], (fact, message["text"])
    alice = {(f.predicate, f.object) for f in facts if f.user == "alice"}
    assert {("works_at", "Acme Corp"), ("works_as", "nurse"), ("lives_in", "Lisbon"), ("has_pet", "Biscuit")} <= alice
    prefs = {f.object for f in facts if f.kind == "preference"}
    assert {"concise answers", "no emojis"} <= prefs
    assert "please be concise" in by_id[next(f for f in facts if f.object == "concise answers").message_ids[0]]["text"].lower()


def test_job_change_contradiction_comes_after_the_old_job():
    world = demo.default_world()
    at = {m["external_id"]: m["created_at"] for m in world.messages}
    (change,) = demo.PLANTED_CONTRADICTIONS
    assert (change.user, change.old, change.new) == ("dana", "Initech", "Globex")
    assert max(at[i] for i in change.old_message_ids) < min(at[i] for i in change.new_message_ids)
    old = next(f for f in demo.PLANTED_FACTS if f.user == "dana" and f.object == "Initech")
    assert old.superseded_by == "Globex"


def test_aliases_and_significant_events_are_planted():
    world = demo.default_world()
    text = {m["external_id"]: m["text"] for m in world.messages}
    aliases = {(a.canonical, a.alias): a for a in demo.PLANTED_ALIASES}
    for (canonical, alias), planted in aliases.items():
        assert planted.canonical_message_ids and planted.alias_message_ids
        assert all(canonical in text[i] for i in planted.canonical_message_ids)
        assert all(alias in text[i] for i in planted.alias_message_ids)
    assert ("New York City", "NYC") in aliases and ("Acme Corp", "ACME Corporation") in aliases
    events = {e.kind: e for e in demo.PLANTED_EVENTS}
    assert {"pet_died", "promotion", "job_change"} <= set(events)
    assert "Biscuit died" in text[events["pet_died"].message_id]
    assert all(e.significance == 3 for e in events.values())


def test_load_demo_writes_once_through_the_ingest_path(store):
    first = load_demo(store)
    second = load_demo(store)
    assert first.messages.inserted == len(first.world.messages) > 2000
    assert (second.messages.inserted, second.messages.duplicates) == (0, len(first.world.messages))
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages)).scalar_one() == len(first.world.messages)
        platforms = conn.execute(select(messages.c.platform).distinct()).scalars().all()
        alice = conn.execute(select(users.c.display_name).where(users.c.name == "demo:alice")).scalar_one()
    assert platforms == ["demo"] and alice == "Alice Moreau"
    characters = list_characters(store)
    assert len(characters) == 4 and all(c["persona"] and c["goals"] for c in characters)


def test_cli_demo_data_with_seed_and_start(bgp_env, capsys):
    assert main(["demo-data", "--seed", "3", "--start", "2026-12-01"]) == 0
    out = capsys.readouterr().out
    assert "seed 3 from 2026-12-01" in out and "inserted" in out
    assert main(["demo-data", "--seed", "3", "--start", "2026-12-01"]) == 0
    assert "inserted 0" in capsys.readouterr().out
