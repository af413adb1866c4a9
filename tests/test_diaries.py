"""Diaries and dreams: the offline writers, real Dagster runs on SQLite and PostgreSQL (previews in
metadata, reruns add nothing, a backfilled week, one-character runs), the HTTP path against the local
OpenAI-compatible server (a rerun makes 0 requests), failures in the ledger, the demo world, forgetting."""

from __future__ import annotations

import json
from datetime import datetime

import dagster as dg
import pytest
from sqlalchemy import func, select

from assets import character as character_assets
from assets.resources import LLMResource, StoreResource
from background_pipelines.character.diaries import compose_diary, write_diaries
from background_pipelines.character.dreams import compose_dream, write_dreams
from background_pipelines.character.material import active_characters, gather
from background_pipelines.config import Settings
from background_pipelines.llm import Gateway
from background_pipelines.llm.local_server import LocalLLMServer
from background_pipelines.store import ledger
from background_pipelines.store.character import character_day_rows
from background_pipelines.store.schema import diaries, dreams
from character_world import START, build_week

RESOURCES = {"store": StoreResource(), "llm": LLMResource()}
KEY = "sk-diary-test-key-123"


@pytest.fixture
def week(bgp_env, store, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", "2026-10-01")
    return build_week(store)


def _assets():
    return list(character_assets.definitions(Settings.from_env()).assets)


def _materialize(keys, partition_key=None, tags=None, config=None, raise_on_error=True):
    run_config = {"ops": {k: {"config": config} for k in keys}} if config else None
    return dg.materialize(
        _assets(), resources=RESOURCES, partition_key=partition_key, tags=tags, selection=keys, run_config=run_config,
        raise_on_error=raise_on_error,
    )


def _range(first: str, last: str) -> dict:
    return {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}


def _meta(result, key: str) -> dict:
    mats = [m for m in result.get_asset_materialization_events() if m.asset_key == dg.AssetKey(key)]
    assert mats, f"{key} was not materialized"
    return {k: v.value for k, v in mats[0].materialization.metadata.items()}


def _count(store, table) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _pairs(store, table_name: str) -> set[tuple[str, str]]:
    return {(r["character"], r["day"]) for r in character_day_rows(store, table_name)}


def _expected(week, days) -> set[tuple[str, str]]:
    return {(c, d) for d in days for c in week["active"][d]}


# -- the offline writers -----------------------------------------------------------------------


def test_offline_diary_retells_the_day_in_the_characters_voice(week, store):
    (aria,) = [w for w in active_characters(store, START) if w.name == "Aria"]
    entry = compose_diary(gather(store, aria).brief)
    assert "Bob" in entry.text and "Carol" in entry.text
    assert "My mother passed away last night" in entry.text  # the significance-3 memory, quoted
    assert "told me that his mother passed away" in entry.text  # the kept summary, in first person
    assert "I learned that Bob works as a nurse" in entry.text  # the day's new fact
    assert "Aria" not in entry.text  # it is her own diary
    assert entry.mood == "heavy"

    (mika,) = [w for w in active_characters(store, START) if w.name == "Mika"]
    mika_entry = compose_diary(gather(store, mika).brief)
    assert mika_entry.text == mika_entry.text.lower()  # voice: lowercase
    assert "eve" in mika_entry.text and "chemistry quiz" in mika_entry.text


def test_offline_dream_is_the_same_each_time_for_a_night_and_built_from_that_day(week, store):
    aria_days = [next(w for w in active_characters(store, d) if w.name == "Aria") for d in week["days"][:2]]
    first, second = (gather(store, w).brief for w in aria_days)
    dream = compose_dream(first)
    assert compose_dream(first) == dream
    assert compose_dream(second).text != dream.text
    assert "Bob" in dream.motifs and "Carol" in dream.motifs
    assert "My mother passed away last night" in dream.text  # the day's strongest memory surfaces
    assert dream.tone == "uneasy"


# -- real Dagster runs -------------------------------------------------------------------------


def test_materialize_writes_a_diary_and_a_dream_per_active_character_with_previews(week, store):
    result = _materialize(["diaries", "dreams"], partition_key=START)
    assert result.success
    expected = _expected(week, [START])
    assert _pairs(store, "diaries") == expected and _pairs(store, "dreams") == expected
    for key in ("diaries", "dreams"):
        meta = _meta(result, key)
        assert meta["processed"] == len(expected) and meta["dagster/row_count"] == len(expected)
        for name, _ in expected:
            assert f"### {name} — " in meta["preview"]
        assert meta["llm_backend"] == "offline" and meta["llm_requests"] == 0
    assert "My mother passed away" in _meta(result, "diaries")["preview"]


def test_rematerializing_adds_no_rows_and_changes_nothing(week, store):
    _materialize(["diaries", "dreams"], partition_key=START)
    before = {t.name: [dict(r) for r in character_day_rows(store, t.name)] for t in (diaries, dreams)}
    again = _materialize(["diaries", "dreams"], partition_key=START)
    for key in ("diaries", "dreams"):
        meta = _meta(again, key)
        assert (meta["processed"], meta["skipped"]) == (0, len(week["active"][START]))
        assert [dict(r) for r in character_day_rows(store, key)] == before[key]


def test_a_backfilled_week_yields_a_diary_and_a_dream_per_active_character_per_day(week, store):
    days = week["days"]
    result = _materialize(["diaries", "dreams"], tags=_range(days[0], days[-1]))
    assert result.success
    expected = _expected(week, days)
    assert len(expected) == 7 + 5 + 7  # Aria and Mika daily, Rex on weekdays
    assert _pairs(store, "diaries") == expected and _pairs(store, "dreams") == expected
    assert _meta(result, "diaries")["dagster/row_count"] == len(expected)
    # a single-run backfill: one execution of the asset covered every day and every character
    assert _meta(result, "diaries")["days"] == ", ".join(days)
    assert _meta(result, "diaries")["characters"] == "Aria, Mika, Rex"


def test_a_run_restricted_to_one_character_writes_only_its_entries(week, store):
    result = _materialize(["diaries", "dreams"], partition_key=START, config={"characters": ["Rex"]})
    assert _pairs(store, "diaries") == {("Rex", START)} == _pairs(store, "dreams")
    assert _meta(result, "diaries")["characters"] == "Rex"
    # the others are still owed: an unrestricted run writes them and leaves Rex alone
    _materialize(["diaries"], partition_key=START)
    assert _pairs(store, "diaries") == _expected(week, [START])


# -- the HTTP path -----------------------------------------------------------------------------


def _diary_answer(request: dict) -> dict:
    material = json.loads(request["messages"][-1]["content"].split("Material:\n", 1)[1])
    return {"title": f"{material['weekday']} with {', '.join(material['users'])}", "text": f"I met {', '.join(material['users'])}.", "mood": "mixed"}


def _dream_answer(request: dict) -> dict:
    return {"title": "the tide", "text": "I dreamt of a tide of letters.", "tone": "strange", "motifs": ["tide"]}


def test_http_rematerialize_makes_zero_llm_requests_and_adds_no_rows(week, store, monkeypatch):
    with LocalLLMServer(api_key=KEY) as srv:
        srv.script("character_diary", _diary_answer)
        srv.script("character_dream", _dream_answer)
        monkeypatch.setenv("BGP_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("BGP_LLM_API_KEY", KEY)
        days = week["days"][:2]
        expected = _expected(week, days)

        first = _materialize(["diaries", "dreams"], tags=_range(*days))
        asked = srv.stats()["total"]
        assert asked == 2 * len(expected)
        assert _meta(first, "diaries")["llm_requests"] == len(expected)
        assert _meta(first, "diaries")["llm_backend"] == "openai"
        aria = next(r for r in character_day_rows(store, "diaries") if r["character"] == "Aria" and r["day"] == START)
        assert aria["text"] == "I met Bob, Carol." and aria["backend"] == "openai"
        counts = (_count(store, diaries), _count(store, dreams))

        second = _materialize(["diaries", "dreams"], tags=_range(*days))
        assert srv.stats()["total"] == asked  # the ledger and unique rows: nothing is asked again
        assert _meta(second, "diaries")["llm_requests"] == 0 and _meta(second, "dreams")["skipped"] == len(expected)
        assert (_count(store, diaries), _count(store, dreams)) == counts

        forced = _materialize(["diaries"], tags=_range(*days), config={"force": True})
        assert srv.stats()["total"] == asked  # force rewrites, but the gateway's cache answers
        assert _meta(forced, "diaries")["llm_cache_hits"] == len(expected)
        assert _count(store, diaries) == counts[0]
        assert KEY not in json.dumps({k: str(v) for k, v in _meta(forced, "diaries").items()})


def test_unusable_answers_are_failed_in_the_ledger_with_a_reason_and_retried_later(week, store, monkeypatch):
    with LocalLLMServer(api_key=KEY) as srv:
        srv.script("character_diary", lambda request: "I refuse to answer in JSON")
        monkeypatch.setenv("BGP_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("BGP_LLM_API_KEY", KEY)
        result = _materialize(["diaries"], partition_key=START, raise_on_error=False)
        n = len(week["active"][START])
        # every answer unusable: the run is not green (BGP_FAILURE_RATE_THRESHOLD), the step says why
        assert not result.success and _count(store, diaries) == 0
        (failure,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
        data = failure.step_failure_data.user_failure_data
        assert data.metadata["failed"].value == n and "invalid_json" in data.description
        failed = ledger.failures(store, "diaries")
        assert {f["item"] for f in failed} == {f"{c}/{START}" for c in week["active"][START]}
        assert all("I refuse" in f["error"] for f in failed)

        srv.script("character_diary", _diary_answer)
        _materialize(["diaries"], partition_key=START)
        assert _count(store, diaries) == n and ledger.failures(store, "diaries") == []


def test_an_exhausted_budget_leaves_entries_pending_not_failed(week, store, monkeypatch):
    with LocalLLMServer(api_key=KEY) as srv:
        srv.script("character_diary", _diary_answer)
        monkeypatch.setenv("BGP_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("BGP_LLM_API_KEY", KEY)
        monkeypatch.setenv("BGP_LLM_DAILY_BUDGET_USD", "0")
        result = _materialize(["diaries"], partition_key=START)
        n = len(week["active"][START])
        meta = _meta(result, "diaries")
        assert (meta["pending"], meta["failed"], meta["budget_exhausted"]) == (n, 0, True)
        assert srv.stats()["total"] == 0 and _count(store, diaries) == 0
        assert ledger.counts(store, "diaries") == {("diaries", "pending"): n}

        monkeypatch.delenv("BGP_LLM_DAILY_BUDGET_USD")
        _materialize(["diaries"], partition_key=START)
        assert _count(store, diaries) == n and ledger.counts(store, "diaries") == {("diaries", "done"): n}


# -- the demo world ----------------------------------------------------------------------------


def test_demo_week_yields_a_diary_and_a_dream_per_active_character_per_day(bgp_env, store, monkeypatch):
    """The issue's done-when: on the demo data (message-level assets first, offline), a backfilled week
    gives a diary and a dream per active character per day with previews; over HTTP, re-materializing
    makes 0 LLM requests."""
    from assets import knowledge, signals, summaries
    from background_pipelines.character.days import local_day
    from background_pipelines.demo import load_demo
    from background_pipelines.store.messages import list_characters
    from background_pipelines.store.schema import messages

    monkeypatch.setenv("BGP_START_DATE", "2026-10-01")
    load_demo(store)
    days = [f"2026-11-{d:02d}" for d in range(1, 8)]
    settings = Settings.from_env()
    upstream = [a for m in (signals, summaries, knowledge) for a in m.definitions(settings).assets]
    dg.materialize(  # through the next UTC day: a western character's last local evening ends there
        upstream + _assets(), resources=RESOURCES, tags=_range(days[0], "2026-11-08"),
        selection=["message_scores", "relationship_scores", "session_summaries", "extracted_facts"],
    )
    tz = {c["name"]: c["timezone"] for c in list_characters(store)}
    want = set()
    with store.connect() as conn:
        for author, at in conn.execute(select(messages.c.author, messages.c.created_at).where(messages.c.author_kind == "character")):
            if local_day(at, tz[author]) in days:
                want.add((author, local_day(at, tz[author])))
    assert len(want) >= 14

    with LocalLLMServer(api_key=KEY) as srv:
        srv.script("character_diary", _diary_answer)
        srv.script("character_dream", _dream_answer)
        monkeypatch.setenv("BGP_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("BGP_LLM_API_KEY", KEY)
        first = _materialize(["diaries", "dreams"], tags=_range(days[0], days[-1]))
        assert _pairs(store, "diaries") == want == _pairs(store, "dreams")
        asked = srv.stats()["total"]
        assert asked == 2 * len(want)
        for key in ("diaries", "dreams"):
            assert all(f"### {name} — " in _meta(first, key)["preview"] for name in tz if any(c == name for c, _ in want))
        second = _materialize(["diaries", "dreams"], tags=_range(days[0], days[-1]))
        assert srv.stats()["total"] == asked
        assert _meta(second, "diaries")["skipped"] == len(want) == _meta(second, "dreams")["skipped"]
        assert (_count(store, diaries), _count(store, dreams)) == (len(want), len(want))


# -- forgetting --------------------------------------------------------------------------------


def test_forgetting_a_message_removes_the_entries_that_cite_it(week, store):
    from background_pipelines import forget

    gw = Gateway(store)
    write_diaries(store, gw, [START], now=datetime(2026, 10, 20))
    write_dreams(store, gw, [START], now=datetime(2026, 10, 20))
    forget.forget(store, message_ids=[week["bob_loss_id"]])
    left = _pairs(store, "diaries")
    assert ("Aria", START) not in left and ("Rex", START) in left and ("Aria", START) not in _pairs(store, "dreams")
    # the next run of that day writes Aria's diary again, without the forgotten message
    write_diaries(store, gw, [START], now=datetime(2026, 10, 20))
    aria = next(r for r in character_day_rows(store, "diaries") if r["character"] == "Aria")
    assert "passed away last night" not in aria["text"] and week["bob_loss_id"] not in aria["source_message_ids"]
