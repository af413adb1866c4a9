"""The offline rules on ordinary chat: first-person statements of both speakers, time phrases resolved
against the message's date, endings ("lost my job") that end the fact in the graph, and what states
nothing (questions, wishes, reported speech)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from background_pipelines.cognition.anchors import resolve
from background_pipelines.cognition.facts import extract_facts
from background_pipelines.cognition.graph import update_knowledge_graph
from background_pipelines.cognition.statements import statements_in
from background_pipelines.config import Settings
from background_pipelines.llm import Gateway
from background_pipelines.store.facts import facts_of_user
from background_pipelines.store.graph import relations_of
from background_pipelines.store.messages import insert_message_rows, message_row, upsert_characters
from background_pipelines.users.identity import entity_norm


def _said(text: str) -> set[tuple]:
    return {(s.predicate, s.object, s.about, s.ended, s.when) for s in statements_in(text)}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("I just adopted a puppy", ("has_pet", "puppy", None, False, "just")),
        ("my sister lives in Lyon", ("lives_in", "Lyon", "sister", False, None)),
        ("we went camping last weekend", ("event", "went camping", None, False, "last weekend")),
        ("Lost my job as a banker yesterday", ("works_as", "banker", None, True, "yesterday")),
        ("I handed in my notice at Pixelforge today.", ("works_at", "Pixelforge", None, True, "today")),
        ("i live in texas with my husband", ("lives_in", "texas", None, False, None)),
        ("I'm a nurse at St Anne's Hospital", ("works_at", "St Anne's Hospital", None, False, None)),
        ("My dog Pepper died last month", ("has_pet", "Pepper", None, True, "last month")),
    ],
)
def test_first_person_statements_of_ordinary_chat(text, expected):
    assert expected in _said(text)


def test_a_loss_is_not_also_a_current_fact():
    said = _said("Lost my job as a banker yesterday")
    assert not any(p == "works_as" and not ended for p, _, _, ended, _ in said)
    assert not any("yesterday" in o for _, o, _, _, _ in said)


@pytest.mark.parametrize(
    "text",
    [
        "Do you work at Google?",
        "I want to become a UX designer",
        "If I lived in Paris I would eat croissants every day",
        "She said I work at Acme",
        "I like that",
        "I love you",
        "I'm not a nurse",
    ],
)
def test_questions_wishes_and_reported_speech_state_nothing(text):
    assert [s for s in statements_in(text) if s.kind == "fact"] == []


@pytest.mark.parametrize(
    "phrase, said_on, days",
    [
        ("yesterday", date(2026, 11, 25), (date(2026, 11, 24), date(2026, 11, 24))),
        ("last weekend", date(2026, 11, 25), (date(2026, 11, 21), date(2026, 11, 22))),  # a Wednesday
        ("last weekend", date(2026, 11, 22), (date(2026, 11, 14), date(2026, 11, 15))),  # said on a Sunday
        ("last week", date(2026, 11, 25), (date(2026, 11, 16), date(2026, 11, 22))),
        ("last month", date(2026, 1, 10), (date(2025, 12, 1), date(2025, 12, 31))),
        ("last year", date(2026, 11, 25), (date(2025, 1, 1), date(2025, 12, 31))),
        ("two weeks ago", date(2026, 11, 25), (date(2026, 11, 9), date(2026, 11, 15))),
        ("on saturday", date(2026, 11, 25), (date(2026, 11, 21), date(2026, 11, 21))),
        ("in may", date(2026, 3, 1), (date(2025, 5, 1), date(2025, 5, 31))),
        ("whenever", date(2026, 3, 1), None),
    ],
)
def test_time_phrases_resolve_against_the_message_date(phrase, said_on, days):
    assert resolve(phrase, said_on) == days


ALICE = "test:alice"  # the user key of "alice" on platform "test"


def _row(n, author, kind, text, at, session):
    return message_row(platform="test", external_id=f"off{n}", channel=session, session=session, author=author,
                       author_kind=kind, role="user" if kind == "user" else "assistant", text=text, created_at=at)


def test_character_facts_belong_to_the_character_across_users_and_a_lost_job_ends(bgp_env, store, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", "2026-11-02")
    upsert_characters(store, [{"name": "Nova", "persona": "a curious companion"}])
    d1, d2 = datetime(2026, 11, 2, 9), datetime(2026, 11, 4, 9)
    with store.begin() as conn:
        insert_message_rows(conn, [
            _row(1, "alice", "user", "I work as a banker and I live in Leeds.", d1, "alice-1"),
            _row(2, "Nova", "character", "I live in Paris and I'm a painter, so no banks for me!", d1 + timedelta(minutes=1), "alice-1"),
            _row(3, "alice", "user", "Lost my job as a banker yesterday.", d2, "alice-2"),
            _row(4, "Nova", "character", "Oh no, I am so sorry.", d2 + timedelta(minutes=1), "alice-2"),
            _row(5, "bob", "user", "hey Nova", d2 + timedelta(minutes=2), "bob-1"),
            _row(6, "Nova", "character", "Hi bob! I just moved to Rome.", d2 + timedelta(minutes=3), "bob-1"),
        ])
    settings = Settings.from_env()
    gw = Gateway.from_settings(settings, store)
    for day in ("2026-11-02", "2026-11-04"):
        extract_facts(store, gw, settings, day)
        update_knowledge_graph(store, None, settings, day)

    facts = {(f["subject"], f["predicate"], f["object"], f["ended"]): f for f in facts_of_user(store, ALICE)}
    nova = {(f["subject"], f["predicate"], f["object"]) for f in facts_of_user(store, "Nova")}
    # the character's statements about itself are the character's facts, never alice's
    assert {("Nova", "lives_in", "Paris"), ("Nova", "works_as", "painter")} <= nova
    assert not any(o in ("Paris", "painter") for _, _, o, _ in facts)
    lived = [r for r in relations_of(store, entity_norm(ALICE), "lives_in") if r["invalidated_at"] is None]
    assert [r["dst_name"] for r in lived] == ["Leeds"]
    # the character's own timeline across its conversations: what it told bob later supersedes Paris
    nova_home = [(r["dst_name"], r["invalidated_at"] is None) for r in relations_of(store, "nova", "lives_in")]
    assert nova_home == [("Paris", False), ("Rome", True)]

    lost = facts[(ALICE, "works_as", "banker", True)]
    assert (lost["event_start"], lost["event_end"]) == (datetime(2026, 11, 3), datetime(2026, 11, 3))
    job = relations_of(store, entity_norm(ALICE), "works_as")
    assert [(r["dst_name"], r["invalidated_at"]) for r in job] == [("banker", datetime(2026, 11, 3))]
