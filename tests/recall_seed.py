"""Seed data for the recall, forget and export tests: two users, two characters, messages, a summary,
facts (one job superseded), a small graph with one invalidated relation, vectors, scores, pins, ledger
and cache rows. Written with SQLAlchemy Core on the schema tables (the assets that fill them are
exercised in their own tests)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert, select

from background_pipelines.llm.embedders import HashingEmbedder
from background_pipelines.store.embeddings import save_embeddings
from background_pipelines.store.messages import insert_message_rows, message_row
from background_pipelines.store.schema import (
    entities,
    facts,
    ledger,
    llm_cache,
    message_scores,
    messages,
    pins,
    relations,
    relationship_scores,
    summaries,
)

T0 = datetime(2026, 10, 2, 9, 0, 0)
OLD_JOB_AT = datetime(2026, 10, 10)  # nurse then; pastry chef from 2026-10-20
JOB_CHANGE = datetime(2026, 10, 20, 9, 0, 0)

# (external id, session, author, author kind, text, created_at)
MESSAGES = [
    ("a1", "s-alice-luna", "alice", "user", "I just started a new job as a nurse at Saint Mary hospital", T0),
    ("a2", "s-alice-luna", "Luna", "character", "That sounds demanding but rewarding, Alice!", T0 + timedelta(minutes=1)),
    ("a3", "s-alice-luna", "alice", "user", "My sister Clara lives in Lisbon and paints azulejo tiles", T0 + timedelta(minutes=2)),
    ("a4", "s-alice-luna", "alice", "user", "I adopted a grey cat called Pixel last weekend", T0 + timedelta(minutes=3)),
    ("a5", "s-alice-rex", "alice", "user", "I quit the hospital; I work as a pastry chef at Bakery Lumiere now", JOB_CHANGE),
    ("a6", "s-alice-rex", "Rex", "character", "Croissants every morning then, Alice?", JOB_CHANGE + timedelta(minutes=1)),
    ("a7", "s-alice-rex", "alice", "user", "Please call me Ali, and keep answers short", JOB_CHANGE + timedelta(minutes=2)),
    ("b1", "s-bob-luna", "bob", "user", "I am a firefighter in Denver and I train every dawn", T0 + timedelta(hours=3)),
    ("b2", "s-bob-luna", "Luna", "character", "Stay safe out there, Bob.", T0 + timedelta(hours=3, minutes=1)),
    ("b3", "s-bob-luna", "bob", "user", "My dog Biscuit loves the snow in the Rockies", T0 + timedelta(hours=3, minutes=2)),
]


ALICE, BOB = "demo:alice", "demo:bob"  # user keys: platform "demo", the name standing in for the id


def seed(store) -> dict:
    """Fill every message-level table; returns ids by name (messages by external id, facts, ...)."""
    rows = [
        message_row(platform="demo", external_id=x, channel=f"dm-{s}", session=s, author=a, author_kind=k,
                    role="user" if k == "user" else "assistant", text=t, created_at=c)
        for x, s, a, k, t, c in MESSAGES
    ]
    with store.begin() as conn:
        insert_message_rows(conn, rows)
        mid = {x: i for x, i in conn.execute(select(messages.c.external_id, messages.c.id))}
        m = lambda *xs: [mid[x] for x in xs]  # noqa: E731
        conn.execute(insert(summaries), [
            dict(session="s-alice-luna", channel="dm-s-alice-luna", day="2026-10-02", first_message_id=mid["a1"],
                 last_message_id=mid["a4"], message_ids=m("a1", "a2", "a3", "a4"), participants=[ALICE, "Luna"],
                 text="Alice told Luna about her new nursing job at the hospital, her sister Clara in Lisbon and her cat Pixel.",
                 meaningfulness=4, status="kept", backend="offline", version="1", created_at=T0 + timedelta(hours=1)),
            dict(session="s-bob-luna", channel="dm-s-bob-luna", day="2026-10-02", first_message_id=mid["b1"],
                 last_message_id=mid["b3"], message_ids=m("b1", "b2", "b3"), participants=[BOB, "Luna"],
                 text="Bob, a firefighter in Denver, talked about training and his dog Biscuit.",
                 meaningfulness=3, status="kept", backend="offline", version="1", created_at=T0 + timedelta(hours=4)),
        ])
        sid = {s: i for s, i in conn.execute(select(summaries.c.session, summaries.c.id))}

        def fact(user, pred, obj, src, at, kind="fact"):
            # user_name: the user key (platform:id) every derived user column holds; subject: the name
            return dict(user_name=f"demo:{user}", kind=kind, subject=user, predicate=pred, object=obj, confidence=0.9, valid_from=at,
                        source_message_ids=src, day=at.strftime("%Y-%m-%d"), backend="offline", version="1",
                        run_id="run-facts-1", created_at=at)

        conn.execute(insert(facts), [
            fact("alice", "works_as", "nurse", m("a1"), T0),
            fact("alice", "sibling", "Clara", m("a3"), T0 + timedelta(minutes=2)),
            fact("alice", "has_pet", "cat Pixel", m("a4"), T0 + timedelta(minutes=3)),
            fact("alice", "works_as", "pastry chef", m("a5"), JOB_CHANGE),
            fact("alice", "preferred_name", "Ali", m("a7"), JOB_CHANGE, kind="preference"),
            fact("bob", "works_as", "firefighter", m("b1"), T0 + timedelta(hours=3)),
            fact("bob", "has_pet", "dog Biscuit", m("b3"), T0 + timedelta(hours=3)),
        ])
        fid = {(u.split(":", 1)[1], o): i for u, o, i in conn.execute(select(facts.c.user_name, facts.c.object, facts.c.id))}
        names = [("alice", "person"), ("nurse", "occupation"), ("pastry chef", "occupation"), ("Clara", "person"),
                 ("Lisbon", "place"), ("Pixel", "animal"), ("bob", "person"), ("firefighter", "occupation"),
                 ("Denver", "place"), ("Biscuit", "animal")]
        # a user's own entity is keyed by the account (type "user"); everything else by its normalised name
        users_ = {"alice": ALICE, "bob": BOB}
        conn.execute(insert(entities), [
            dict(name=n, norm=users_.get(n, n.lower()), type="user" if n in users_ else t, aliases=[],
                 created_at=T0, updated_at=T0) for n, t in names])
        eid = {n: i for n, i in conn.execute(select(entities.c.name, entities.c.id))}

        def rel(src, pred, dst, at, msgs, fs, invalidated=None):
            return dict(src_id=eid[src], predicate=pred, dst_id=eid[dst], weight=1.0, confidence=0.9, first_seen=at,
                        last_seen=at, valid_from=at, invalidated_at=invalidated, expired_at=None, inferred=False,
                        source_message_ids=msgs, source_fact_ids=fs)

        conn.execute(insert(relations), [
            rel("alice", "works_as", "nurse", T0, m("a1"), [fid[("alice", "nurse")]], invalidated=JOB_CHANGE),
            rel("alice", "works_as", "pastry chef", JOB_CHANGE, m("a5"), [fid[("alice", "pastry chef")]]),
            rel("alice", "sibling", "Clara", T0, m("a3"), [fid[("alice", "Clara")]]),
            rel("Clara", "lives_in", "Lisbon", T0, m("a3"), []),
            rel("alice", "has_pet", "Pixel", T0, m("a4"), [fid[("alice", "cat Pixel")]]),
            # bob's story cites alice's message too: forgetting alice trims it, bob's own message keeps it
            rel("bob", "works_as", "firefighter", T0, m("b1", "a1"), [fid[("bob", "firefighter")]]),
            rel("bob", "lives_in", "Denver", T0, m("b1"), []),
            rel("bob", "has_pet", "Biscuit", T0, m("b3"), [fid[("bob", "dog Biscuit")]]),
        ])
        conn.execute(insert(message_scores), [
            dict(message_id=i, importance=0.5, importance_class="signal", content_factor=0.5, activity_factor=0.5,
                 recency_factor=0.5, topic_factor=0.5, significance=2, backend="offline", version="1", created_at=T0)
            for i in mid.values()
        ])
        conn.execute(insert(pins), [
            dict(character="Luna", message_id=mid["a3"], kind="auto", pinned_at=T0),
            dict(character="Luna", message_id=mid["b3"], kind="auto", pinned_at=T0),
        ])
        conn.execute(insert(relationship_scores), [
            dict(user_name=u, character=c, familiarity=0.4, interactions=3, sessions=1, first_interaction=T0,
                 last_interaction=T0, updated_at=T0)
            for u, c in [(ALICE, "Luna"), (ALICE, "Rex"), (BOB, "Luna")]
        ])
        conn.execute(insert(ledger), [
            dict(stage=stage, item=item, version="1", status="done", attempts=1, error=None, run_id="r1", updated_at=T0)
            for stage, item in [("message_scores", str(i)) for i in mid.values()]
            + [("session_summaries", "s-alice-luna"), ("session_summaries", "s-bob-luna"),
               ("extracted_facts", "2026-10-02"), ("relationship_scores", f"{ALICE}|Luna"), ("relationship_scores", f"{BOB}|Luna")]
        ])
        conn.execute(insert(llm_cache), [
            dict(key="k-alice", model="m", task="extract_facts", response='{"facts": [{"object": "nurse at Saint Mary hospital"}], "user": "alice"}',
                 prompt_tokens=10, completion_tokens=5, created_at=T0),
            dict(key="k-bob", model="m", task="extract_facts", response='{"facts": [{"object": "firefighter in Denver"}]}',
                 prompt_tokens=10, completion_tokens=5, created_at=T0),
        ])
    emb = HashingEmbedder()
    msg_ids = sorted(mid.values())
    texts = {i: t for (x, *_r), i in ((r, mid[r[0]]) for r in MESSAGES) for t in [dict((x_, t_) for x_, _, _, _, t_, _ in MESSAGES)[x]]}
    save_embeddings(store, "message", msg_ids, emb.encode([texts[i] for i in msg_ids]), emb.model_id)
    with store.connect() as conn:
        srows = conn.execute(select(summaries.c.id, summaries.c.text).order_by(summaries.c.id)).all()
    save_embeddings(store, "summary", [r[0] for r in srows], emb.encode([r[1] for r in srows]), emb.model_id)
    return {"messages": mid, "summaries": sid, "facts": fid, "entities": eid}
