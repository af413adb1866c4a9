"""Goal strategies, reflections, insights and channel summaries on the synthetic week, through real
Dagster runs; the asset definitions (group, owners, pools, tags, flags); the migration matches schema.py."""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from assets import character as character_assets
from assets.resources import LLMResource, StoreResource
from background_pipelines.character.channel_summaries import WindowError, summarize_channels
from background_pipelines.character.reflections import reflect_on_users
from background_pipelines.config import Settings
from background_pipelines.llm import Gateway
from background_pipelines.store.character import TABLES_OWNED, channel_summary_rows, character_day_rows, reflection_rows
from background_pipelines.store.schema import metadata
from character_world import START, build_week

RESOURCES = {"store": StoreResource(), "llm": LLMResource()}
LLM_ASSETS = {"diaries", "dreams", "goal_strategies", "reflections", "insights", "gossip", "channel_summaries"}


@pytest.fixture
def week(bgp_env, store, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", "2026-10-01")
    return build_week(store)


def _materialize(keys, partition_key=None, tags=None, config=None):
    run_config = {"ops": {k: {"config": config} for k in keys}} if config else None
    return dg.materialize(
        list(character_assets.definitions(Settings.from_env()).assets), resources=RESOURCES,
        partition_key=partition_key, tags=tags, selection=keys, run_config=run_config,
    )


def _meta(result, key: str) -> dict:
    mats = [m for m in result.get_asset_materialization_events() if m.asset_key == dg.AssetKey(key)]
    return {k: v.value for k, v in mats[0].materialization.metadata.items()}


def test_goal_strategies_cite_the_progress_and_name_who_to_follow_up(week, store):
    result = _materialize(["goal_strategies"], partition_key=START)
    rows = {r["character"]: r for r in character_day_rows(store, "goal_strategies", [START])}
    assert set(rows) == week["active"][START]
    rex = rows["Rex"]
    (sailing,) = rex["strategies"]
    assert sailing["goal"] == "Get Dana to try sailing" and sailing["progress"] in ("some", "strong")
    assert sailing["evidence_message_ids"] and set(sailing["evidence_message_ids"]) <= set(rex["source_message_ids"])
    assert [f["user"] for f in rex["follow_ups"]] == ["Dana"]
    aria = rows["Aria"]
    assert aria["follow_ups"][0]["user"] == "Bob" and "passed away" in aria["follow_ups"][0]["reason"]
    music = next(s for s in aria["strategies"] if "music" in s["goal"])
    assert music["next_steps"]
    assert rows["Mika"]["strategies"] == []  # no goals: only follow-ups
    # the next day Carol does not come by: the music goal says to reach out to her
    _materialize(["goal_strategies"], partition_key=week["days"][1])
    (aria_next,) = character_day_rows(store, "goal_strategies", [week["days"][1]], ["Aria"])
    music_next = next(s for s in aria_next["strategies"] if "music" in s["goal"])
    assert music_next["progress"] == "none" and music_next["next_steps"] == ["Reach out to Carol, who did not come by today."]
    assert "**Get Dana to try sailing**" in _meta(result, "goal_strategies")["preview"]


def test_reflections_find_patterns_across_sessions_and_rerun_adds_nothing(week, store):
    days = week["days"]
    _materialize(["reflections"], tags={"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]})
    dana = [r for r in reflection_rows(store, "test:Dana")]
    assert len(dana) == 5  # one per day with a new Dana summary (weekdays)
    latest = dana[-1]
    assert {"exam", "sailing", "harbour"} <= set(latest["recurring_topics"])
    assert len(latest["summary_ids"]) == 5 and latest["source_message_ids"]
    carol = reflection_rows(store, "test:Carol")[-1]
    assert "likes jazz" in carol["preferences"]
    bob = reflection_rows(store, "test:Bob")[-1]
    assert bob["mood_trend"] == "improving"  # the loss, then grateful days at work
    before = reflection_rows(store)
    again = reflect_on_users(store, Gateway(store), days)
    assert again.processed == 0 and again.skipped == len(before) and reflection_rows(store) == before


def test_insights_rest_on_evidence_shared_by_two_users(week, store):
    days = week["days"][:3]
    tags = {"dagster/asset_partition_range_start": days[0], "dagster/asset_partition_range_end": days[-1]}
    _materialize(["reflections"], tags=tags)
    result = _materialize(["insights"], tags=tags)
    (row,) = [r for r in character_day_rows(store, "insights") if r["character"] == "Aria" and r["day"] == days[2]]
    coffee = next(e for e in row["epiphanies"] if e["topic"] == "coffee")
    # stored rows name users by key; the text by the names they wrote under
    assert coffee["users"] == ["test:Bob", "test:Carol"] and "Bob and Carol" in coffee["text"]
    assert coffee["evidence_summary_ids"] and coffee["evidence_message_ids"]
    assert set(coffee["evidence_message_ids"]) <= set(row["source_message_ids"])
    meta = _meta(result, "insights")
    assert meta["skipped_fewer_than_two_users"] >= 6  # Rex and Mika talk with one user each
    assert {r["character"] for r in character_day_rows(store, "insights")} == {"Aria"}


def test_channel_summaries_roll_forward_once_per_channel_and_window(week, store):
    result = _materialize(["channel_summaries"], partition_key=START)
    rows = channel_summary_rows(store, "cafe", [START])
    assert [(r["window_start"].hour, r["window_end"].hour) for r in rows] == [(6, 12), (12, 18)]
    morning, afternoon = rows
    assert afternoon["previous_id"] == morning["id"]
    assert "test:Bob" in morning["participants"] and morning["message_count"] == 6
    assert "Earlier:" in afternoon["text"] or "Continues from before" in afternoon["text"]
    assert _meta(result, "channel_summaries")["window_hours"] == 6
    again = _materialize(["channel_summaries"], partition_key=START)
    assert _meta(again, "channel_summaries")["processed"] == 0
    assert channel_summary_rows(store, "cafe", [START]) == rows


def test_windows_not_ended_wait_and_bad_window_lengths_are_refused(week, store):
    gw = Gateway(store)
    partial = summarize_channels(store, gw, [START], now=datetime.fromisoformat(START).replace(hour=13))
    assert partial.extra["windows_not_ended"] == 2  # 12-18 and 18-24 at 13:00
    assert {r["window_end"].hour for r in channel_summary_rows(store, days=[START])} == {6, 12}
    later = summarize_channels(store, gw, [START], now=datetime.fromisoformat(START).replace(hour=23))
    assert (later.processed, later.skipped) == (2, 2)  # the afternoon's cafe and harbour windows are new
    with pytest.raises(WindowError, match="window_hours=0"):
        summarize_channels(store, gw, [START], window_hours=0)


def test_asset_definitions_carry_group_owners_pools_tags_and_flags(monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", "2026-10-01")
    assets = {a.key.to_user_string(): a for a in character_assets.definitions(Settings.from_env()).assets}
    assert set(assets) == LLM_ASSETS | {"drift_observations"}
    for key, a in assets.items():
        spec = a.specs_by_key[a.key]
        assert spec.group_name == "character_cognition" and spec.owners == ["team:cognition"] and spec.description
        assert a.backfill_policy == dg.BackfillPolicy.single_run() and a.partitions_def is not None
        assert "dagster/kind/python" in spec.tags and spec.tags["bgp/trigger"]
        assert a.op.pool == ("llm" if key in LLM_ASSETS else "cognition")
    assert assets["gossip"].specs_by_key[assets["gossip"].key].tags["bgp/latency_class"] == "social"
    assert {k for k, a in assets.items() if a.specs_by_key[a.key].tags["bgp/trigger"] == "nightly"} == {"diaries", "dreams", "goal_strategies", "gossip"}

    for flag, key in (("ENABLE_CHARACTER_DIARY", "diaries"), ("ENABLE_DREAM_SEQUENCES", "dreams"), ("ENABLE_GOAL_STRATEGIST", "goal_strategies")):
        monkeypatch.setenv(flag, "false")
        keys = {a.key.to_user_string() for a in character_assets.definitions(Settings.from_env()).assets}
        assert key not in keys and len(keys) == len(assets) - 1
        monkeypatch.delenv(flag)


def test_the_migration_creates_exactly_the_tables_schema_py_declares(store):
    with store.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    mine = [d for d in diff if any(t in str(d) for t in TABLES_OWNED)]
    assert mine == []


def test_the_nightly_job_covers_every_active_character_in_one_run(week, store):
    """The nightly job the schedules start (sensors/jobs.py) runs the character assets once for the
    partition, for every active character: never one run per character."""
    from background_pipelines.definitions import build_definitions

    job = build_definitions(Settings.from_env()).resolve_job_def("nightly_job")
    result = job.execute_in_process(partition_key=START, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    done = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"diaries", "dreams", "goal_strategies", "reflections", "gossip"} <= done
    expected = {(c, START) for c in week["active"][START]}
    for table in ("diaries", "dreams", "goal_strategies"):
        assert {(r["character"], r["day"]) for r in character_day_rows(store, table)} == expected
