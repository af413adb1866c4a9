"""SQL for character cognition: owner of diaries, dreams, goal_strategies, reflections, insights,
drift_observations, gossip and channel_summaries, and the reads those steps make of the message-level
tables (messages, message_scores, pins, summaries, facts, relationship_scores)."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Sequence

from sqlalchemy import String, Table, cast, func, select

from background_pipelines.store import ledger as ledger_store
from background_pipelines.store.engine import Store, upsert
from background_pipelines.store.ledger import utcnow
from background_pipelines.store.pins import AUTO_PIN_CAP
from background_pipelines.store.schema import (
    channel_summaries,
    characters,
    diaries,
    dreams,
    drift_observations,
    facts,
    goal_strategies,
    gossip,
    insights,
    ledger as ledger_table,
    message_scores,
    messages,
    pins,
    reflections,
    relationship_scores,
    summaries,
    users,
)

_CHUNK = 500

# Tables holding one row per (character, local day); reruns update them in place.
CHARACTER_DAY_TABLES: dict[str, Table] = {
    "diaries": diaries,
    "dreams": dreams,
    "goal_strategies": goal_strategies,
    "insights": insights,
    "drift_observations": drift_observations,
}

# Every table of this module and the JSON column listing the messages each row rests on.
SOURCE_COLUMNS: dict[str, str] = {
    "diaries": "source_message_ids",
    "dreams": "source_message_ids",
    "goal_strategies": "source_message_ids",
    "reflections": "source_message_ids",
    "insights": "source_message_ids",
    "drift_observations": "source_message_ids",
    "gossip": "source_message_ids",
    "channel_summaries": "source_message_ids",
}
TABLES_OWNED = tuple(SOURCE_COLUMNS)


def table_of(table_name: str) -> Table:
    """One of this module's tables by name."""
    return {**CHARACTER_DAY_TABLES, "reflections": reflections, "gossip": gossip, "channel_summaries": channel_summaries}[
        table_name
    ]


def _chunks(items: Sequence, size: int = _CHUNK):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def id_list(value) -> list[int]:
    """A JSON id list as ints (tolerates None and string ids)."""
    return [int(v) for v in (value or [])]


# -- characters and who met whom ---------------------------------------------------------------


def character_profiles(store: Store) -> dict[str, dict]:
    """{name: characters row} of every registered character."""
    with store.connect() as conn:
        return {r.name: dict(r._mapping) for r in conn.execute(select(characters).order_by(characters.c.name))}


def character_authors_between(store: Store, start: datetime, end: datetime) -> set[str]:
    """Names of characters that wrote a message in [start, end)."""
    q = select(messages.c.author).distinct().where(
        messages.c.author_kind == "character", messages.c.created_at >= start, messages.c.created_at < end
    )
    with store.connect() as conn:
        return set(conn.execute(q).scalars())


def character_sessions(store: Store, character: str, start: datetime, end: datetime) -> list[str]:
    """Sessions in which `character` wrote in [start, end), in order of its first message there."""
    q = (
        select(messages.c.session, func.min(messages.c.created_at).label("first"))
        .where(messages.c.author == character, messages.c.author_kind == "character")
        .where(messages.c.created_at >= start, messages.c.created_at < end)
        .group_by(messages.c.session)
        .order_by("first", messages.c.session)
    )
    with store.connect() as conn:
        return [r.session for r in conn.execute(q)]


def unscored_between(store: Store, sessions: Sequence[str], start: datetime, end: datetime) -> int:
    """Messages of `sessions` in [start, end) the score stage has not reached yet: no score row and no
    failed score in the ledger (a western local day ends in the next UTC day, scored by its own run)."""
    failed = select(ledger_table.c.item).where(
        ledger_table.c.stage == "score", ledger_table.c.status == ledger_store.FAILED
    )
    n = 0
    with store.connect() as conn:
        for chunk in _chunks(list(sessions)):
            q = (
                select(func.count())
                .select_from(messages.outerjoin(message_scores, message_scores.c.message_id == messages.c.id))
                .where(messages.c.session.in_(chunk), messages.c.created_at >= start, messages.c.created_at < end)
                .where(message_scores.c.message_id.is_(None))
                .where(cast(messages.c.id, String).not_in(failed))
            )
            n += conn.execute(q).scalar_one()
    return n


def session_messages(store: Store, sessions: Sequence[str], start: datetime, end: datetime) -> list[dict]:
    """Messages of `sessions` in [start, end), oldest first, with their significance (None if unscored)."""
    out: list[dict] = []
    with store.connect() as conn:
        for chunk in _chunks(list(sessions)):
            q = (
                select(
                    messages.c.id, messages.c.session, messages.c.channel, messages.c.author, messages.c.author_kind,
                    messages.c.author_name, messages.c.text, messages.c.created_at, message_scores.c.significance,
                    message_scores.c.importance,
                )
                .select_from(messages.outerjoin(message_scores, message_scores.c.message_id == messages.c.id))
                .where(messages.c.session.in_(chunk), messages.c.created_at >= start, messages.c.created_at < end)
            )
            out.extend(dict(r._mapping) for r in conn.execute(q))
    out.sort(key=lambda m: (m["created_at"], m["id"]))
    return out


def active_pins(store: Store, character: str, message_ids: Iterable[int], as_of: datetime | None = None) -> set[int]:
    """Which of `message_ids` `character` holds pinned (not unpinned). With `as_of` (a day's end),
    the pins as they stood then: manual pins held now, and the AUTO_PIN_CAP newest auto-pins pinned
    before `as_of` (the cap evicts the oldest), whatever later days have pinned since, so a character
    day reads the same pins whether later days were scored before it or not."""
    ids = sorted(set(message_ids))
    found: set[int] = set()
    with store.connect() as conn:
        if as_of is not None:
            q = (select(pins.c.message_id, pins.c.kind, pins.c.unpinned_at)
                 .where(pins.c.character == character, pins.c.pinned_at < as_of)
                 .order_by(pins.c.pinned_at.desc(), pins.c.message_id.desc()))
            autos = 0
            held: set[int] = set()
            for mid, kind, unpinned in conn.execute(q):
                if kind == "manual":
                    if unpinned is None:
                        held.add(mid)
                elif autos < AUTO_PIN_CAP:
                    autos += 1
                    held.add(mid)
            return held & set(ids)
        for chunk in _chunks(ids):
            found.update(
                conn.execute(
                    select(pins.c.message_id).where(
                        pins.c.character == character, pins.c.unpinned_at.is_(None), pins.c.message_id.in_(chunk)
                    )
                ).scalars()
            )
    return found


def summary_order(s: dict) -> tuple:
    """Oldest first by what a summary covers (its day, then its last message), never by row id: ids
    follow the order runs wrote them in, which differs between a backfill and a day-by-day run."""
    return (s["day"], s["last_message_id"], s["session"])


def fact_order(f: dict) -> tuple:
    """Oldest first by the fact's own day, validity and content, never by row id (see summary_order)."""
    return (f["day"], f["valid_from"], f["user_name"], f["kind"], f["predicate"], f["object"])


def kept_summaries_for_sessions(store: Store, sessions: Sequence[str], through_day: str | None = None) -> list[dict]:
    """Kept summaries of `sessions` (of UTC days <= `through_day`), oldest first (the caller keeps
    those overlapping its messages)."""
    out: list[dict] = []
    with store.connect() as conn:
        for chunk in _chunks(list(sessions)):
            q = select(summaries).where(summaries.c.session.in_(chunk), summaries.c.status == "kept")
            if through_day:
                q = q.where(summaries.c.day <= through_day)
            out.extend(dict(r._mapping) for r in conn.execute(q))
    out.sort(key=summary_order)
    return out


def facts_for_users(store: Store, user_names: Sequence[str], days: Sequence[str]) -> list[dict]:
    """Facts about `user_names` recorded on `days` (UTC message days), oldest first."""
    if not user_names or not days:
        return []
    out: list[dict] = []
    with store.connect() as conn:
        for chunk in _chunks(sorted(set(user_names))):
            q = select(facts).where(facts.c.user_name.in_(chunk), facts.c.day.in_(sorted(set(days))))
            out.extend(dict(r._mapping) for r in conn.execute(q))
    out.sort(key=fact_order)
    return out


def facts_of_user(store: Store, user_name: str, through_day: str, limit: int = 200) -> list[dict]:
    """The newest facts about one user recorded up to `through_day`, oldest first."""
    q = (
        select(facts)
        .where(facts.c.user_name == user_name, facts.c.day <= through_day)
        .order_by(facts.c.day.desc(), facts.c.valid_from.desc(), facts.c.kind.desc(), facts.c.predicate.desc(), facts.c.object.desc())
        .limit(limit)
    )
    with store.connect() as conn:
        return sorted((dict(r._mapping) for r in conn.execute(q)), key=fact_order)


def user_names_among(store: Store, names: Iterable[str]) -> set[str]:
    """Which of `names` are users (registered users, or authors of user messages)."""
    names = sorted(set(names))
    found: set[str] = set()
    with store.connect() as conn:
        for chunk in _chunks(names):
            found.update(conn.execute(select(users.c.name).where(users.c.name.in_(chunk))).scalars())
            rest = [n for n in chunk if n not in found]
            if rest:
                found.update(
                    conn.execute(
                        select(messages.c.author).distinct().where(messages.c.author.in_(rest), messages.c.author_kind == "user")
                    ).scalars()
                )
    return found


def character_replies(store: Store, character: str, start: datetime, end: datetime) -> list[dict]:
    """Messages `character` wrote in [start, end): id, text, created_at, oldest first."""
    q = (
        select(messages.c.id, messages.c.text, messages.c.created_at)
        .where(messages.c.author == character, messages.c.author_kind == "character")
        .where(messages.c.created_at >= start, messages.c.created_at < end)
        .order_by(messages.c.created_at, messages.c.id)
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def characters_who_met(store: Store, user_name: str, by: datetime) -> dict[str, datetime]:
    """{character: first meeting} for every character that knew `user_name` by `by`: a relationship
    score whose first interaction is before `by`, or a session both wrote in before `by`."""
    met: dict[str, datetime] = {}
    with store.connect() as conn:
        for r in conn.execute(
            select(relationship_scores.c.character, relationship_scores.c.first_interaction).where(
                relationship_scores.c.user_name == user_name, relationship_scores.c.first_interaction < by
            )
        ):
            met[r.character] = r.first_interaction
        user_sessions = (
            select(messages.c.session)
            .where(messages.c.author == user_name, messages.c.author_kind == "user", messages.c.created_at < by)
            .distinct()
            .scalar_subquery()
        )
        q = (
            select(messages.c.author, func.min(messages.c.created_at))
            .where(messages.c.author_kind == "character", messages.c.session.in_(user_sessions), messages.c.created_at < by)
            .group_by(messages.c.author)
        )
        for name, first in conn.execute(q):
            if name not in met or first < met[name]:
                met[name] = first
    return met


def users_known_by(store: Store, character: str, by: datetime) -> set[str]:
    """Users `character` knew by `by`: a relationship score, or a session both wrote in."""
    with store.connect() as conn:
        known = set(
            conn.execute(
                select(relationship_scores.c.user_name).where(
                    relationship_scores.c.character == character, relationship_scores.c.first_interaction < by
                )
            ).scalars()
        )
        own_sessions = (
            select(messages.c.session)
            .where(messages.c.author == character, messages.c.author_kind == "character", messages.c.created_at < by)
            .distinct()
            .scalar_subquery()
        )
        known.update(
            conn.execute(
                select(messages.c.author)
                .distinct()
                .where(messages.c.author_kind == "user", messages.c.session.in_(own_sessions), messages.c.created_at < by)
            ).scalars()
        )
    return known


def display_names(store: Store, keys: Iterable[str]) -> list[tuple[str, str | None]]:
    """(user key, its current display name) for `keys`."""
    out: list[tuple[str, str | None]] = []
    keys = sorted(set(keys))
    with store.connect() as conn:
        for chunk in _chunks(keys):
            out.extend((k, n) for k, n in conn.execute(select(users.c.name, users.c.display_name).where(users.c.name.in_(chunk))))
    return out


def significant_user_events(store: Store, day: str, significance: int = 3) -> list[dict]:
    """Messages users wrote on UTC `day` scored at `significance` or above, oldest first."""
    q = (
        select(
            messages.c.id, messages.c.session, messages.c.channel, messages.c.author, messages.c.author_name, messages.c.text,
            messages.c.created_at, message_scores.c.significance,
        )
        .select_from(messages.join(message_scores, message_scores.c.message_id == messages.c.id))
        .where(messages.c.day == day, messages.c.author_kind == "user", message_scores.c.significance >= significance)
        .order_by(messages.c.created_at, messages.c.id)
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def session_character_messages(store: Store, session: str) -> list[dict]:
    """The character-written messages of one session: author, id, created_at, oldest first."""
    q = (
        select(messages.c.author, messages.c.id, messages.c.created_at)
        .where(messages.c.session == session, messages.c.author_kind == "character")
        .order_by(messages.c.created_at, messages.c.id)
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def kept_summaries_between(store: Store, first_day: str, last_day: str) -> list[dict]:
    """Kept summaries with first_day <= day <= last_day, oldest first."""
    q = (
        select(summaries)
        .where(summaries.c.status == "kept", summaries.c.day >= first_day, summaries.c.day <= last_day)
        .order_by(summaries.c.day, summaries.c.last_message_id, summaries.c.session)
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


def user_lines(store: Store, user_name: str, message_ids: Sequence[int]) -> list[dict]:
    """Messages `user_name` wrote among `message_ids`: id, session, text, created_at, oldest first."""
    out: list[dict] = []
    with store.connect() as conn:
        for chunk in _chunks(sorted(set(message_ids))):
            q = select(messages.c.id, messages.c.session, messages.c.text, messages.c.created_at).where(
                messages.c.id.in_(chunk), messages.c.author == user_name
            )
            out.extend(dict(r._mapping) for r in conn.execute(q))
    out.sort(key=lambda m: (m["created_at"], m["id"]))
    return out


def channel_messages(store: Store, start: datetime, end: datetime, channels: Sequence[str] | None = None) -> list[dict]:
    """Messages in [start, end) (optionally of some channels), oldest first."""
    q = select(
        messages.c.id, messages.c.channel, messages.c.session, messages.c.author, messages.c.author_kind,
        messages.c.author_name, messages.c.text, messages.c.created_at,
    ).where(messages.c.created_at >= start, messages.c.created_at < end)
    if channels:
        q = q.where(messages.c.channel.in_(list(channels)))
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q.order_by(messages.c.created_at, messages.c.id))]


def waiting_items(store: Store, stage: str, reason_prefix: str) -> list[str]:
    """Ledger items of `stage` left pending with an error starting `reason_prefix`."""
    q = select(ledger_table.c.item).where(
        ledger_table.c.stage == stage, ledger_table.c.status == ledger_store.PENDING, ledger_table.c.error.like(f"{reason_prefix}%")
    )
    with store.connect() as conn:
        return sorted(conn.execute(q).scalars())


# -- rows of one (character, local day) ---------------------------------------------------------


def existing_character_days(store: Store, table_name: str, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict]:
    """{(character, day): {version, material_hash}} of rows already written."""
    table = CHARACTER_DAY_TABLES[table_name]
    keys = sorted(set(keys))
    out: dict[tuple[str, str], dict] = {}
    with store.connect() as conn:
        for day in sorted({d for _, d in keys}):
            names = [c for c, d in keys if d == day]
            for chunk in _chunks(names):
                q = select(table.c.character, table.c.version, table.c.material_hash).where(
                    table.c.day == day, table.c.character.in_(chunk)
                )
                for r in conn.execute(q):
                    out[(r.character, day)] = {"version": r.version, "material_hash": r.material_hash}
    return out


def save_character_days(
    store: Store, table_name: str, rows: Sequence[dict], *, stage: str, version: str, run_id: str | None = None
) -> int:
    """Upsert rows by (character, day) and mark them done in the ledger, in one transaction."""
    if not rows:
        return 0
    table = CHARACTER_DAY_TABLES[table_name]
    now = utcnow()
    full = [{**r, "version": version, "run_id": run_id, "created_at": now, "updated_at": now} for r in rows]
    update_cols = [c.name for c in table.columns if c.name not in ("id", "character", "day", "created_at")]
    with store.begin() as conn:
        for chunk in _chunks(full):
            upsert(conn, table, chunk, ["character", "day"], update_cols)
        ledger_store.mark(
            store, stage, version, [f"{r['character']}/{r['day']}" for r in rows], ledger_store.DONE, run_id=run_id, conn=conn
        )
    return len(full)


def character_day_rows(
    store: Store, table_name: str, days: Sequence[str] | None = None, characters_: Sequence[str] | None = None
) -> list[dict]:
    """Rows of a (character, day) table, optionally for some days and characters, by day then name."""
    table = CHARACTER_DAY_TABLES[table_name]
    q = select(table)
    if days is not None:
        q = q.where(table.c.day.in_(list(days)))
    if characters_ is not None:
        q = q.where(table.c.character.in_(list(characters_)))
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q.order_by(table.c.day, table.c.character))]


def count_rows(store: Store, table_name: str, days: Sequence[str] | None = None) -> int:
    table = table_of(table_name)
    q = select(func.count()).select_from(table)
    if days is not None:
        q = q.where(table.c.day.in_(list(days)))
    with store.connect() as conn:
        return conn.execute(q).scalar_one()


def drift_history(store: Store, character: str, before_day: str, limit: int = 30) -> list[dict]:
    """The character's earlier drift observations, newest first."""
    q = (
        select(drift_observations)
        .where(drift_observations.c.character == character, drift_observations.c.day < before_day)
        .order_by(drift_observations.c.day.desc())
        .limit(limit)
    )
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


# -- reflections ----------------------------------------------------------------------------------


def reflection_exists(store: Store, user_name: str, through_summary_id: int, version: str) -> bool:
    q = select(func.count()).select_from(reflections).where(
        reflections.c.user_name == user_name,
        reflections.c.through_summary_id == through_summary_id,
        reflections.c.version == version,
    )
    with store.connect() as conn:
        return conn.execute(q).scalar_one() > 0


def save_reflections(store: Store, rows: Sequence[dict], *, stage: str, version: str, run_id: str | None = None) -> int:
    """Upsert reflections by (user_name, through_summary_id) and mark them done, in one transaction."""
    if not rows:
        return 0
    now = utcnow()
    full = [{**r, "version": version, "run_id": run_id, "created_at": now} for r in rows]
    update_cols = [c.name for c in reflections.columns if c.name not in ("id", "user_name", "through_summary_id")]
    with store.begin() as conn:
        upsert(conn, reflections, full, ["user_name", "through_summary_id"], update_cols)
        ledger_store.mark(
            store, stage, version, [f"{r['user_name']}/{r['through_summary_id']}" for r in rows], ledger_store.DONE,
            run_id=run_id, conn=conn,
        )
    return len(full)


def latest_reflections(store: Store, user_names: Sequence[str], through_day: str) -> dict[str, dict]:
    """{user: their newest reflection on or before `through_day`}."""
    out: dict[str, dict] = {}
    with store.connect() as conn:
        for chunk in _chunks(sorted(set(user_names))):
            q = (
                select(reflections, summaries.c.last_message_id.label("_through_last"))
                .join(summaries, summaries.c.id == reflections.c.through_summary_id, isouter=True)
                .where(reflections.c.user_name.in_(chunk), reflections.c.day <= through_day)
                .order_by(reflections.c.day, summaries.c.last_message_id)  # by what it covers, not by row id
            )
            for r in conn.execute(q):
                row = dict(r._mapping)
                row.pop("_through_last", None)
                out[r.user_name] = row  # ascending: the newest wins
    return out


def reflection_rows(store: Store, user_name: str | None = None) -> list[dict]:
    q = select(reflections).order_by(reflections.c.user_name, reflections.c.through_summary_id)
    if user_name is not None:
        q = q.where(reflections.c.user_name == user_name)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


# -- gossip ---------------------------------------------------------------------------------------


def gossip_existing(store: Store, pairs: Iterable[tuple[str, int]], version: str) -> set[tuple[str, int]]:
    """Which (to_character, source_message_id) pairs are already stored at `version`."""
    pairs = sorted(set(pairs))
    found: set[tuple[str, int]] = set()
    with store.connect() as conn:
        for chunk in _chunks(sorted({m for _, m in pairs})):
            q = select(gossip.c.to_character, gossip.c.source_message_id).where(
                gossip.c.source_message_id.in_(chunk), gossip.c.version == version
            )
            found.update((r.to_character, r.source_message_id) for r in conn.execute(q))
    return found & set(pairs)


def save_gossip(store: Store, rows: Sequence[dict], *, stage: str, version: str, run_id: str | None = None) -> int:
    """Upsert gossip by (to_character, source_message_id) and mark the pairs done, in one transaction."""
    if not rows:
        return 0
    now = utcnow()
    full = [{**r, "version": version, "run_id": run_id, "created_at": now} for r in rows]
    update_cols = [c.name for c in gossip.columns if c.name not in ("id", "to_character", "source_message_id")]
    with store.begin() as conn:
        for chunk in _chunks(full):
            upsert(conn, gossip, chunk, ["to_character", "source_message_id"], update_cols)
        ledger_store.mark(
            store, stage, version, [f"{r['to_character']}/{r['source_message_id']}" for r in rows], ledger_store.DONE,
            run_id=run_id, conn=conn,
        )
    return len(full)


def gossip_rows(store: Store, to_character: str | None = None, user_name: str | None = None) -> list[dict]:
    q = select(gossip).order_by(gossip.c.source_message_id, gossip.c.to_character)
    if to_character is not None:
        q = q.where(gossip.c.to_character == to_character)
    if user_name is not None:
        q = q.where(gossip.c.user_name == user_name)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]


# -- channel summaries ----------------------------------------------------------------------------


def channel_windows_done(store: Store, channels: Iterable[str], window_end: datetime, version: str) -> set[str]:
    """Channels whose window ending at `window_end` is summarised at `version`."""
    q = select(channel_summaries.c.channel).where(
        channel_summaries.c.window_end == window_end,
        channel_summaries.c.version == version,
        channel_summaries.c.channel.in_(sorted(set(channels))),
    )
    with store.connect() as conn:
        return set(conn.execute(q).scalars())


def previous_channel_summaries(store: Store, channels: Iterable[str], before: datetime) -> dict[str, dict]:
    """{channel: its newest summary whose window ended at or before `before`}."""
    out: dict[str, dict] = {}
    with store.connect() as conn:
        for channel in sorted(set(channels)):
            row = conn.execute(
                select(channel_summaries)
                .where(channel_summaries.c.channel == channel, channel_summaries.c.window_end <= before)
                .order_by(channel_summaries.c.window_end.desc())
                .limit(1)
            ).first()
            if row is not None:
                out[channel] = dict(row._mapping)
    return out


def save_channel_summaries(store: Store, rows: Sequence[dict], *, stage: str, version: str, run_id: str | None = None) -> int:
    """Upsert summaries by (channel, window_end) and mark them done, in one transaction."""
    if not rows:
        return 0
    now = utcnow()
    full = [{**r, "version": version, "run_id": run_id, "created_at": now} for r in rows]
    update_cols = [c.name for c in channel_summaries.columns if c.name not in ("id", "channel", "window_end")]
    with store.begin() as conn:
        upsert(conn, channel_summaries, full, ["channel", "window_end"], update_cols)
        ledger_store.mark(
            store, stage, version, [f"{r['channel']}/{r['window_end'].isoformat()}" for r in rows], ledger_store.DONE,
            run_id=run_id, conn=conn,
        )
    return len(full)


def channel_summary_rows(store: Store, channel: str | None = None, days: Sequence[str] | None = None) -> list[dict]:
    q = select(channel_summaries).order_by(channel_summaries.c.channel, channel_summaries.c.window_end)
    if channel is not None:
        q = q.where(channel_summaries.c.channel == channel)
    if days is not None:
        q = q.where(channel_summaries.c.day.in_(list(days)))
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(q)]
