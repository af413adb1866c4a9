"""Forgetting a demo user after the real stages ran (scores, vectors, summaries, facts, graph,
relationship scores, diaries, dreams): nothing of theirs left anywhere, everyone else's rows intact."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, inspect, select, text

from background_pipelines.character.diaries import write_diaries
from background_pipelines.character.dreams import write_dreams
from background_pipelines.cognition import (
    embed_messages,
    extract_facts,
    score_messages,
    summarize_sessions,
    update_knowledge_graph,
    update_relationship_scores,
)
from background_pipelines.config import Settings
from background_pipelines.demo import load_demo
from background_pipelines.forget import forget
from background_pipelines.llm import Gateway, get_embedder
from background_pipelines.store.message_views import day_versions
from background_pipelines.store.schema import facts, messages, relationship_scores, summaries

NAME = "alice"
USER = f"demo:{NAME}"  # the user key: what messages.author and the derived user columns hold


@pytest.fixture
def demo_store(store, bgp_env):
    load_demo(store)
    settings = Settings.from_env()
    gateway, embedder = Gateway.from_settings(settings, store), get_embedder(settings)
    days = sorted(day_versions(store))[:3]
    for day in days:
        score_messages(store, gateway, settings, day)
        embed_messages(store, embedder, settings, day)
        summarize_sessions(store, gateway, settings, day, embedder=embedder)
        extract_facts(store, gateway, settings, day)
        update_knowledge_graph(store, gateway, settings, day)
        update_relationship_scores(store, gateway, settings, day)
    write_diaries(store, gateway, days)
    write_dreams(store, gateway, days)
    return store


def _others(store) -> dict[str, int]:
    with store.connect() as conn:
        sessions = select(messages.c.session).where(messages.c.author == USER)
        return {
            "messages": conn.execute(select(func.count()).select_from(messages).where(messages.c.session.not_in(sessions))).scalar_one(),
            "facts": conn.execute(select(func.count()).select_from(facts).where(facts.c.user_name != USER)).scalar_one(),
            "summaries": conn.execute(select(func.count()).select_from(summaries).where(summaries.c.session.not_in(sessions))).scalar_one(),
            "relationship_scores": conn.execute(
                select(func.count()).select_from(relationship_scores).where(relationship_scores.c.user_name != USER)
            ).scalar_one(),
        }


def test_forget_demo_user_leaves_no_trace_and_keeps_everyone_else(demo_store):
    store = demo_store
    with store.connect() as conn:
        own = list(conn.execute(select(messages.c.text).where(messages.c.author == USER)).scalars())
        said_by_others = set(conn.execute(select(messages.c.text).where(messages.c.author != USER)).scalars())
        derived = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in ("diaries", "dreams", "facts", "relations")}
    assert own and all(n > 0 for n in derived.values())  # the stages really produced rows to forget
    unique = [t for t in own if t not in said_by_others]  # demo small talk is shared; those lines are not hers alone
    before = _others(store)
    report = forget(store, user=NAME)  # by name: unambiguous in the demo world
    assert report.counts["messages"]["delete"] >= len(own)
    name = re.compile(rf"(?<![a-z]){NAME}(?![a-z])", re.IGNORECASE)
    with store.connect() as conn:
        for table in inspect(store.engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                blob = " | ".join(v.decode("latin-1") if isinstance(v, (bytes, memoryview)) else str(v) for v in row)
                assert not name.search(blob), (table, blob[:200])
                assert not any(t in blob for t in unique), (table, blob[:200])
    assert _others(store) == before
