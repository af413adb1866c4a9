"""Drift: a character whose replies change style is flagged (with the reasons), one that keeps its
voice is not; the threshold comes from BGP_DRIFT_THRESHOLD; reruns skip; the asset stays when the chat
LLM is switched off (it only embeds)."""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg
import pytest

from assets import character as character_assets
from assets.resources import LLMResource, StoreResource
from background_pipelines.character.drift import observe_drift
from background_pipelines.config import Settings
from background_pipelines.llm import get_embedder
from background_pipelines.store.character import character_day_rows
from background_pipelines.store.messages import upsert_characters
from character_world import add_session

RESOURCES = {"store": StoreResource(), "llm": LLMResource()}
FIRST = datetime(2026, 10, 1)
DAYS = [(FIRST + timedelta(days=i)).date().isoformat() for i in range(8)]
FORMAL = [
    "Good afternoon. I trust the week has treated you kindly.",
    "That is a sensible plan, and I would proceed with care.",
    "Indeed, patience tends to reward those who keep it.",
    "I shall look forward to hearing how the meeting goes.",
]
GIDDY = ["OMG yesss!!! 😂😂", "lol that's sooo fun!!! 🎉", "wait what?! 😱", "haha ok ok!!! ✨✨"]


def _day_of(store, character: str, user: str, day_index: int, replies: list[str]) -> None:
    lines = []
    for reply in replies:
        lines += [("user", "How do you see it?", 0), ("character", reply, 0)]
    add_session(store, f"{character}-{day_index}", "salon", character, user, FIRST + timedelta(days=day_index, hours=12), lines)


@pytest.fixture
def salon(bgp_env, store, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", "2026-09-01")
    upsert_characters(
        store,
        [
            dict(name="Vera", persona="A courteous Victorian governess.", voice="formal, measured, no emoji", timezone="UTC"),
            dict(name="Otto", persona="A courteous Victorian butler.", voice="formal, measured, no emoji", timezone="UTC"),
        ],
    )
    for i in range(7):
        _day_of(store, "Vera", "Ada", i, FORMAL)
        _day_of(store, "Otto", "Ben", i, FORMAL)
    _day_of(store, "Vera", "Ada", 7, GIDDY)  # the eighth day: Vera's replies change style
    _day_of(store, "Otto", "Ben", 7, FORMAL)
    return store


def test_drift_flags_the_character_whose_replies_change_style(salon):
    result = dg.materialize(
        list(character_assets.definitions(Settings.from_env()).assets), resources=RESOURCES, partition_key=DAYS[7],
        selection=["drift_observations"],
    )
    assert result.success
    rows = {r["character"]: r for r in character_day_rows(salon, "drift_observations", [DAYS[7]])}
    vera, otto = rows["Vera"], rows["Otto"]
    assert vera["flagged"] and not otto["flagged"]
    assert vera["drift_score"] >= 0.5 > otto["drift_score"]
    assert vera["style"]["emoji_rate"] == 1.0 and vera["baseline_style"]["emoji_rate"] == 0.0
    assert any(r.startswith("emoji rate 0.00 -> 1.00") for r in vera["reasons"])
    assert any(r.startswith("exclamation rate") for r in vera["reasons"])
    assert vera["baseline_reply_count"] == 4 * 7 and vera["reply_count"] == 4
    assert vera["embedding_distance"] > vera["baseline_embedding_distance"]  # further from the persona than usual
    assert vera["centroid_shift"] > otto["centroid_shift"]
    assert len(vera["source_message_ids"]) == 4
    meta = {k: v.value for k, v in result.get_asset_materialization_events()[0].materialization.metadata.items()}
    assert meta["flagged"] == 1 and meta["flagged_character_days"] == f"Vera/{DAYS[7]}"
    assert meta["embedding_model"] == "hashing-384-v1"


def test_a_steady_week_flags_nobody_and_the_first_day_has_no_baseline(salon):
    emb = get_embedder(Settings.from_env())
    result = observe_drift(salon, emb, DAYS[:7], threshold=0.5, baseline_days=14)
    assert result.processed == 14 and result.extra["flagged"] == 0
    first = {r["character"]: r for r in character_day_rows(salon, "drift_observations", [DAYS[0]])}
    assert first["Vera"]["baseline_style"] is None and "too few replies to judge" in first["Vera"]["reasons"][0]


def test_the_threshold_decides_and_a_rerun_skips(salon, monkeypatch):
    emb = get_embedder(Settings.from_env())
    lax = observe_drift(salon, emb, [DAYS[7]], threshold=1.01, baseline_days=14)
    assert lax.extra["flagged"] == 0
    again = observe_drift(salon, emb, [DAYS[7]], threshold=1.01, baseline_days=14)
    assert (again.processed, again.skipped) == (0, 2)
    monkeypatch.setenv("BGP_DRIFT_THRESHOLD", "0.5")
    strict = observe_drift(salon, emb, [DAYS[7]], threshold=Settings.from_env().drift_threshold, baseline_days=14)
    assert strict.processed == 2 and strict.extra["flagged_character_days"] == f"Vera/{DAYS[7]}"


def test_drift_stays_when_the_chat_llm_is_switched_off(salon, monkeypatch):
    monkeypatch.setenv("BGP_CHAT_LLM_ENABLED", "false")
    keys = {a.key.to_user_string() for a in character_assets.definitions(Settings.from_env()).assets}
    assert keys == {"drift_observations"}
