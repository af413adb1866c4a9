"""summarize_sessions: threshold, kept vs discarded with meaningfulness, embeddings of kept
summaries, a later summary covering only new messages and linking the previous, idempotent reruns."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from background_pipelines.cognition.summaries import extractive_summary, meaningfulness_of, summarize_sessions
from background_pipelines.config import Settings
from background_pipelines.llm import Gateway
from background_pipelines.store.embeddings import load_embeddings
from background_pipelines.store.messages import insert_message_rows, message_row
from background_pipelines.store.schema import summaries

DAY = "2026-11-05"
SMALL_TALK = ["hi", "hey there", "ok", "lol", "nice", "yeah", "sure", "cool", "haha", "fine"]
DEEP = [
    "My grandmother passed away this morning and I am devastated.",
    "She taught me to cook, I loved her so much.",
    "I am scared of going to the funeral alone on Saturday.",
    "My brother Tom lives in Boston and cannot fly over.",
    "I feel guilty that I did not call her last week.",
]


def _session(store, session, texts, day=DAY, start_n=0):
    base = datetime.fromisoformat(day) + timedelta(hours=10)
    rows = []
    for i, text in enumerate(texts):
        user = i % 2 == 0
        rows.append(
            message_row(
                platform="test", external_id=f"{session}-{start_n + i}", channel="dm", session=session,
                author="alice" if user else "Nova", author_kind="user" if user else "character",
                role="user" if user else "assistant", text=text, created_at=base + timedelta(minutes=start_n + i),
            )
        )
    with store.begin() as conn:
        insert_message_rows(conn, rows)


@pytest.fixture
def env(bgp_env, store, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", "2026-11-01")
    monkeypatch.setenv("SUMMARY_MESSAGE_THRESHOLD", "10")
    settings = Settings.from_env()
    return store, settings, Gateway.from_settings(settings, store)


def _rows(store):
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(summaries).order_by(summaries.c.id))]


def test_meaningfulness_ranks_disclosures_above_small_talk():
    small = [{"author": "a", "text": t} for t in SMALL_TALK]
    deep = [{"author": "a", "text": t} for t in DEEP * 2]
    assert meaningfulness_of(small) < 3 <= meaningfulness_of(deep)


def test_extractive_summary_quotes_central_sentences_and_names_participants():
    msgs = [{"author": "alice" if i % 2 == 0 else "Nova", "text": t} for i, t in enumerate(DEEP * 2)]
    text = extractive_summary(msgs, ["alice", "Nova"])
    assert text.startswith("alice and Nova talked about")
    assert any(s[:30] in text for s in DEEP)


def test_sessions_below_threshold_are_not_summarised(env):
    store, settings, gw = env
    _session(store, "short", SMALL_TALK[:9])
    result = summarize_sessions(store, gw, settings, DAY)
    assert result.processed == 0 and result.skipped == 1 and _rows(store) == []


def test_kept_summary_is_embedded_and_small_talk_is_discarded_with_score(env):
    store, settings, gw = env
    _session(store, "deep", DEEP * 2)
    _session(store, "small", SMALL_TALK)
    result = summarize_sessions(store, gw, settings, DAY)
    rows = {r["session"]: r for r in _rows(store)}
    assert result.processed == 2
    assert rows["deep"]["status"] == "kept" and rows["deep"]["meaningfulness"] >= 3 and rows["deep"]["text"].strip()
    assert rows["small"]["status"] == "discarded" and rows["small"]["meaningfulness"] < 3
    ids, _ = load_embeddings(store, "summary", "hashing-384-v1")
    assert ids == [rows["deep"]["id"]]


def test_later_summary_covers_only_new_messages_and_links_previous(env):
    store, settings, gw = env
    _session(store, "deep", DEEP * 2)
    summarize_sessions(store, gw, settings, DAY)
    _session(store, "deep", DEEP * 2, start_n=100)
    summarize_sessions(store, gw, settings, DAY)
    first, second = _rows(store)
    assert second["previous_id"] == first["id"]
    assert set(first["message_ids"]).isdisjoint(second["message_ids"])
    assert second["first_message_id"] > first["last_message_id"] and len(second["message_ids"]) == 10


def test_rerun_adds_no_summary_and_force_rewrites_in_place(env):
    store, settings, gw = env
    _session(store, "deep", DEEP * 2)
    summarize_sessions(store, gw, settings, DAY)
    again = summarize_sessions(store, gw, settings, DAY)
    forced = summarize_sessions(store, gw, settings, DAY, force=True)
    assert again.processed == 0 and forced.processed == 1
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(summaries)).scalar_one() == 1


def test_forced_rewrite_keeps_the_link_to_the_previous_summary(env):
    store, settings, gw = env
    _session(store, "deep", DEEP * 2)
    summarize_sessions(store, gw, settings, DAY)
    _session(store, "deep", DEEP * 2, start_n=100)
    summarize_sessions(store, gw, settings, DAY)
    summarize_sessions(store, gw, settings, DAY, force=True)
    first, second = _rows(store)
    assert second["previous_id"] == first["id"] and len(_rows(store)) == 2


def test_a_session_past_midnight_gets_the_same_chain_whichever_day_runs_first(env, tmp_path):
    """60 messages, 30 each side of midnight: two chained summaries, one per day, whether day 1 or day
    2 is summarised first (day 2 first used to give one summary of all 60)."""
    store, settings, gw = env
    from background_pipelines.store import open_store

    chains = []
    for order in ((DAY, "2026-11-06"), ("2026-11-06", DAY)):
        s = open_store(f"sqlite:///{tmp_path / ('-'.join(order) + '.db')}")
        rows = []
        for i in range(60):
            at = datetime.fromisoformat(DAY) + timedelta(hours=23, minutes=30) + timedelta(minutes=i)
            rows.append(message_row(platform="test", external_id=f"n{i}", channel="dm", session="night", author="alice",
                                    author_kind="user", role="user", text=DEEP[i % len(DEEP)], created_at=at))
        with s.begin() as conn:
            insert_message_rows(conn, rows)
        for day in order:
            summarize_sessions(s, Gateway.from_settings(settings, s), settings, day)
        got = _rows(s)
        by_id = {r["id"]: r for r in got}
        chains.append([(r["day"], len(r["message_ids"]), by_id[r["previous_id"]]["day"] if r["previous_id"] else None)
                       for r in sorted(got, key=lambda r: r["last_message_id"])])
        s.engine.dispose()
    assert chains[0] == chains[1] == [(DAY, 30, None), ("2026-11-06", 30, DAY)]
