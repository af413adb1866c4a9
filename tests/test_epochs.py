"""Knowledge epochs in real Dagster runs: a character's day says what it learned (facts, new entities,
relations) and what ended; materializing the same days again writes nothing and keeps one row per
(character, day); a day not over yet waits, pending."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import dagster as dg
from sqlalchemy import func, select

import assets.epochs as epochs_assets
from assets.resources import StoreResource
from background_pipelines import epochs as engine
from background_pipelines.characters_yaml import set_character
from background_pipelines.cognition.facts import extract_facts
from background_pipelines.cognition.graph import update_knowledge_graph
from background_pipelines.config import Settings
from background_pipelines.ingest.writer import record_messages
from background_pipelines.llm.gateway import Gateway
from background_pipelines.store import ledger
from background_pipelines.store.epochs import epochs
from background_pipelines.store.schema import knowledge_epochs

DAY1, DAY2 = "2026-11-02", "2026-11-03"


def _world(store):
    set_character(store, "Mira", persona="an astronomer", timezone="UTC")
    lines = [
        (DAY1, 9, "alice", "Hi Mira! I work at Initech these days."),
        (DAY1, 9, "Mira", "Initech, nice. How is it?"),
        (DAY1, 10, "alice", "My dog is named Biscuit, he loves the office."),
        (DAY2, 11, "alice", "Big news: I quit my job at Initech. I work at Globex now."),
        (DAY2, 11, "Mira", "Congratulations on Globex!"),
    ]
    record_messages([
        dict(external_id=str(i), channel="dm/Mira/alice", session=f"s-{d}", author=a, author_kind="character" if a == "Mira" else "user",
             text=t, created_at=f"{d}T{h:02d}:{i:02d}:00Z")
        for i, (d, h, a, t) in enumerate(lines)
    ], store, platform="demo")
    settings = Settings.from_env()
    gw = Gateway.from_settings(settings, store)
    for d in (DAY1, DAY2):
        extract_facts(store, gw, settings, d)
        update_knowledge_graph(store, gw, settings, d)


def _materialize(days):
    settings = Settings.from_env({**os.environ, "BGP_START_DATE": DAY1})
    asset = epochs_assets.definitions(settings).assets[0]
    tags = {"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]}
    result = dg.materialize([asset], resources={"store": StoreResource()}, tags=tags if len(days) > 1 else None,
                            partition_key=days[0] if len(days) == 1 else None)
    assert result.success
    return {m.partition: {k: v.value for k, v in m.metadata.items()} for m in result.asset_materializations_for_node("knowledge_epochs")}


def test_epochs_say_what_was_learned_and_ended_and_are_idempotent(store, bgp_env):
    _world(store)
    assert epochs_assets.VERSION == engine.VERSION
    meta = _materialize([DAY1, DAY2])
    rows = {r["day"]: r for r in epochs(store) if r["character"] == "Mira"}
    assert sorted(rows) == [DAY1, DAY2]
    one, two = rows[DAY1], rows[DAY2]
    learned1 = {(f["predicate"], f["object"]) for f in one["new_facts"]}
    assert {("works_at", "Initech"), ("has_pet", "Biscuit")} <= learned1
    assert {e["name"] for e in one["new_entities"]} >= {"Initech", "Biscuit"}
    assert {(r["predicate"], r["dst"]) for r in one["relations_added"]} >= {("works_at", "Initech"), ("has_pet", "Biscuit")}
    assert one["relations_ended"] == [] and one["users"] == ["demo:alice"]
    assert ("works_at", "Globex") in {(f["predicate"], f["object"]) for f in two["new_facts"]}
    assert ("works_at", "Initech") in {(f["predicate"], f["object"]) for f in two["ended_facts"]}
    assert [(r["predicate"], r["dst"]) for r in two["relations_ended"]] == [("works_at", "Initech")]
    assert "Globex" in {e["name"] for e in two["new_entities"]} and "Initech" not in {e["name"] for e in two["new_entities"]}
    assert "- no longer: demo:alice works_at Initech" in two["text"].splitlines()
    assert meta[DAY2]["relations_ended"] == 1 and meta[DAY2]["rows_written"] == 1
    assert "Mira, 2026-11-03" in meta[DAY2]["preview"]

    before = {(r["character"], r["day"]): (r["id"], r["updated_at"], r["material_hash"]) for r in epochs(store)}
    again = _materialize([DAY1, DAY2])
    assert again[DAY1]["rows_written"] == 0 and again[DAY2]["rows_written"] == 0 and again[DAY2]["skipped"] == 1
    assert {(r["character"], r["day"]): (r["id"], r["updated_at"], r["material_hash"]) for r in epochs(store)} == before
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(knowledge_epochs)).scalar_one() == 2
    assert ledger.counts(store, engine.STAGE) == {(engine.STAGE, ledger.DONE): 2}


def test_a_day_not_over_waits_and_is_written_once_over(store, bgp_env):
    _world(store)
    inside_day2 = datetime(2026, 11, 3, 12, 0)
    r = engine.synthesize_epochs(store, [DAY2], now=inside_day2)
    assert (r.pending, r.processed) == (1, 0) and epochs(store) == []
    assert ledger.counts(store, engine.STAGE) == {(engine.STAGE, ledger.PENDING): 1}
    r = engine.synthesize_epochs(store, [DAY2], now=inside_day2 + timedelta(days=1))
    assert (r.pending, r.processed, r.rows_written) == (0, 1, 1)
    r = engine.synthesize_epochs(store, [DAY2], now=inside_day2 + timedelta(days=2))
    assert (r.processed, r.rows_written, r.skipped) == (1, 0, 1)
    r = engine.synthesize_epochs(store, [DAY2], force=True)
    assert r.rows_written == 1 and len(epochs(store)) == 1


def test_the_nightly_schedule_asks_for_yesterday_an_hour_after_the_nightly_passes(store, bgp_env, monkeypatch):
    from datetime import timezone

    from background_pipelines.definitions import build_definitions

    _world(store)
    monkeypatch.setenv("BGP_NIGHTLY_HOUR", "2")
    settings = Settings.from_env({**os.environ, "BGP_START_DATE": DAY1})
    repo = build_definitions(settings).get_repository_def()
    schedule = repo.get_schedule_def("epochs_schedule")
    assert (schedule.name, schedule.cron_schedule, schedule.job_name) == ("epochs_schedule", "0 3 * * *", "epochs_job")
    with dg.instance_for_test() as instance:
        tick = schedule.evaluate_tick(dg.build_schedule_context(instance=instance, repository_def=repo,
                                                                 scheduled_execution_time=datetime(2026, 11, 4, 3, tzinfo=timezone.utc)))
    assert [(r.partition_key, r.run_key) for r in tick.run_requests] == [(DAY2, f"epochs_schedule:{DAY2}")]
