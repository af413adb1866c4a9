"""A small synthetic week for the character-cognition tests: three characters in three timezones, four
users, scored messages, kept summaries, facts, pins and relationship scores, written straight into the
store's tables (what the message-level assets would have produced).

Who knows whom: Aria (Europe/Berlin) talks with Bob and Carol; Rex (America/New_York) with Bob and
Dana; Mika (Asia/Tokyo) only with Eve. On the first day Bob tells Aria his mother passed away
(significance 3): Rex knows Bob, Mika has never met him.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import insert, select

from background_pipelines.store.ledger import utcnow
from background_pipelines.store.messages import insert_message_rows, message_row, upsert_characters
from background_pipelines.store.schema import facts, message_scores, messages, pins, relationship_scores, summaries

START = "2026-10-05"  # a Monday

CHARACTERS = [
    dict(
        name="Aria",
        persona="A warm, curious barista who writes poetry on napkins.",
        voice="gentle and poetic, an emoji now and then",
        timezone="Europe/Berlin",
        goals=["Help Bob feel confident about his nursing job", "Find out which music Carol loves"],
    ),
    dict(
        name="Rex",
        persona="A gruff retired sea captain.",
        voice="terse, dry, short sentences",
        timezone="America/New_York",
        goals=["Get Dana to try sailing"],
    ),
    dict(name="Mika", persona="An upbeat study buddy.", voice="lowercase, lots of emoji, exclamation marks", timezone="Asia/Tokyo", goals=[]),
]

# (session suffix, channel, character, user, UTC hour, lines as (author_kind, text, significance))
_BOB = [
    ("user", "Morning Aria. Rough night, honestly.", 1),
    ("character", "Oh Bob, I'm here. What happened?", 0),
    ("user", "My mother passed away last night. I still can't believe it.", 3),
    ("character", "I'm so sorry, Bob. Do you want to tell me about her?", 0),
    ("user", "She taught me to bake bread. I work as a nurse and I'm so tired.", 2),
    ("character", "Bread and care. She gave you a lot.", 0),
]
_BOB_LATER = [
    ("user", "Back at the hospital shift today, the night shift is long.", 1),
    ("character", "How are you holding up at work?", 0),
    ("user", "Better. My colleagues brought coffee and I felt grateful.", 2),
    ("character", "That sounds kind. Coffee helps.", 0),
]
_CAROL = [
    ("user", "I found an old jazz record at the market! Had a coffee there too.", 2),
    ("character", "Jazz! Which one?", 0),
    ("user", "Coltrane. I love jazz on rainy evenings.", 2),
    ("character", "Rainy evenings and jazz, perfect.", 0),
]
_DANA = [
    ("user", "Rex, I'm anxious about the exam on Friday.", 2),
    ("character", "Exams pass. Tides too.", 0),
    ("user", "Maybe sailing would calm me down, I've never tried it.", 1),
    ("character", "Come to the harbour Saturday.", 0),
]
_REX_BOB = [
    ("user", "Hey Rex, long week.", 0),
    ("character", "Aye. Sit.", 0),
]
_EVE = [
    ("user", "mika I passed my chemistry quiz", 2),
    ("character", "yay eve!! so proud of you", 0),
    ("user", "studying the periodic table next, it's hard", 1),
    ("character", "we can do flashcards together!", 0),
]


def _day(offset: int) -> date:
    return date.fromisoformat(START) + timedelta(days=offset)


def key(user: str) -> str:
    """The user key of a test user: derived rows name users by key (platform "test", the name as id)."""
    return f"test:{user}"


def add_session(store, session: str, channel: str, character: str, user: str, at: datetime, lines, *, kept: bool = True, summary: str | None = None) -> list[int]:
    """Write one session (messages one minute apart), its scores and a summary; returns message ids."""
    rows = []
    for i, (kind, text, _sig) in enumerate(lines):
        author = user if kind == "user" else character
        rows.append(
            message_row(
                platform="test", external_id=f"{session}-{i}", channel=channel, session=session, author=author,
                author_kind=kind, role="user" if kind == "user" else "assistant", text=text,
                created_at=at + timedelta(minutes=i),
            )
        )
    with store.begin() as conn:
        insert_message_rows(conn, rows)
        ids = list(
            conn.execute(select(messages.c.id).where(messages.c.session == session).order_by(messages.c.created_at, messages.c.id)).scalars()
        )
        now = utcnow()
        conn.execute(
            insert(message_scores),
            [
                dict(
                    message_id=mid, importance=0.3 + 0.2 * sig, importance_class="signal" if sig >= 2 else "weak_signal",
                    content_factor=0.5, activity_factor=0.5, recency_factor=1.0, topic_factor=0.5, significance=sig,
                    backend="offline", version="test", created_at=now,
                )
                for mid, (_k, _t, sig) in zip(ids, lines)
            ],
        )
        if summary is not None:
            conn.execute(
                insert(summaries),
                dict(
                    session=session, channel=channel, day=rows[-1]["day"], first_message_id=ids[0], last_message_id=ids[-1],
                    message_ids=ids, participants=[key(user), character], text=summary, meaningfulness=4 if kept else 1,
                    status="kept" if kept else "discarded", previous_id=None, backend="offline", version="test", created_at=now,
                ),
            )
    return ids


def add_fact(store, user: str, predicate: str, obj: str, source_ids: list[int], at: datetime, kind: str = "fact") -> None:
    with store.begin() as conn:
        conn.execute(
            insert(facts),
            dict(
                user_name=key(user), kind=kind, subject=user, predicate=predicate, object=obj, confidence=0.9, valid_from=at,
                source_message_ids=source_ids, day=at.strftime("%Y-%m-%d"), backend="offline", version="test", run_id=None,
                created_at=utcnow(),
            ),
        )


def add_relationship(store, user: str, character: str, first: datetime) -> None:
    with store.begin() as conn:
        conn.execute(
            insert(relationship_scores),
            dict(user_name=key(user), character=character, familiarity=0.5, interactions=4, sessions=1, first_interaction=first,
                 last_interaction=first, updated_at=utcnow()),
        )


def build_week(store, days: int = 7) -> dict:
    """The synthetic week; returns {"days": [...], "active": {day: set(characters)}, "bob_loss_id": id}."""
    upsert_characters(store, CHARACTERS)
    active: dict[str, set[str]] = {}
    bob_loss_id = None
    for offset in range(days):
        d = _day(offset)
        key = d.isoformat()
        noon = datetime.combine(d, datetime.min.time())
        active[key] = set()
        # Aria and Bob at 10:00 UTC (12:00 in Berlin) every day.
        lines = _BOB if offset == 0 else _BOB_LATER
        summary = (
            "Bob told Aria that his mother passed away; she taught him to bake bread. Aria comforted him."
            if offset == 0
            else "Bob talked with Aria about his night shift at the hospital and felt grateful for his colleagues."
        )
        ids = add_session(store, f"aria-bob-{key}", "cafe", "Aria", "Bob", noon + timedelta(hours=10), lines, summary=summary)
        active[key].add("Aria")
        if offset == 0:
            bob_loss_id = ids[2]
            add_fact(store, "Bob", "works_as", "a nurse", [ids[4]], noon + timedelta(hours=10, minutes=4))
            with store.begin() as conn:
                conn.execute(insert(pins), dict(character="Aria", message_id=ids[2], kind="auto", pinned_at=noon + timedelta(hours=10)))
        # Aria and Carol every other day.
        if offset % 2 == 0:
            cids = add_session(
                store, f"aria-carol-{key}", "cafe", "Aria", "Carol", noon + timedelta(hours=14), _CAROL,
                summary="Carol showed Aria a Coltrane jazz record from the market over coffee; she loves jazz on rainy evenings.",
            )
            if offset == 0:
                add_fact(store, "Carol", "likes", "jazz", [cids[2]], noon + timedelta(hours=14, minutes=2), kind="preference")
        # Rex and Dana at 15:00 UTC (11:00 in New York) on weekdays.
        if d.weekday() < 5:
            add_session(
                store, f"rex-dana-{key}", "harbour", "Rex", "Dana", noon + timedelta(hours=15), _DANA,
                summary="Dana told Rex she is anxious about an exam and might try sailing; Rex invited her to the harbour.",
            )
            active[key].add("Rex")
        # Mika and Eve at 02:00 UTC (11:00 in Tokyo).
        add_session(
            store, f"mika-eve-{key}", "study", "Mika", "Eve", noon + timedelta(hours=2), _EVE,
            summary="Eve passed her chemistry quiz and Mika offered flashcards for the periodic table.",
        )
        active[key].add("Mika")
    # Rex met Bob a week before the story starts; relationship scores as the message-level assets keep them.
    before = datetime.combine(_day(-7), datetime.min.time()) + timedelta(hours=16)
    add_session(store, "rex-bob-earlier", "harbour", "Rex", "Bob", before, _REX_BOB, summary=None)
    first = datetime.combine(_day(0), datetime.min.time())
    add_relationship(store, "Bob", "Aria", first)
    add_relationship(store, "Carol", "Aria", first)
    add_relationship(store, "Bob", "Rex", before)
    add_relationship(store, "Dana", "Rex", first)
    add_relationship(store, "Eve", "Mika", first)
    return {"days": [_day(i).isoformat() for i in range(days)], "active": active, "bob_loss_id": bob_loss_id}
