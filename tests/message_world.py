"""A small, deterministic conversation world for the message-level tests: two users talking with the
character Nova over three days, with planted facts (a job change, one employer written two ways,
a pet, a move, preferences) and more life events than the auto-pin cap."""

from __future__ import annotations

from datetime import datetime, timedelta

from background_pipelines.store.messages import insert_message_rows, message_row, upsert_characters

DAYS = ["2026-11-01", "2026-11-02", "2026-11-03"]
CHARACTER = "Nova"

FILLER = [
    "haha yes",
    "ok sounds good",
    "What did you have for dinner?",
    "The weather was grey all day.",
    "I watched a documentary about octopuses last night, they are clever.",
    "Tell me more about that.",
    "hmm not sure",
    "We should plan the weekend soon.",
]

# (day, user, text): what the tests look for
PLANTED = [
    ("2026-11-01", "alice", "I work at Acme Corp as a data analyst."),
    ("2026-11-01", "alice", "My dog Biscuit chewed my shoes again."),
    ("2026-11-01", "alice", "Please keep it short, and no emojis."),
    ("2026-11-01", "bob", "I live in Lisbon and I love surfing."),
    ("2026-11-02", "alice", "Work at ACME Corporation was stressful today."),
    ("2026-11-02", "alice", "I work at ACME Corporation, the analytics team is tiny."),
    ("2026-11-02", "bob", "My grandmother passed away this morning, I am devastated."),
    ("2026-11-03", "alice", "Big news: I just started a new job at Globex Corporation!"),
    ("2026-11-03", "bob", "I moved to Porto last week, new apartment and everything."),
]

LIFE_EVENTS = [
    "My sister had a baby, I am an uncle now!",
    "I got promoted to senior engineer today.",
    "I broke up with Sam after four years.",
    "My dad was diagnosed with diabetes.",
    "We are moving to a new house next month.",
    "I graduated from the night school program.",
    "My best friend got married on Saturday.",
    "I lost my job at the bakery.",
    "My cat passed away last night.",
    "I got engaged to Robin!",
]


def world_rows(days: list[str] = DAYS, per_session: int = 12) -> list[dict]:
    """Message rows: per day and user one session with Nova; bob's day-1 session also carries the
    life events (all significance 3)."""
    rows = []
    n = 0
    for d_i, day in enumerate(days):
        base = datetime.fromisoformat(day) + timedelta(hours=9)
        for u_i, user in enumerate(("alice", "bob")):
            session = f"{user}-{day}"
            planted = [t for d, u, t in PLANTED if d == day and u == user]
            if user == "bob" and day == days[0]:
                planted = planted + LIFE_EVENTS
            lines = []
            for k in range(per_session):
                if k % 2 == 0:
                    text = planted[k // 2] if k // 2 < len(planted) else FILLER[(k + d_i + u_i) % len(FILLER)]
                    lines.append((user, "user", "user", text))
                else:
                    lines.append((CHARACTER, "character", "assistant", FILLER[(k * 3 + u_i) % len(FILLER)]))
            for author, kind, role, text in lines + [(user, "user", "user", t) for t in planted[per_session // 2 :]]:
                n += 1
                rows.append(
                    message_row(
                        platform="test",
                        external_id=f"m{n}",
                        channel=f"dm-{user}",
                        session=session,
                        author=author,
                        author_kind=kind,
                        role=role,
                        text=text,
                        created_at=base + timedelta(hours=u_i * 3, minutes=n),
                    )
                )
    return rows


def load_world(store, days: list[str] = DAYS) -> int:
    upsert_characters(store, [{"name": CHARACTER, "persona": "a curious companion"}])
    with store.begin() as conn:
        return insert_message_rows(conn, world_rows(days))
