"""extract_facts: what the patterns find, batching (<= 50 messages of one author a call, counted at the
local OpenAI-compatible server), citations, idempotent reruns, failures and budget in the ledger."""

from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select

from background_pipelines.cognition.facts import extract_facts, facts_in
from background_pipelines.cognition.replay import script_offline_answers
from background_pipelines.config import Secret, Settings
from background_pipelines.llm import Gateway
from background_pipelines.llm.local_server import LocalLLMServer
from background_pipelines.store import ledger
from background_pipelines.store.messages import insert_message_rows, messages_for_day
from background_pipelines.store.schema import facts
from message_world import DAYS, load_world, world_rows


@pytest.fixture
def world(bgp_env, store, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", DAYS[0])
    load_world(store)
    settings = Settings.from_env()
    return store, settings


def _http_gateway(store, srv, **kw):
    return Gateway(store, base_url=srv.base_url, api_key=Secret("sk-test"), timeout=5.0, max_attempts=2, backoff_base=0.01, backoff_cap=0.02, **kw)


def _facts(store):
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(facts).order_by(facts.c.id))]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I work at Acme Corp as a data analyst.", ("fact", "works_at", "Acme Corp")),
        ("My dog Biscuit chewed my shoes again.", ("fact", "has_pet", "Biscuit")),
        ("I moved to Porto last week.", ("fact", "lives_in", "Porto")),
        ("My girlfriend Maya says hi", ("fact", "partner_of", "Maya")),
        ("I'm a nurse at the clinic", ("fact", "works_as", "nurse")),
        ("I love surfing", ("fact", "likes", "surfing")),
        ("Please keep it short", ("preference", "prefers", "be concise")),
        ("no emojis please", ("preference", "prefers", "no emojis")),
    ],
)
def test_patterns_find_stated_facts(text, expected):
    assert expected in [(k, p, o) for k, p, o, _ in facts_in(text)]


def test_negated_and_pronoun_objects_are_not_facts():
    assert facts_in("I don't work at Acme anymore") == []
    assert facts_in("I love it") == []


def test_hedged_statement_has_lower_confidence():
    sure = dict(((p, o), c) for _, p, o, c in facts_in("I live in Berlin"))
    hedged = dict(((p, o), c) for _, p, o, c in facts_in("I think I live in Berlin"))
    assert hedged[("lives_in", "Berlin")] < sure[("lives_in", "Berlin")]


def test_facts_cite_their_speakers_messages_with_their_time(world):
    store, settings = world
    gw = Gateway.from_settings(settings, store)
    result = extract_facts(store, gw, settings, DAYS[0])
    rows = _facts(store)
    by_id = {m["id"]: m for m in messages_for_day(store, DAYS[0])}
    assert result.processed == len(by_id)  # both speakers' messages
    assert {(r["user_name"], r["predicate"], r["object"]) for r in rows} >= {
        ("test:alice", "works_at", "Acme Corp"),  # user_name holds the user key (platform:id)
        ("test:alice", "has_pet", "Biscuit"),
        ("test:bob", "lives_in", "Lisbon"),
    }
    prefs = {r["object"] for r in rows if r["kind"] == "preference"}
    assert prefs == {"be concise", "no emojis"}
    for r in rows:
        cited = [by_id[i] for i in r["source_message_ids"]]
        speaker = r["subject"].split("'s ")[0]
        # a fact is its speaker's own: a user's, or the character's (never the user it talked to)
        assert cited and all(m["author"] == speaker == r["user_name"] for m in cited)
        assert r["valid_from"] == min(m["created_at"] for m in cited)


def test_rerun_adds_no_facts(world):
    store, settings = world
    gw = Gateway.from_settings(settings, store)
    extract_facts(store, gw, settings, DAYS[0])
    n = len(_facts(store))
    again = extract_facts(store, gw, settings, DAYS[0])
    forced = extract_facts(store, gw, settings, DAYS[0], force=True)
    assert again.processed == 0 and forced.processed > 0 and len(_facts(store)) == n


def test_http_calls_are_batched_at_most_50_messages_of_one_author(bgp_env, store, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", DAYS[0])
    with store.begin() as conn:
        insert_message_rows(conn, world_rows(DAYS[:1], per_session=130))
    settings = Settings.from_env()
    all_msgs = messages_for_day(store, DAYS[0])
    assert sum(m["author_kind"] == "user" for m in all_msgs) > 100
    with LocalLLMServer() as srv:
        script_offline_answers(srv)
        result = extract_facts(store, _http_gateway(store, srv), settings, DAYS[0])
        calls = srv.requests("chat/completions")
    per_speaker: dict[str, int] = {}  # alice, bob and Nova (all its conversations)
    for m in all_msgs:
        per_speaker[m["author"]] = per_speaker.get(m["author"], 0) + 1
    assert len(calls) == sum(math.ceil(n / 50) for n in per_speaker.values())
    for call in calls:  # never two authors' messages in one prompt
        body = next(m["content"] for m in call["json"]["messages"] if m["role"] == "user")
        rows = [line.split("\t") for line in body.split("\n")[1:] if line]
        assert 0 < len(rows) <= 50 and len({r[1] for r in rows}) == 1
    assert result.usage.requests == len(calls) and result.usage.backend == "openai"
    assert ("test:alice", "works_at", "Acme Corp") in {(r["user_name"], r["predicate"], r["object"]) for r in _facts(store)}


def test_http_rerun_makes_no_requests(world):
    store, settings = world
    with LocalLLMServer() as srv:
        script_offline_answers(srv)
        extract_facts(store, _http_gateway(store, srv), settings, DAYS[0])
        first = srv.stats()["total"]
        extract_facts(store, _http_gateway(store, srv), settings, DAYS[0])
        assert first >= 1 and srv.stats()["total"] == first


def test_failed_batch_is_marked_failed_with_reason_and_retried_next_run(world):
    store, settings = world
    with LocalLLMServer() as srv:
        script_offline_answers(srv)
        srv.fail_next(6, status=500)  # both attempts of each speaker's batch (alice, bob, Nova)
        failed = extract_facts(store, _http_gateway(store, srv), settings, DAYS[0])
        assert failed.failed > 0 and failed.processed == 0
        reasons = ledger.failures(store, "extract")
        assert reasons and all(r["error"] for r in reasons)
        retried = extract_facts(store, _http_gateway(store, srv), settings, DAYS[0])
    assert retried.processed == failed.failed and ledger.failures(store, "extract") == []


def test_uncited_answers_are_refused(world):
    store, settings = world
    with LocalLLMServer() as srv:
        srv.script("extract_facts", lambda req: {"facts": [{"message_ids": [999999], "kind": "fact", "predicate": "works_at", "object": "Nowhere", "confidence": 0.9}]})
        result = extract_facts(store, _http_gateway(store, srv), settings, DAYS[0])
    assert result.extra["uncited_dropped"] == result.extra["llm_calls_planned"] == 3 and _facts(store) == []  # one per speaker's batch


def test_budget_exhausted_leaves_messages_pending(world, monkeypatch):
    store, settings = world
    with LocalLLMServer() as srv:
        script_offline_answers(srv)
        gw = _http_gateway(store, srv, daily_budget_usd=0.0, prices={"gpt-4o-mini": [1.0, 1.0]})
        result = extract_facts(store, gw, settings, DAYS[0])
    assert result.pending > 0 and result.failed == 0
    assert ledger.counts(store, "extract").get(("extract", "pending")) == result.pending
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(facts)).scalar_one() == 0
