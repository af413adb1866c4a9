"""recall() turns first: both speakers' turns of the conversation come back with speaker, session and
time; derived items ride along as context and never take a turn's slot; group channels the user took
part in are searched, other users' private channels never."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select

from background_pipelines.llm.embedders import HashingEmbedder
from background_pipelines.recall import recall
from background_pipelines.store.embeddings import save_embeddings
from background_pipelines.store.messages import insert_message_rows, message_row
from background_pipelines.store.schema import messages, summaries
from recall_seed import T0, seed


@pytest.fixture
def seeded(store, bgp_env):
    return store, seed(store)


def _add(store, rows: list[tuple[str, str, str, str, str, str, object]]) -> dict[str, int]:
    """(external id, channel, session, author, author kind, text, created_at) -> {external id: id},
    with hashing vectors so the vector mode sees them too."""
    with store.begin() as conn:
        insert_message_rows(conn, [
            message_row(platform="demo", external_id=x, channel=c, session=s, author=a, author_kind=k,
                        role="user" if k == "user" else "assistant", text=t, created_at=at)
            for x, c, s, a, k, t, at in rows
        ])
        ids = {x: i for x, i in conn.execute(select(messages.c.external_id, messages.c.id)
                                             .where(messages.c.external_id.in_([r[0] for r in rows])))}
    emb = HashingEmbedder()
    save_embeddings(store, "message", list(ids.values()), emb.encode([r[5] for r in rows]), emb.model_id)
    return ids


def test_a_characters_statement_is_recalled_for_the_user(seeded):
    store, ids = seeded
    hits = recall("alice", "What did Rex say about croissants in the morning?", character="Rex", store=store, k=3)
    assert hits[0].id == ids["messages"]["a6"]
    assert (hits[0].speaker, hits[0].speaker_kind, hits[0].session) == ("Rex", "character", "s-alice-rex")
    assert hits[0].at is not None
    luna = recall("alice", "demanding but rewarding", store=store, k=3)
    assert luna[0].id == ids["messages"]["a2"] and luna[0].speaker == "Luna"


def test_a_summary_never_pushes_an_evidence_turn_out_of_the_top_k(seeded):
    store, _ = seeded
    start = T0 + timedelta(days=3)
    chatter = [(f"c{i}", "dm-s-alice-luna", "s-alice-luna-2", "alice" if i % 2 else "Luna", "user" if i % 2 else "character",
                f"small talk number {i} about the weather and the weekend", start + timedelta(minutes=i)) for i in range(20)]
    evidence = [("ev", "dm-s-alice-luna", "s-alice-luna-3", "alice", "user",
                 "My violin teacher says my bowing finally sounds like music", start + timedelta(days=1))]
    ids = _add(store, chatter + evidence)
    with store.begin() as conn:  # a summary that matches the question word for word and cites all 20 turns
        conn.execute(insert(summaries), [dict(
            session="s-alice-luna-2", channel="dm-s-alice-luna", day=start.strftime("%Y-%m-%d"), first_message_id=ids["c0"],
            last_message_id=ids["c19"], message_ids=[ids[f"c{i}"] for i in range(20)], participants=["alice", "Luna"],
            text="Alice and Luna talked about the violin teacher, bowing and music.", meaningfulness=4, status="kept",
            backend="offline", version="1", created_at=start + timedelta(hours=1))])
    for k in (1, 3):
        hits = recall("alice", "What does the violin teacher say about bowing music?", character="Luna", store=store, k=k)
        assert all(h.kind == "message" for h in hits) and len(hits) == k
        assert hits[0].id == ids["ev"]
    derived = recall("alice", "violin teacher bowing music", store=store, kinds=("summary",))
    assert derived and derived[0].kind == "summary"  # still there for callers who ask for summaries


def test_group_channels_the_user_took_part_in_are_searched_private_ones_of_others_never(seeded):
    store, _ = seeded
    t = T0 + timedelta(days=5)
    ids = _add(store, [
        ("g1", "group-book-club", "g-1", "alice", "user", "Who is reading the lighthouse novel?", t),
        ("g2", "group-book-club", "g-1", "carol", "user", "I finished the lighthouse novel on the ferry to Tallinn", t + timedelta(minutes=1)),
        ("g3", "group-book-club", "g-1", "Luna", "character", "The lighthouse keeper chapter made me cry", t + timedelta(minutes=2)),
        ("p1", "dm-carol-luna", "p-1", "carol", "user", "Secret: the lighthouse novel is my ex's favourite, ferry to Tallinn", t),
        ("p2", "dm-carol-luna", "p-1", "Luna", "character", "Your secret about the lighthouse is safe with me", t + timedelta(minutes=1)),
        ("o1", "group-chess", "x-1", "carol", "user", "lighthouse ferry Tallinn chess opening", t),
    ])
    hits = recall("alice", "Who took the ferry to Tallinn with the lighthouse novel?", store=store, k=10)
    got = {h.id for h in hits}
    assert ids["g2"] in got and {ids["p1"], ids["p2"], ids["o1"]}.isdisjoint(got)
    assert next(h for h in hits if h.id == ids["g2"]).speaker == "carol"
    # carol sees her own private conversation; alice asking with character=Luna still never does
    assert ids["p1"] in {h.id for h in recall("carol", "ferry to Tallinn lighthouse", store=store, k=10)}
    with_luna = recall("alice", "lighthouse ferry Tallinn secret", character="Luna", store=store, k=20)
    assert {ids["p1"], ids["p2"], ids["o1"]}.isdisjoint({h.id for h in with_luna})


def test_a_when_question_returns_the_turn_with_its_session_date(seeded):
    store, ids = seeded
    hits = recall("alice", "When did Alice adopt the cat Pixel?", store=store, k=3)
    top = hits[0]
    assert top.id == ids["messages"]["a4"] and top.at == T0 + timedelta(minutes=3)
    assert top.as_dict()["valid_from"].startswith("2026-10-02")


def _pipeline(store, rows):
    """Messages through the real offline stages (facts, graph) over every day, as a backfill runs them."""
    from background_pipelines.cognition import embed_messages, extract_facts, update_knowledge_graph
    from background_pipelines.config import Settings
    from background_pipelines.llm import Gateway, get_embedder
    from background_pipelines.store.message_views import day_versions

    ids = _add(store, rows)
    settings = Settings.from_env()
    gateway = Gateway.from_settings(settings, store)
    days = sorted(day_versions(store))
    embed_messages(store, get_embedder(settings), settings, days)
    extract_facts(store, gateway, settings, days)
    update_knowledge_graph(store, gateway, settings, days)
    return ids


def test_an_ended_fact_reads_as_ended_with_its_date_and_a_when_question_gets_the_event_days(store, bgp_env):
    t = T0 + timedelta(days=30)
    ids = _pipeline(store, [
        ("j1", "dm-dana-luna", "d-1", "dana", "user", "I work as a banker at Northbank.", t),
        ("j2", "dm-dana-luna", "d-1", "Luna", "character", "Banking sounds busy!", t + timedelta(minutes=1)),
        ("j3", "dm-dana-luna", "d-2", "dana", "user", "I lost my job as a banker yesterday.", t + timedelta(days=9)),
        ("j4", "dm-dana-luna", "d-3", "dana", "user", "We went camping last weekend with my brother.", t + timedelta(days=12)),
        ("j5", "dm-dana-luna", "d-3", "Luna", "character", "Camping! Did it rain on the tent?", t + timedelta(days=12, minutes=1)),
    ])
    hits = recall("dana", "What happened with Dana's job as a banker?", character="Luna", store=store, k=5)
    lost = next(h for h in hits if h.id == ids["j3"])
    job = [c for c in lost.context if "banker" in c.text]
    assert job and all("ended" in c.text for c in job)  # never "dana works as banker" as if it still held
    ended_day = (t + timedelta(days=8)).date().isoformat()  # "yesterday" of the statement
    assert any(c.ended and ended_day in c.text for c in job)
    when = recall("dana", "When did Dana go camping?", character="Luna", store=store, k=3)
    top = when[0]
    assert top.id == ids["j4"] and top.at == t + timedelta(days=12)  # the turn's own (session) time
    assert top.event_start is not None and top.event_start.date() < top.at.date()  # the weekend before it
    assert top.as_dict()["event_start"].startswith(top.event_start.date().isoformat())


def test_at_answers_what_was_known_then_turns_and_their_context(store, bgp_env):
    t = T0 + timedelta(days=30)
    ids = _pipeline(store, [
        ("k1", "dm-erin-luna", "e-1", "erin", "user", "I work as a banker at Northbank.", t),
        ("k2", "dm-erin-luna", "e-2", "erin", "user", "I lost my job as a banker yesterday.", t + timedelta(days=9)),
    ])
    then = recall("erin", "Is Erin a banker?", character=None, store=store, k=5, at=t + timedelta(days=2))
    assert [h.id for h in then] == [ids["k1"]]  # nothing said later
    assert all("ended" not in c.text for c in then[0].context)  # as of then, the job held
    now = recall("erin", "Is Erin a banker?", store=store, k=5)
    assert {h.id for h in now} == {ids["k1"], ids["k2"]}


def test_a_characters_own_fact_pulls_up_its_turn_and_its_vector_is_cached(store, bgp_env):
    from background_pipelines.recall import api

    t = T0 + timedelta(days=40)
    ids = _pipeline(store, [
        ("w1", "dm-fay-luna", "f-1", "fay", "user", "How was your week?", t),
        ("w2", "dm-fay-luna", "f-1", "Luna", "character", "I adopted a kitten called Miso last weekend!", t + timedelta(minutes=1)),
        ("w3", "dm-fay-luna", "f-2", "fay", "user", "I work as a nurse at Saint Mary.", t + timedelta(days=2)),
    ])
    hits = recall("fay", "What is the name of Luna's kitten?", character="Luna", store=store, k=3)
    top = hits[0]
    assert top.id == ids["w2"] and top.speaker == "Luna" and "fact_vectors" in top.modes  # the character's fact, by vectors
    assert any(k[1].startswith("Luna") for k in api._fact_vec_cache)
