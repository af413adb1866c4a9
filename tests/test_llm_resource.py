"""LLMResource in a real Dagster run against the local server, and the `bgp llm` commands."""

from __future__ import annotations

import json

import dagster as dg

from assets.resources import LLMResource, StoreResource, default_resources
from background_pipelines.cli import main
from background_pipelines.llm.local_server import LocalLLMServer
from background_pipelines.store import open_store
from llm_helpers import KEY, SUMMARIZE, echo_summary


@dg.asset
def summaries_probe(store: StoreResource, llm: LLMResource) -> dg.MaterializeResult:
    outcomes, usage = llm.gateway(store.store()).run(SUMMARIZE, ["one", "two"])
    return dg.MaterializeResult(
        metadata={**usage.as_metadata(), "summaries": [o.value.summary for o in outcomes if o.ok], "embedder": llm.embedder().model_id}
    )


def test_llm_resource_in_a_dagster_run_uses_the_endpoint_and_keeps_the_key_out(bgp_env, monkeypatch):
    monkeypatch.setenv("BGP_LLM_API_KEY", KEY)
    with LocalLLMServer(api_key=KEY) as srv:
        srv.script("summarize", echo_summary)
        resource = LLMResource(base_url=srv.base_url, max_concurrency=2)
        result = dg.materialize([summaries_probe], resources={"store": StoreResource(), "llm": resource})
        assert result.success and srv.stats()["total"] == 2
    (event,) = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert meta["llm_backend"] == "openai" and meta["llm_requests"] == 2
    assert meta["summaries"] == ["ONE", "TWO"] and meta["embedder"] == "hashing-384-v1"
    assert KEY not in json.dumps(meta, default=str) + repr(resource)


def test_llm_resource_defaults_to_the_offline_backend(bgp_env):
    resources = default_resources()
    gw = resources["llm"].gateway(open_store(bgp_env))
    outcomes, usage = gw.run(SUMMARIZE, ["hello there"])
    assert gw.backend == "offline" and usage.requests == 0 and outcomes[0].value.summary == "hello there"


def test_bgp_llm_check_and_usage(bgp_env, monkeypatch, capsys):
    with LocalLLMServer() as srv:
        monkeypatch.setenv("BGP_LLM_BASE_URL", srv.base_url)
        assert main(["llm", "check"]) == 0
        assert srv.stats()["total"] == 1
    out = capsys.readouterr().out
    assert "backend openai" in out and "ok in" in out and "hashing-384-v1" in out
    assert main(["llm", "usage"]) == 0
    out = capsys.readouterr().out
    assert "ping" in out and "gpt-4o-mini" in out


def test_bgp_llm_check_fails_on_a_refused_key_without_printing_it(bgp_env, monkeypatch, capsys):
    with LocalLLMServer(api_key="sk-the-right-one") as srv:
        monkeypatch.setenv("BGP_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("BGP_LLM_API_KEY", KEY)
        assert main(["llm", "check"]) == 1
    captured = capsys.readouterr()
    assert "client_error" in captured.out and KEY not in captured.out + captured.err
