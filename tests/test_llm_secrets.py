"""The API key never shows: not in logs (ours, httpx, httpcore at DEBUG), outcomes, metadata or reprs,
on failing calls (401, 500 with retries) against the real local server."""

from __future__ import annotations

import json
import logging

import pytest

from background_pipelines.config import Settings
from background_pipelines.llm import Gateway
from background_pipelines.llm.local_server import LocalLLMServer
from background_pipelines.llm.openai_embedder import EmbeddingRequestFailed, OpenAIEmbedder
from llm_helpers import KEY, SUMMARIZE, make_gateway


@pytest.fixture
def all_logs(caplog):
    caplog.set_level(logging.DEBUG)  # root: ours, httpx, httpcore, asyncio
    for name in ("httpx", "httpcore", "background_pipelines"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def _everything(outcomes, usage, gw, caplog) -> str:
    return "\n".join(
        [caplog.text, repr(gw), repr(outcomes), json.dumps(usage.as_metadata()), repr(usage)]
        + [f"{o.error} {o.detail} {o.raw_excerpt}" for o in outcomes]
    )


def test_key_absent_when_the_server_refuses_it(store, all_logs):
    with LocalLLMServer(api_key="sk-the-right-one") as srv:
        gw = make_gateway(store, srv)  # sends KEY, the wrong one
        outcomes, usage = gw.run(SUMMARIZE, ["hello"])
    assert outcomes[0].error == "client_error" and "HTTP 401" in outcomes[0].detail
    assert usage.requests == 1  # 401 is not retried
    assert KEY not in _everything(outcomes, usage, gw, all_logs)
    assert "httpx" in {r.name for r in all_logs.records}  # httpx did log the request: the capture is real


def test_key_absent_through_retried_server_errors(store, all_logs):
    with LocalLLMServer(api_key=KEY) as srv:
        srv.fail_next(3, status=500)
        gw = make_gateway(store, srv, max_attempts=3)
        outcomes, usage = gw.run(SUMMARIZE, ["hello"])
        assert srv.stats()["total"] == 3
    assert outcomes[0].error == "server_error" and usage.retries == {"server_error": 2}
    assert KEY not in _everything(outcomes, usage, gw, all_logs)


def test_key_absent_from_embedding_failures(all_logs):
    with LocalLLMServer(api_key="sk-the-right-one") as srv:
        emb = OpenAIEmbedder(srv.base_url, "text-embedding-3-small", KEY)
        with pytest.raises(EmbeddingRequestFailed) as info:
            emb.encode(["hello"])
    assert info.value.kind == "client_error"
    assert KEY not in str(info.value) + repr(emb) + all_logs.text


def test_key_absent_from_settings_and_gateway_reprs(store):
    settings = Settings.from_env({"BGP_LLM_BASE_URL": "http://127.0.0.1:9/v1", "BGP_LLM_API_KEY": KEY})
    gw = Gateway.from_settings(settings, store)
    assert KEY not in repr(settings) + repr(gw) + str(gw)
    assert "Secret('***')" in repr(gw)


def test_credentials_in_the_base_url_are_masked(store):
    gw = Gateway(store, base_url="https://user:pa55word@llm.example/v1")
    assert "pa55word" not in repr(gw)
