"""The turn-vector cache of recall's vector mode (recall/vector_cache.py): it ranks exactly as a read of
the store does, sees a message the moment it is recorded, never brings back a forgotten message's
vector, and never mixes one user's private conversation into another's."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from sqlalchemy import text

from background_pipelines import recall, record_messages
from background_pipelines.config import Settings
from background_pipelines.forget import forget
from background_pipelines.recall import vector_cache, vectors
from background_pipelines.store import search_index
from background_pipelines.users import resolve_user

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=timezone.utc)
TOPICS = ["ferret named Pickles", "sourdough bread starter", "marathon training plan", "rooftop tomato garden",
          "jazz piano lessons", "broken bicycle chain", "night shift at the hospital", "trip to Lisbon in May",
          "chess club on Thursdays", "grandmother's apple pie recipe"]
QUESTIONS = ["how is the ferret?", "what bread do I bake?", "am I training for a race?", "what grows on the roof?",
             "which instrument do I play?", "what happened to my bike?", "where do I work at night?", "where am I travelling?"]


def _turns(user: str, channel: str, n: int, start: int, *, character: str = "Mira", platform: str | None = None) -> list[dict]:
    """`n` turns alternating user / character in `channel`, each on a topic of its own."""
    out = []
    for i in range(n):
        k = start + i
        topic = TOPICS[k % len(TOPICS)]
        mine = i % 2 == 0
        m = dict(external_id=f"{channel}-{k}", channel=channel, session=f"{channel}-s{i // 10}", created_at=T0 + timedelta(hours=k),
                 author=user if mine else character, author_kind="user" if mine else "character",
                 text=(f"{user} talks about the {topic} (note {k})" if mine else f"{character} asks more about the {topic}, turn {k}"))
        if platform:
            m["platform"] = platform
        out.append(m)
    return out


def _world(store) -> None:
    record_messages(_turns("alice", "dm/Mira/alice", 40, 0), store)
    record_messages(_turns("alice", "dm/Juno/alice", 30, 100, character="Juno"), store)
    record_messages(_turns("alice", "lounge", 20, 200), store)
    record_messages(_turns("bob", "lounge", 10, 300), store)
    record_messages(_turns("bob", "dm/Mira/bob", 30, 400), store)


def _settings(mb: int) -> Settings:
    return dataclasses.replace(Settings.from_env(), recall_vector_cache_mb=mb)


def _both(store, user: str, query: str, **kw) -> tuple[list, list]:
    """(cached, uncached) search_turns for `user`'s conversation."""
    cached_settings, plain = _settings(64), _settings(0)
    kw = {"character": None, "at": None, **kw}
    key = resolve_user(store, user).key
    with store.connect() as conn:
        channels = search_index.conversation_channels(conn, key, character=kw.get("character"), at=kw.get("at"))
        emb, q = vectors.query_vector(plain, query)
        cached = vectors.search_turns(conn, cached_settings, channels, query, limit=kw.pop("limit", 25), qvec=(emb, q), **kw)
        uncached = vectors.search_turns_uncached(conn, channels, emb, q, limit=len(cached) or 25, **kw)
    return cached, uncached


def _ids_scores(hits):
    return [i for i, _ in hits], np.array([s for _, s in hits])


def test_cache_ranks_exactly_as_reading_the_store(store, bgp_env):
    _world(store)
    vector_cache.clear()
    at = (T0 + timedelta(hours=120)).replace(tzinfo=None)
    for query in QUESTIONS:
        for kw in ({"character": None, "at": None}, {"character": "Mira", "at": None}, {"character": None, "at": at},
                   {"character": "Juno", "at": at}, {"character": None, "at": None, "platform": "app"},
                   {"character": None, "at": None, "platform": "discord"}):
            cached, uncached = _both(store, "alice", query, **kw)
            assert _ids_scores(cached)[0] == _ids_scores(uncached)[0], (query, kw)
            np.testing.assert_allclose(_ids_scores(cached)[1], _ids_scores(uncached)[1], rtol=1e-6, atol=1e-6)
            if kw.get("platform") == "discord":
                assert cached == []  # alice's turns are all on the app platform
            else:
                assert len(cached) == (25 if kw["character"] is None and kw["at"] is None else len(cached)) and cached
    cache = vector_cache.cache_for(store.engine, 64)
    assert cache.stats["loads"] == 3  # alice's three channels, read once for 48 searches
    # the whole recall() agrees with the cache switched off
    for query in QUESTIONS:
        on = recall("alice", query, store=store, settings=_settings(64), modes=("vectors",), k=10)
        off = recall("alice", query, store=store, settings=_settings(0), modes=("vectors",), k=10)
        assert [(h.id, h.text) for h in on] == [(h.id, h.text) for h in off]


def test_message_recorded_after_the_cache_is_built_is_recalled_at_once(store, bgp_env):
    _world(store)
    vector_cache.clear()
    settings = _settings(64)
    assert recall("alice", "ferret", store=store, settings=settings, modes=("vectors",))  # blocks built
    record_messages([dict(external_id="new-1", channel="dm/Mira/alice", session="late", author="alice", created_at=T0 + timedelta(days=60),
                          text="my kayak capsized in the harbour")], store)
    hits = [h for h in recall("alice", "kayak capsized harbour", store=store, settings=settings, modes=("vectors",), k=3)
            if h.modes == {"vectors": 1}]
    assert [h.text for h in hits] == ["my kayak capsized in the harbour"]
    # a turn written without a vector (embedding left to the scoring run) joins when its vector lands
    with store.begin() as conn:
        conn.execute(text("DELETE FROM embeddings WHERE item_kind = 'message' AND item_id = :i"), {"i": hits[0].id})
    record_messages([dict(external_id="new-2", channel="dm/Mira/alice", session="late", author="alice", created_at=T0 + timedelta(days=61),
                          text="the harbour master fished my kayak out")], store)
    cached, uncached = _both(store, "alice", "kayak capsized harbour")
    assert cached == uncached and hits[0].id not in [i for i, _ in cached]
    from background_pipelines.ingest.write_index import index_new_messages
    index_new_messages(store, hits[0].id - 1)  # embeds what has no vector from that id on
    cached, uncached = _both(store, "alice", "kayak capsized harbour")
    assert cached[0][0] == hits[0].id and _ids_scores(cached)[0] == _ids_scores(uncached)[0]


def test_forgotten_user_vectors_never_come_back(store, bgp_env, tmp_path):
    _world(store)
    vector_cache.clear()
    settings = _settings(64)
    with store.connect() as conn:
        bob_ids = {int(r[0]) for r in conn.execute(text("SELECT id FROM messages WHERE channel LIKE '%bob%' OR author LIKE '%bob'"))}
    # the cache holds the lounge (shared with bob) and bob's DM before the forget
    assert any(h.id in bob_ids for h in recall("alice", "ferret Pickles", store=store, settings=settings, modes=("vectors",), k=50))
    assert recall("bob", "ferret Pickles", store=store, settings=settings, modes=("vectors",))
    forget(store, user="bob", home=tmp_path)
    assert recall("bob", "ferret Pickles", store=store, settings=settings) == []
    for query in QUESTIONS:
        hits = recall("alice", query, store=store, settings=settings, modes=("vectors",), k=50)
        assert not {h.id for h in hits} & bob_ids, query
        cached, uncached = _both(store, "alice", query, limit=200)
        assert not {i for i, _ in cached} & bob_ids and cached == uncached
    cache = vector_cache.cache_for(store.engine, 64)
    held = {int(i) for b in cache.blocks.values() for i in b.ids}
    assert not held & bob_ids  # not even in this process's memory once the lounge was asked about again


def test_reused_message_id_never_scores_with_the_forgotten_vector(store, bgp_env, tmp_path):
    """SQLite hands the highest deleted rowid to the next insert: a new turn in the same channel may take
    the id of a forgotten one, with the channel's count and highest id unchanged."""
    record_messages(_turns("alice", "lounge", 10, 0), store)
    secret = "carol's secret: the vault code is 7391 under the ferret cage"
    record_messages([dict(external_id="secret", channel="lounge", session="s9", author="carol", created_at=T0 + timedelta(days=9),
                          text=secret)], store)
    vector_cache.clear()
    query = "vault code 7391 ferret cage"
    cached, _ = _both(store, "alice", query)  # the cache holds the secret's vector, ranked first
    with store.connect() as conn:
        secret_id = conn.execute(text("SELECT id FROM messages WHERE external_id = 'secret'")).scalar_one()
    assert cached[0][0] == secret_id
    forget(store, message_ids=[secret_id], home=tmp_path)
    record_messages([dict(external_id="after", channel="lounge", session="s9", author="dave", created_at=T0 + timedelta(days=10),
                          text="dave likes watercolour painting")], store)
    with store.connect() as conn:
        new_id = conn.execute(text("SELECT id FROM messages WHERE external_id = 'after'")).scalar_one()
    if store.dialect == "sqlite":
        assert new_id == secret_id  # the case this test is about: same id, same channel count, same highest id
    cache = vector_cache.cache_for(store.engine, 64)
    stale = cache.stats["stale"]
    cached, uncached = _both(store, "alice", query, limit=50)
    assert cached == uncached
    if store.dialect == "sqlite":
        assert cache.stats["stale"] == stale + 1  # caught by re-reading the top hits, then reloaded
    emb, q = vectors.query_vector(_settings(0), query)
    own = float(emb.encode(["dave likes watercolour painting"])[0].astype(np.float32) @ q)
    assert dict(cached)[new_id] == pytest.approx(own, abs=1e-6)  # scored with its own vector, not the secret's
    assert all("vault" not in h.text for h in recall("alice", query, store=store, settings=_settings(64), k=50))


def test_another_users_private_vectors_never_leak(store, bgp_env):
    _world(store)
    vector_cache.clear()
    settings = _settings(64)
    with store.connect() as conn:
        bob_dm = {int(r[0]) for r in conn.execute(text("SELECT id FROM messages WHERE channel = 'dm/Mira/bob'"))}
    # bob's DM is cached first, then alice asks (with and without the character they share)
    assert recall("bob", "ferret", store=store, settings=settings, modes=("vectors",))
    for query in QUESTIONS:
        for character in (None, "Mira"):
            hits = recall("alice", query, character=character, store=store, settings=settings, modes=("vectors",), k=100)
            assert hits and not {h.id for h in hits} & bob_dm, (query, character)


def test_cache_stays_within_its_budget(store, bgp_env):
    _world(store)
    vector_cache.clear()
    settings = _settings(64)
    cache = vector_cache.cache_for(store.engine, 64)
    cache.budget = 70_000  # alice's DM with Juno (30 turns of 384 floats, ~47 kB) fits; her three channels do not
    for query in QUESTIONS[:3]:
        recall("alice", query, character="Juno", store=store, settings=settings, modes=("vectors",))
        assert cache.size <= cache.budget
    assert cache.stats["loads"] == 1  # kept between questions
    for query in QUESTIONS[:3]:  # a conversation bigger than the budget is served, and not kept
        cached, uncached = _both(store, "alice", query)
        assert cached == uncached and cache.size <= cache.budget


def test_cache_off_reads_the_store(store, bgp_env, monkeypatch):
    monkeypatch.setenv("BGP_RECALL_VECTOR_CACHE_MB", "0")
    assert Settings.from_env().recall_vector_cache_mb == 0
    _world(store)
    vector_cache.clear()
    assert recall("alice", "ferret", store=store, settings=Settings.from_env(), modes=("vectors",))
    assert vector_cache.cache_for(store.engine, 0) is None


@pytest.mark.parametrize("bad", ["lots", "1.5"])
def test_bad_cache_size_names_the_variable(bad, monkeypatch):
    from background_pipelines.config import ConfigError

    monkeypatch.setenv("BGP_RECALL_VECTOR_CACHE_MB", bad)
    with pytest.raises(ConfigError, match="BGP_RECALL_VECTOR_CACHE_MB"):
        Settings.from_env()
