"""A generated history for the order-independence property test, the day runner its worker processes
call (stage by stage, in the phases the assets' partition mappings order), and a snapshot of the
derived tables keyed by natural keys (never by autoincrement ids)."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta

from sqlalchemy import select

from background_pipelines.store import open_store
from background_pipelines.store.messages import insert_message_rows, message_row
from background_pipelines.store.schema import (
    diaries, dreams, drift_observations, entities, facts, goal_strategies, message_scores, pins, reflections, relations, summaries,
)

CHARACTER = "Nova"
NIGHT_CHARACTER = "Mika"  # in America/Los_Angeles: its local evening falls on the next UTC day
SUMMARY_THRESHOLD = 6  # the test's SUMMARY_MESSAGE_THRESHOLD: generated sessions cross it
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
    if rng.random() < 0.5:  # a place in passing: a topic once a later day's fact names it (the topic factor)
        out.append(f"A friend sent me photos from {rng.choice(CITIES + ORGS)} today.")
    rng.shuffle(out)
    return out


def _pair(rows: list[dict], name: str, character: str, session: str, key: str, text: str, reply: str, at: datetime) -> None:
    for role, author, kind, line in (("user", name, "user", text), ("assistant", character, "character", reply)):
        rows.append(message_row(
            platform="gen", external_id=f"{key}-{role}", channel=f"dm-{name}-{character}", session=session,
            author=author, author_kind=kind, role=role, text=line, created_at=at,
        ))
        at += timedelta(minutes=1)


def generate_history(seed: int = 14, days: int = 6, users: int = 6, start: str = "2026-11-01") -> tuple[list[str], list[dict]]:
    """(days, message rows): each user talks with Nova every day, two sessions a day; on alternate
    nights a session with Nova runs past midnight (its first day at or below the summary threshold),
    and the first three users talk with Mika in the UTC small hours (Mika's local evening)."""
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
                _pair(rows, name, CHARACTER, f"{name}-{day}-{i % 2}", f"{name}-{day}-{i}", text, "Tell me more.", at)
                at += timedelta(minutes=2 + 2 * rng.randrange(5))
            if u < 3:  # with Mika at 03:00 UTC: 19:00 the evening before in Los Angeles
                at = datetime.fromisoformat(day) + timedelta(hours=3, minutes=10 * u)
                for i, text in enumerate(_statements(rng, states[name])):
                    _pair(rows, name, NIGHT_CHARACTER, f"mika-{name}-{day}", f"mika-{name}-{day}-{i}", text, "Oh? Go on.", at)
                    at += timedelta(minutes=3)
            if (d + u) % 2 == 0 and d + 1 < len(day_keys):  # past midnight: 2..4 pairs before, the rest after
                before = 2 + (u % 3)
                at = datetime.fromisoformat(day_keys[d + 1]) - timedelta(minutes=4 * before)
                lines = _statements(rng, states[name]) + _statements(rng, states[name]) + _statements(rng, states[name])
                for i, text in enumerate(lines[:before + 4]):
                    _pair(rows, name, CHARACTER, f"night-{name}-{day}", f"night-{name}-{day}-{i}", text, "Still awake?", at)
                    at += timedelta(minutes=4)
    return day_keys, rows


def load_history(url: str, rows: list[dict]) -> None:
    store = open_store(url)
    try:
        with store.begin() as conn:
            insert_message_rows(conn, rows)
    finally:
        store.engine.dispose()


PHASES = ("knowledge", "messages", "reflections", "character")


def register_characters(url: str) -> None:
    from background_pipelines.characters_yaml import set_character

    store = open_store(url)
    try:
        set_character(store, CHARACTER, persona="A curious night owl.", voice="warm, short sentences", timezone="UTC",
                      goals=["learn what each user does for work", "help users feel heard"])
        set_character(store, NIGHT_CHARACTER, persona="A calm listener.", voice="gentle", timezone="America/Los_Angeles",
                      goals=["remember where each user lives"])
    finally:
        store.engine.dispose()


def _steps(phase: str, store, gateway, settings):
    """The engine calls of one phase, each taking one day: the stages of one partition of the assets
    whose partition mappings put them in this phase (a later phase reads earlier days of an earlier one)."""
    from background_pipelines.character import diaries, dreams, drift, goals, reflections as refl
    from background_pipelines.cognition.facts import extract_facts
    from background_pipelines.cognition.graph import update_knowledge_graph
    from background_pipelines.cognition.scoring import score_messages
    from background_pipelines.cognition.summaries import summarize_sessions
    from background_pipelines.llm import get_embedder

    if phase == "knowledge":
        return [(f.__name__, lambda d, f=f: f(store, gateway, settings, d)) for f in (extract_facts, update_knowledge_graph)]
    if phase == "messages":  # scores read earlier days' facts; summaries read only their messages
        return [(f.__name__, lambda d, f=f: f(store, gateway, settings, d)) for f in (score_messages, summarize_sessions)]
    if phase == "reflections":
        return [("reflect_on_users", lambda d: refl.reflect_on_users(store, gateway, d))]
    embedder = get_embedder(settings)
    return [(f.__name__, lambda d, f=f: f(store, gateway, d)) for f in (diaries.write_diaries, dreams.write_dreams, goals.plan_goal_strategies)] + [
        ("observe_drift", lambda d: drift.observe_drift(store, embedder, d, threshold=settings.drift_threshold, baseline_days=settings.drift_baseline_days)),
    ]


def process_days(url: str, days: list[str], phases: tuple[str, ...] = PHASES, ranged: bool = False) -> list[str]:
    """Run the stages of `phases` for `days` (phase by phase, days in the given order; `ranged`: each
    stage once over the whole range, as a single-run backfill), in this process, as one Dagster step
    per stage would; returns the errors (empty when every step succeeded, and a step whose result
    counts failed items is an error too)."""
    from background_pipelines.config import Settings
    from background_pipelines.llm import Gateway

    settings = Settings.from_env()
    store = open_store(url)
    errors = []
    try:
        gateway = Gateway.from_settings(settings, store)
        for phase in phases:
            steps = _steps(phase, store, gateway, settings)
            for day in ([days] if ranged else [[d] for d in days]):
                for name, step in steps:
                    try:
                        result = step(day)
                    except Exception as exc:  # reported to the test, which fails on any
                        errors.append(f"{name} {day}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
                        continue
                    if getattr(result, "failed", 0) or getattr(result, "pending", 0):
                        errors.append(f"{name} {day}: {result.failed} failed, {result.pending} pending: {getattr(result, 'errors', [])[:2]}")
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
            tables = {t.name: [dict(r._mapping) for r in conn.execute(select(t))]
                      for t in (summaries, reflections, diaries, dreams, goal_strategies, drift_observations, message_scores, pins)}
    finally:
        store.engine.dispose()
    fact_key = {f["id"]: (f["user_name"], f["kind"], f["predicate"], f["object"], f["valid_from"].isoformat()) for f in fact_rows}
    norm = {e["id"]: e["norm"] for e in ent_rows}
    summary_key = {s["id"]: (s["session"], s["last_message_id"]) for s in tables["summaries"]}

    def natural(table: str, row: dict) -> tuple:
        """The row without ids, run ids and timestamps, its id lists mapped to natural keys."""
        out = []
        for k in sorted(row):
            v = row[k]
            if k in _VOLATILE:
                continue
            if k in ("source_summary_ids", "summary_ids"):
                v = tuple(summary_key[i] for i in v or [])
            elif k in ("through_summary_id", "previous_id"):
                v = summary_key.get(v) if v is not None else None
            elif k == "source_fact_ids":
                v = tuple(sorted(fact_key[i] for i in v or []))
            elif isinstance(v, float):
                v = round(v, 4)
            elif isinstance(v, (dict, list)):
                v = json.dumps(v, sort_keys=True, default=str)
            out.append((k, v))
        return tuple(out)

    snap: dict[str, object] = {
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
        "summaries": {summary_key[r["id"]]: natural("summaries", r) for r in tables["summaries"]},
        "reflections": {(r["user_name"], summary_key[r["through_summary_id"]]): natural("reflections", r) for r in tables["reflections"]},
    }
    for name in ("diaries", "dreams", "goal_strategies", "drift_observations"):
        snap[name] = {(r["character"], r["day"]): natural(name, r) for r in tables[name]}
    snap["message_scores"] = {r["message_id"]: natural("message_scores", r) for r in tables["message_scores"]}  # ids: one load
    snap["pins"] = {(r["character"], r["message_id"]): (r["kind"], r["unpinned_at"] is None) for r in tables["pins"]}
    return snap


_VOLATILE = {"id", "run_id", "created_at", "updated_at", "material_hash", "pinned_at", "unpinned_at"}  # material_hash hashes row ids
