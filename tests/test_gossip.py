"""Gossip: a significance-3 event reaches exactly the other characters who already know the user,
with provenance; never a character who has not met them (or met them only later); reruns add nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg
import pytest

from assets import character as character_assets
from assets.resources import LLMResource, StoreResource
from background_pipelines.character.gossip import share_gossip
from background_pipelines.config import Settings
from background_pipelines.llm import Gateway
from background_pipelines.store.character import gossip_rows
from character_world import START, add_session, build_week

RESOURCES = {"store": StoreResource(), "llm": LLMResource()}


@pytest.fixture
def week(bgp_env, store, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", "2026-10-01")
    return build_week(store)


def test_an_event_reaches_the_characters_who_know_the_user_and_never_one_who_has_not_met_them(week, store):
    result = dg.materialize(
        list(character_assets.definitions(Settings.from_env()).assets), resources=RESOURCES, partition_key=START, selection=["gossip"]
    )
    assert result.success
    rows = gossip_rows(store)
    assert [(r["from_character"], r["to_character"], r["user_name"]) for r in rows] == [("Aria", "Rex", "test:Bob")]  # the user key
    (row,) = rows
    assert row["source_message_id"] == week["bob_loss_id"] and row["source_message_ids"] == [week["bob_loss_id"]]
    assert row["significance"] == 3 and row["session"] == f"aria-bob-{START}" and row["day"] == START
    assert "Aria told me" in row["text"] and "My mother passed away" in row["text"]
    assert gossip_rows(store, to_character="Mika") == []  # Mika has never met Bob
    assert gossip_rows(store, to_character="Aria") == []  # Aria heard it first-hand
    meta = {k: v.value for k, v in result.get_asset_materialization_events()[0].materialization.metadata.items()}
    assert meta["events"] == 1 and meta["processed"] == 1 and "Rex" in meta["preview"]


def test_a_character_who_meets_the_user_later_does_not_hear_older_news(week, store):
    gw = Gateway(store)
    # Mika meets Bob on the third day and hears of a new big event on the fifth
    third = datetime.fromisoformat(week["days"][2]) + timedelta(hours=9)
    add_session(store, "mika-bob", "study", "Mika", "Bob", third, [("user", "hi mika, Aria said you help with studying", 1), ("character", "hi bob!!", 0)])
    fifth = datetime.fromisoformat(week["days"][4]) + timedelta(hours=20)
    news = add_session(store, "rex-bob-news", "harbour", "Rex", "Bob", fifth, [("user", "I got engaged to Sam last night!", 3), ("character", "Fair winds to you both.", 0)])

    share_gossip(store, gw, week["days"])
    heard = {(r["to_character"], r["source_message_id"]) for r in gossip_rows(store)}
    assert heard == {("Rex", week["bob_loss_id"]), ("Aria", news[0]), ("Mika", news[0])}
    assert ("Mika", week["bob_loss_id"]) not in heard  # she met Bob after that day
    engaged = [r for r in gossip_rows(store) if r["source_message_id"] == news[0]]
    assert {r["from_character"] for r in engaged} == {"Rex"}


def test_restricting_receivers_and_rerunning_add_nothing_twice(week, store):
    gw = Gateway(store)
    first = share_gossip(store, gw, [START], characters=["Mika"])
    assert first.processed == 0 and gossip_rows(store) == []
    share_gossip(store, gw, [START])
    rows = gossip_rows(store)
    again = share_gossip(store, gw, [START])
    assert (again.processed, again.skipped) == (0, 1) and gossip_rows(store) == rows
    forced = share_gossip(store, gw, [START], force=True)
    assert forced.processed == 1 and len(gossip_rows(store)) == 1


def test_demo_events_reach_exactly_the_other_characters_who_met_the_user(bgp_env, store, monkeypatch):
    """The demo world's planted significance-3 events, scored by the message-level asset: each is passed
    on to every other character who had talked with that user by then, and to nobody else."""
    from sqlalchemy import select

    from assets import signals
    from background_pipelines.demo import PLANTED_EVENTS, load_demo
    from background_pipelines.store.schema import messages

    monkeypatch.setenv("BGP_START_DATE", "2026-10-01")
    load_demo(store)
    days = [f"2026-11-{d:02d}" for d in range(1, 15)]
    settings = Settings.from_env()
    dg.materialize(
        list(signals.definitions(settings).assets), resources=RESOURCES, selection=["message_scores", "relationship_scores"],
        tags={"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]},
    )
    share_gossip(store, Gateway(store), days)
    with store.connect() as conn:
        rows = conn.execute(select(messages.c.external_id, messages.c.id, messages.c.session, messages.c.author, messages.c.author_kind, messages.c.created_at)).all()
    by_ext = {r.external_id: r for r in rows}
    reached = 0
    for event in PLANTED_EVENTS:
        msg = next(r for ext, r in by_ext.items() if ext.endswith(event.message_id))
        end_of_day = datetime.combine(msg.created_at.date(), datetime.min.time()) + timedelta(days=1)
        user = f"demo:{event.user}"  # the demo user's key
        user_sessions = {r.session for r in rows if r.author == user and r.created_at < end_of_day}
        met = {r.author for r in rows if r.author_kind == "character" and r.session in user_sessions and r.created_at < end_of_day}
        present = {r.author for r in rows if r.author_kind == "character" and r.session == msg.session}
        got = {r["to_character"] for r in gossip_rows(store, user_name=user) if r["source_message_id"] == msg.id}
        assert got == met - present, event
        reached += len(got)
    assert reached >= 1
