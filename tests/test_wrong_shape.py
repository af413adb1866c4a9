"""Wrong-shape answers: an object carrying none of a schema's fields (`{}`, another task's answer) is
failed with schema_mismatch, never validated as an empty result, cached and marked done; a real empty
result (`{"epiphanies": []}`) still is done. Through the local server and the insights stage."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from background_pipelines.character.insights import INSIGHT_TASK, find_insights
from background_pipelines.config import Secret
from background_pipelines.llm import Gateway
from background_pipelines.llm.local_server import LocalLLMServer, example_for
from background_pipelines.llm.structured import AnswerError, json_schema_of, parse_answer
from background_pipelines.store import ledger
from background_pipelines.store.character import character_day_rows
from background_pipelines.store.schema import llm_cache
from character_world import build_week


@pytest.mark.parametrize("answer", [{}, {"summary": "a session summary", "meaningfulness": 3}, {"result": "ok"}])
def test_wrong_shape_insight_is_failed_not_done(answer, bgp_env, store):
    week = build_week(store)
    day = week["days"][2]
    with LocalLLMServer() as srv:
        srv.script("cross_user_insight", lambda request: answer)
        gateway = Gateway(store, base_url=srv.base_url, api_key=Secret("sk-x"), max_attempts=1)
        result = find_insights(store, gateway, [day])
        asked = srv.stats()["total"]
    assert asked >= 2  # every character-day asked, then asked once more for a repair
    assert result.processed == 0 and result.failed >= 1, (result.processed, result.failed, result.errors)
    assert "schema_mismatch" in result.errors[0] and "none of the InsightSet fields" in result.errors[0]
    assert character_day_rows(store, "insights", [day]) == []
    failed = ledger.failures(store, "insights")
    assert failed and all("schema_mismatch" in f["error"] for f in failed)
    with store.connect() as conn:  # nothing wrong-shape was cached as an answer
        assert conn.execute(select(func.count()).select_from(llm_cache)).scalar_one() == 0


def test_an_empty_but_well_shaped_insight_set_is_done(bgp_env, store):
    week = build_week(store)
    day = week["days"][2]
    with LocalLLMServer() as srv:
        srv.script("cross_user_insight", lambda request: {"epiphanies": []})
        result = find_insights(store, Gateway(store, base_url=srv.base_url, api_key=Secret("sk-x")), [day])
    assert result.failed == 0 and result.processed >= 1


def test_every_task_schema_accepts_its_minimal_answer_and_refuses_an_empty_object():
    from background_pipelines.character import channel_summaries, diaries, dreams, goals, gossip, reflections
    from background_pipelines.cognition import facts, scoring, summaries

    schemas = {INSIGHT_TASK.schema}
    for module in (channel_summaries, diaries, dreams, goals, gossip, reflections, facts, scoring, summaries):
        schemas |= {v.schema for v in vars(module).values() if type(v).__name__ == "Task"}
    assert len(schemas) >= 10
    for schema in schemas:
        assert isinstance(parse_answer(json.dumps(example_for(json_schema_of(schema))), schema), schema)
        with pytest.raises(AnswerError, match="none of the"):
            parse_answer("{}", schema)
