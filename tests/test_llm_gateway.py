"""The gateway's HTTP path against the real local OpenAI-compatible server: concurrency, retries,
structured output repair, response_format fallback, cache, accounting and the daily budget."""

from __future__ import annotations

import socket

import pytest
from sqlalchemy import select

from background_pipelines.llm.local_server import LocalLLMServer
from background_pipelines.llm.transport import parse_retry_after
from background_pipelines.store.llm_usage import record_usage, usage_by_day
from background_pipelines.store.schema import llm_cache
from llm_helpers import SUMMARIZE, echo_summary, first_user_text, make_gateway


@pytest.fixture
def srv():
    with LocalLLMServer() as server:
        server.script("summarize", echo_summary)
        yield server


def test_concurrency_never_exceeds_the_limit(store, srv):
    srv.latency = 0.05
    gw = make_gateway(store, srv, max_concurrency=4)
    texts = [f"message {i}" for i in range(40)]
    outcomes, usage = gw.run(SUMMARIZE, texts)
    assert srv.stats()["max_concurrent"] == 4  # reached, never exceeded
    assert [o.value.summary for o in outcomes] == [t.upper() for t in texts]  # input order kept
    assert usage.requests == 40 and srv.stats()["total"] == 40


def test_retry_after_is_honoured(store, srv):
    srv.fail_next(1, status=429, retry_after=1)
    gw = make_gateway(store, srv)  # backoff alone would wait at most 0.05 s
    (outcome,), usage = gw.run(SUMMARIZE, ["hello"])
    assert outcome.ok
    first, retry = srv.requests("chat/completions")
    assert first["status"] == 429 and retry["status"] == 200
    assert retry["t"] - first["done"] >= 0.95
    assert usage.retries == {"rate_limited": 1} and usage.requests == 2 and usage.failures == {}


def test_retry_after_http_date_is_parsed():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10.0)
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("soon") is None


def test_server_error_is_retried_then_succeeds(store, srv):
    srv.fail_next(2, status=500)
    (outcome,), usage = make_gateway(store, srv).run(SUMMARIZE, ["hello"])
    assert outcome.ok and outcome.value.summary == "HELLO"
    assert usage.requests == 3 and usage.retries == {"server_error": 2}


def test_server_error_past_max_attempts_fails_that_item_only(store, srv):
    srv.fail_next(3, status=503, when=lambda r: first_user_text(r) == "first")
    gw = make_gateway(store, srv, max_attempts=3)
    outcomes, usage = gw.run(SUMMARIZE, ["first", "second"])
    assert outcomes[0].error == "server_error" and "HTTP 503" in outcomes[0].detail
    assert outcomes[1].ok
    assert usage.failures == {"server_error": 1}


def test_client_error_is_not_retried(store, srv):
    srv.fail_next(1, status=400)
    (outcome,), usage = make_gateway(store, srv).run(SUMMARIZE, ["hello"])
    assert outcome.error == "client_error" and usage.requests == 1 and srv.stats()["total"] == 1


def test_timeout_is_retried(store, srv):
    srv.fail_next(1, status="timeout", delay=1.0)
    (outcome,), usage = make_gateway(store, srv, timeout=0.3).run(SUMMARIZE, ["hello"])
    assert outcome.ok and usage.retries == {"timeout": 1}


def test_connection_error_is_classified(store):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gw = make_gateway(store, type("S", (), {"base_url": f"http://127.0.0.1:{port}/v1"})(), max_attempts=2)
    (outcome,), usage = gw.run(SUMMARIZE, ["hello"])
    assert outcome.error == "connection" and usage.retries == {"connection": 1}


def test_malformed_answer_is_repaired(store, srv):
    srv.fail_next(1, status="malformed", content='{"summary": "cut off')
    (outcome,), usage = make_gateway(store, srv).run(SUMMARIZE, ["hello"])
    assert outcome.ok and outcome.value.summary == "HELLO"
    bad, repair = srv.requests("chat/completions")
    sent = repair["json"]["messages"]
    assert sent[-2] == {"role": "assistant", "content": '{"summary": "cut off'}
    assert "could not be used" in sent[-1]["content"] and usage.requests == 2


def test_malformed_twice_fails_with_excerpt_and_the_batch_goes_on(store, srv):
    srv.script("summarize", lambda r: "Sure! " + "no json here " * 40 if first_user_text(r) == "bad" else echo_summary(r))
    outcomes, usage = make_gateway(store, srv).run(SUMMARIZE, ["good 1", "bad", "good 2"])
    assert [o.ok for o in outcomes] == [True, False, True]
    bad = outcomes[1]
    assert bad.error == "invalid_json" and bad.raw_excerpt.startswith("Sure! no json here") and len(bad.raw_excerpt) == 300
    assert usage.failures == {"invalid_json": 1}
    assert len([r for r in srv.requests() if r["task"] == "summarize"]) == 4  # 2 good + bad + its repair


def test_schema_mismatch_is_repaired_once_then_recorded(store, srv):
    srv.script("summarize", lambda r: {"summary": "x", "meaningfulness": 9})
    (outcome,), usage = make_gateway(store, srv).run(SUMMARIZE, ["hello"])
    assert outcome.error == "schema_mismatch" and "meaningfulness" in outcome.detail
    assert usage.requests == 2


def test_json_in_prose_is_extracted(store, srv):
    srv.script("summarize", lambda r: 'Here you go:\n```json\n{"summary": "ok", "meaningfulness": 2}\n```')
    (outcome,), _ = make_gateway(store, srv).run(SUMMARIZE, ["hello"])
    assert outcome.ok and outcome.value.meaningfulness == 2


def test_cache_hit_makes_zero_requests(store, srv):
    gw = make_gateway(store, srv)
    first, _ = gw.run(SUMMARIZE, ["a", "b", "c"])
    before = srv.stats()["total"]
    again, usage = gw.run(SUMMARIZE, ["a", "b", "c"])
    assert srv.stats()["total"] == before == 3
    assert usage.requests == 0 and usage.cache_hits == 3 and all(o.cached for o in again)
    assert [o.value for o in again] == [o.value for o in first]
    with store.connect() as conn:
        assert conn.execute(select(llm_cache.c.task)).scalars().all() == ["summarize"] * 3


def test_cache_can_be_bypassed(store, srv):
    make_gateway(store, srv).run(SUMMARIZE, ["a"])
    _, usage = make_gateway(store, srv, use_cache=False).run(SUMMARIZE, ["a"])
    _, usage_call = make_gateway(store, srv).run(SUMMARIZE, ["a"], use_cache=False)
    assert usage.requests == 1 and usage_call.requests == 1 and srv.stats()["total"] == 3


def test_failed_answers_are_not_cached(store, srv):
    srv.script("summarize", lambda r: "garbage")
    make_gateway(store, srv).run(SUMMARIZE, ["a"])
    srv.script("summarize", echo_summary)
    (outcome,), usage = make_gateway(store, srv).run(SUMMARIZE, ["a"])
    assert outcome.ok and not outcome.cached and usage.requests == 1


def test_spent_budget_stops_all_calls(store, srv):
    record_usage(store, "earlier", "gpt-4o-mini", 10, 1000, 1000, 5.0)
    outcomes, usage = make_gateway(store, srv, daily_budget_usd=5.0).run(SUMMARIZE, ["a", "b"])
    assert srv.stats()["total"] == 0 and usage.requests == 0
    assert [o.error for o in outcomes] == ["budget_exhausted"] * 2
    assert "BGP_LLM_DAILY_BUDGET_USD" in outcomes[0].detail and usage.budget_exhausted
    assert usage.failures == {"budget_exhausted": 2}


def test_budget_reached_mid_batch_leaves_the_rest_unasked(store, srv):
    # ~20 tokens a call at $10,000 per 1M tokens: ~$0.2 a call against a $0.5 budget
    gw = make_gateway(store, srv, max_concurrency=1, daily_budget_usd=0.5, prices={"gpt-4o-mini": (10_000.0, 10_000.0)})
    outcomes, usage = gw.run(SUMMARIZE, [f"message {i}" for i in range(6)])
    done = [o for o in outcomes if o.ok]
    k = len(done)
    assert 1 <= k < 6 and all(o.ok for o in outcomes[:k])
    assert [o.error for o in outcomes[k:]] == ["budget_exhausted"] * (6 - k)
    costs = [o.cost_usd for o in done]
    assert sum(costs[:-1]) < 0.5 <= sum(costs)  # the call that crossed the budget was the last one
    assert srv.stats()["total"] == k and usage.budget_exhausted
    (row,) = usage_by_day(store)
    assert row["requests"] == k and row["cost_usd"] == pytest.approx(usage.cost_usd)


def test_usage_counts_reported_tokens_and_prices_them(store, srv):
    outcomes, usage = make_gateway(store, srv, prices={"gpt-4o-mini": (1.0, 2.0)}).run(SUMMARIZE, ["hello", "world"])
    assert usage.prompt_tokens == sum(o.prompt_tokens for o in outcomes) > 0
    assert usage.cost_usd == pytest.approx((usage.prompt_tokens * 1.0 + usage.completion_tokens * 2.0) / 1e6)
    meta = usage.as_metadata()
    assert meta["llm_backend"] == "openai" and meta["llm_requests"] == 2 and meta["prompt_tokens"] == usage.prompt_tokens
    (row,) = usage_by_day(store)
    assert (row["task"], row["model"], row["requests"], row["prompt_tokens"]) == ("summarize", "gpt-4o-mini", 2, usage.prompt_tokens)


def test_tokens_are_estimated_when_the_server_reports_none(store):
    with LocalLLMServer(report_usage=False) as server:
        server.script("summarize", echo_summary)
        (outcome,), usage = make_gateway(store, server).run(SUMMARIZE, ["a fairly long message to summarize"])
    assert outcome.prompt_tokens > 10 and outcome.completion_tokens > 5 and usage.cost_usd > 0  # gpt-4o-mini default price


def test_json_schema_rejection_falls_back_to_json_object_and_is_remembered(store):
    with LocalLLMServer(reject_json_schema=True) as server:
        server.script("summarize", echo_summary)
        gw = make_gateway(store, server, use_cache=False)
        (outcome,), _ = gw.run(SUMMARIZE, ["hello"])
        assert outcome.ok and gw.response_format_mode == "json_object"
        gw.run(SUMMARIZE, ["again"])
        formats = [r["json"].get("response_format", {}).get("type") for r in server.requests()]
    assert formats == ["json_schema", "json_object", "json_object"]


def test_without_response_format_support_plain_text_is_parsed(store):
    with LocalLLMServer(reject_json_schema=True, reject_json_object=True) as server:
        server.script("summarize", lambda r: 'Summary: {"summary": "fine", "meaningfulness": 4} hope it helps')
        gw = make_gateway(store, server)
        (outcome,), _ = gw.run(SUMMARIZE, ["hello"])
        last = server.requests()[-1]
    assert outcome.ok and outcome.value.summary == "fine" and gw.response_format_mode == "text"
    assert "response_format" not in last["json"] and last["task"] == "summarize"  # the marker names the task


def test_prompt_errors_fail_their_item_only(store, srv):
    from background_pipelines.llm import Task
    from llm_helpers import Summary

    def prompt(text):
        if text == "boom":
            raise ValueError("no text")
        return [{"role": "user", "content": text}]

    task = Task("summarize", Summary, prompt=prompt, offline=lambda t: Summary(summary=t, meaningfulness=1))
    outcomes, usage = make_gateway(store, srv).run(task, ["ok", "boom"])
    assert outcomes[0].ok and outcomes[1].error == "prompt_error" and usage.failures == {"prompt_error": 1}


def test_run_works_inside_a_running_event_loop(store, srv):
    import asyncio

    async def caller():
        return make_gateway(store, srv).run(SUMMARIZE, ["hello"])

    (outcome,), _ = asyncio.run(caller())
    assert outcome.ok


def test_minute_window_holds_requests_past_the_limit():
    import asyncio
    import time

    from background_pipelines.llm.limits import MinuteWindow

    async def three_acquires() -> list[float]:
        window, start, times = MinuteWindow(2, window=0.3), time.monotonic(), []
        for _ in range(3):
            await window.acquire()
            times.append(time.monotonic() - start)
        return times

    times = asyncio.run(three_acquires())
    assert times[1] < 0.3 <= times[2]  # the third waits for the first to leave the window


def test_rpm_window_is_shared_across_runs_of_one_gateway(store, srv):
    gw = make_gateway(store, srv, rpm=1000)
    gw.run(SUMMARIZE, ["a", "b"])
    gw.run(SUMMARIZE, ["c"])  # a second event loop: the window (and its lock) must carry over
    assert gw._rpm_window._used == 3


def test_an_unexpected_error_fails_its_item_only(store, srv):
    srv.script("summarize", lambda r: {"summary": "ok", "meaningfulness": 3})
    from background_pipelines.llm import Task
    from llm_helpers import Summary

    class Exploding(Summary):
        @classmethod
        def model_validate(cls, *a, **k):
            if "boom" in str(a):
                raise RuntimeError("validator crashed")
            return super().model_validate(*a, **k)

    task = Task("summarize", Exploding, prompt=lambda t: [{"role": "user", "content": t}], offline=lambda t: None)
    srv.script("summarize", lambda r: {"summary": first_user_text(r), "meaningfulness": 3})
    outcomes, usage = make_gateway(store, srv).run(task, ["fine", "boom"])
    assert outcomes[0].ok and outcomes[1].error == "internal_error" and "validator crashed" in outcomes[1].detail


def test_price_table_overrides_and_bad_values_are_named():
    from background_pipelines.config import ConfigError
    from background_pipelines.llm.prices import cost_usd, parse_prices

    table = parse_prices('{"my-local-model": [0.5, 1.5]}')
    assert cost_usd(table, "my-local-model", 1_000_000, 1_000_000) == pytest.approx(2.0)
    assert cost_usd(table, "openai/gpt-4o-mini", 1_000_000, 0) == pytest.approx(0.15)  # OpenRouter-style name
    assert cost_usd(table, "llama3.1:8b", 10**6, 10**6) == 0.0  # unknown (local) models are free
    with pytest.raises(ConfigError, match=r"BGP_LLM_PRICES\['m'\]"):
        parse_prices('{"m": [1]}')
    with pytest.raises(ConfigError, match="BGP_LLM_PRICES is not valid JSON"):
        parse_prices("{m: 1}")
