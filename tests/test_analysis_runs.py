"""Analysis runs in real Dagster runs: a window of messages is fetched, pre-filtered (keywords, minimum
length, mentions), batched and turned into proposals with confidence; progress is reported as
observations; the run row holds status and counts, and the failure when the LLM cannot answer."""

from __future__ import annotations

import dagster as dg
from sqlalchemy import func, select

from assets.analysis import definitions as analysis_definitions
from assets.resources import LLMResource, StoreResource
from background_pipelines.analysis.runs import AnalysisSpec, prefilter
from background_pipelines.config import Settings
from background_pipelines.ingest.writer import record_messages
from background_pipelines.llm.local_server import LocalLLMServer
from background_pipelines.store.analysis import proposals_of, run_row
from background_pipelines.store.schema import analysis_runs

LINES = [
    ("2026-11-02T09:00:00Z", "alice", "Remind me to send the quarterly report to @bruno before the deadline."),
    ("2026-11-02T09:05:00Z", "bruno", "ok"),
    ("2026-11-02T09:10:00Z", "bruno", "I need to book the venue for the launch party, deadline is Friday."),
    ("2026-11-02T10:00:00Z", "alice", "Can you review the report draft tonight, bruno?"),
    ("2026-11-02T11:00:00Z", "carol", "Lovely weather today, we should go for a walk sometime."),
    ("2026-11-03T08:00:00Z", "alice", "We must fix the report numbers before the deadline!"),
    ("2026-11-05T08:00:00Z", "alice", "Remind me to renew the report subscription."),  # outside the window
]


def _world(store):
    record_messages([dict(external_id=str(i), channel="team", session="s1", author=a, text=t, created_at=at)
                     for i, (at, a, t) in enumerate(LINES)], store, platform="demo")


def _run(**config):
    settings = Settings.from_env()
    cfg = {"window_start": "2026-11-02", "window_end": "2026-11-04", **config}
    return dg.materialize([a for a in analysis_definitions(settings).assets if a.key.to_user_string() == "analysis_proposals"],
                          resources={"store": StoreResource(), "llm": LLMResource()},
                          run_config={"ops": {"analysis_proposals": {"config": cfg}}}, raise_on_error=False)


def test_an_analysis_run_fetches_filters_batches_and_proposes(store, bgp_env):
    _world(store)
    result = _run(keywords=["report", "deadline"], min_length=10, batch_size=1)
    assert result.success
    meta = {k: v.value for k, v in result.asset_materializations_for_node("analysis_proposals")[0].metadata.items()}
    # the window holds 6 messages; "ok" and the walk hold no keyword -> 4 kept, one batch each
    assert (meta["fetched"], meta["kept"], meta["batches_total"], meta["batches_done"], meta["batches_failed"]) == (6, 4, 4, 4, 0)
    row = run_row(store, result.run_id)
    assert (row["status"], row["kept"], row["batches_done"], row["error"]) == ("succeeded", 4, 4, None)
    props = {p["title"]: (p["confidence"], p["source_message_ids"]) for p in proposals_of(store, row["id"])}
    assert props["Send the quarterly report to @bruno before the deadline"][0] == 0.85
    assert props["Book the venue for the launch party"][0] == 0.75
    assert props["Review the report draft tonight"][0] == 0.5
    assert props["Fix the report numbers before the deadline"][0] == 0.75
    assert meta["proposals"] == 4 and all(len(ids) == 1 for _, ids in props.values())
    # progress: one observation per wave of batches, the last one complete
    obs = [e.event_specific_data.asset_observation for e in result.all_events if e.event_type_value == "ASSET_OBSERVATION"]
    assert obs and obs[-1].metadata["batches_done"].value == 4 and obs[-1].metadata["proposals"].value == 4


def test_mentions_filter_and_prefilter_rules(store, bgp_env):
    _world(store)
    result = _run(mentions=["@bruno"], batch_size=10)
    meta = {k: v.value for k, v in result.asset_materializations_for_node("analysis_proposals")[0].metadata.items()}
    assert (meta["kept"], meta["batches_total"]) == (2, 1)  # "@bruno" and "..., bruno?"
    spec = AnalysisSpec.parse("2026-11-02", "2026-11-04", min_length=3)
    assert [m["text"] for m in prefilter([{"text": "ok"}, {"text": "fine"}], spec)] == ["fine"]


def test_a_failing_llm_fails_the_run_and_the_row_says_why(store, bgp_env, monkeypatch):
    _world(store)
    monkeypatch.setenv("BGP_LLM_MAX_ATTEMPTS", "1")
    with LocalLLMServer(api_key="sk-test") as srv:
        srv.script("propose_tasks", lambda request: "this is not JSON at all")
        monkeypatch.setenv("BGP_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("BGP_LLM_API_KEY", "sk-test")
        result = _run(keywords=["report"], batch_size=2)
    assert not result.success
    row = run_row(store, result.run_id)
    assert row["status"] == "failed" and row["batches_failed"] == 2 and row["batches_done"] == 0
    assert "batch 0" in row["error"] and "invalid_json" in row["error"]
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "2 of 2 batches failed" in failure.event_specific_data.error.message


def test_bad_config_fails_at_once_naming_the_field(store, bgp_env):
    result = _run(window_start="2026-11-05", window_end="2026-11-01")
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "window_end '2026-11-01' must be after window_start '2026-11-05'" in failure.event_specific_data.error.message
    bad = _run(window_start="yesterday")
    assert "window_start: 'yesterday' is not an ISO date" in next(
        e for e in bad.all_events if e.event_type_value == "STEP_FAILURE").event_specific_data.error.message
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(analysis_runs)).scalar_one() == 0
