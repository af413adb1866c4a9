"""A generated history for the order-independence property test, the day runner its worker processes
call, and a snapshot of the derived tables keyed by natural keys (never by autoincrement ids)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from background_pipelines.store import open_store
from background_pipelines.store.messages import insert_message_rows, message_row
from background_pipelines.store.schema import entities, facts, relations

CHARACTER = "Nova"
ORGS = ["Initech", "Globex Corporation", "Acme Corp", "Umbrella Labs", "Hooli"]
ORG_FORMS = {"Acme Corp": ["ACME Corporation", "Acme"], "Globex Corporation": ["Globex"]}
CITIES = ["New York City", "San Francisco", "Lisbon", "Porto", "Berlin"]
ABBREVIATIONS = {"New York City": "NYC", "San Francisco": "SF"}
JOBS = ["nurse", "architect", "teacher", "engineer", "designer"]
PARTNERS = ["Robin", "Sam", "Alex", "Jordan"]
LIKES = ["surfing", "jazz", "board games", "hiking", "sourdough baking"]


def _statements(rng: random.Random, state: dict) -> list[str]:
    """What one user says in a day: re-mentions of the current job and city, sometimes a change, a
    written-another-way name, an abbreviation, a partner or a breakup, a like."""
    out = []
    if rng.random() < 0.3:
        state["org"] = rng.choice(ORGS)
    org = state["org"]
    out.append(f"I work at {rng.choice([org, *ORG_FORMS.get(org, [])])} these days.")
    if rng.random() < 0.25:
        state["job"] = rng.choice(JOBS)
    out.append(f"I work as a {state['job']}.")
    if rng.random() < 0.2:
        state["city"] = rng.choice(CITIES)
    city = state["city"]
    out.append(f"I live in {ABBREVIATIONS[city] if city in ABBREVIATIONS and rng.random() < 0.4 else city}.")
    r = rng.random()
    if r < 0.15 and state.get("partner"):
        out.append(f"I just broke up with {state['partner']}.")
        state["partner"] = None
    elif r < 0.4:
        state["partner"] = state.get("partner") or rng.choice(PARTNERS)
        out.append(f"My girlfriend is {state['partner']}.")
    if rng.random() < 0.5:
        out.append(f"I really love {rng.choice(LIKES)}.")
    rng.shuffle(out)
    return out


def generate_history(seed: int = 14, days: int = 6, users: int = 6, start: str = "2026-11-01") -> tuple[list[str], list[dict]]:
    """(days, message rows): each user talks with Nova every day, two sessions a day."""
    rng = random.Random(seed)
    first = datetime.fromisoformat(start)
    day_keys = [(first + timedelta(days=d)).date().isoformat() for d in range(days)]
    names = [f"user{u:02d}" for u in range(users)]
    states = {n: {"org": rng.choice(ORGS), "job": rng.choice(JOBS), "city": rng.choice(CITIES)} for n in names}
    rows: list[dict] = []
    for d, day in enumerate(day_keys):
        for u, name in enumerate(names):
            said = _statements(rng, states[name])
            at = datetime.fromisoformat(day) + timedelta(hours=8 + u, minutes=rng.randrange(30))
            for i, text in enumerate(said):
                session = f"{name}-{day}-{i % 2}"
                for role, author, kind, line in (("user", name, "user", text), ("assistant", CHARACTER, "character", "Tell me more.")):
                    rows.append(message_row(
                        platform="gen", external_id=f"{name}-{day}-{i}-{role}", channel=f"dm-{name}", session=session,
                        author=author, author_kind=kind, role=role, text=line, created_at=at,
                    ))
                    at += timedelta(minutes=1 + rng.randrange(5))
    return day_keys, rows


def load_history(url: str, rows: list[dict]) -> None:
    store = open_store(url)
    try:
        with store.begin() as conn:
            insert_message_rows(conn, rows)
    finally:
        store.engine.dispose()


def process_days(url: str, days: list[str]) -> list[str]:
    """Run the knowledge stages (facts, then graph) for `days` in that order, in this process, as
    one Dagster step per stage would; returns the errors (empty when every step succeeded)."""
    from background_pipelines.cognition.facts import extract_facts
    from background_pipelines.cognition.graph import update_knowledge_graph
    from background_pipelines.config import Settings
    from background_pipelines.llm import Gateway

    settings = Settings.from_env()
    store = open_store(url)
    errors = []
    try:
        gateway = Gateway.from_settings(settings, store)
        for day in days:
            for step in (extract_facts, update_knowledge_graph):
                try:
                    step(store, gateway, settings, day)
                except Exception as exc:  # reported to the test, which fails on any
                    errors.append(f"{step.__name__} {day}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        store.engine.dispose()
    return errors


def snapshot(url: str) -> dict[str, object]:
    """The derived tables, each row keyed by its natural key and with ids replaced by natural keys."""
    store = open_store(url)
    try:
        with store.connect() as conn:
            fact_rows = [dict(r._mapping) for r in conn.execute(select(facts))]
            ent_rows = [dict(r._mapping) for r in conn.execute(select(entities))]
            rel_rows = [dict(r._mapping) for r in conn.execute(select(relations))]
    finally:
        store.engine.dispose()
    fact_key = {f["id"]: (f["user_name"], f["kind"], f["predicate"], f["object"], f["valid_from"].isoformat()) for f in fact_rows}
    norm = {e["id"]: e["norm"] for e in ent_rows}
    return {
        "facts": {
            fact_key[f["id"]]: (f["subject"], round(f["confidence"], 4), tuple(sorted(f["source_message_ids"])), f["day"], f.get("ended"))
            for f in fact_rows
        },
        "entities": {e["norm"]: (e["name"], e["type"], tuple(sorted(e["aliases"] or []))) for e in ent_rows},
        "relations": {
            (norm.get(r["src_id"]), r["predicate"], norm.get(r["dst_id"]), r["valid_from"].isoformat()): (
                r["weight"], round(r["confidence"], 4), r["first_seen"].isoformat(), r["last_seen"].isoformat(),
                r["invalidated_at"].isoformat() if r["invalidated_at"] else None, r["expired_at"], r["inferred"],
                tuple(sorted(r["source_message_ids"])), tuple(sorted(fact_key[i] for i in r["source_fact_ids"])),
            )
            for r in rel_rows
        },
    }
