"""update_relationship_scores: familiarity 0..1 per (user, character) from the messages they
exchanged in shared sessions, the number of sessions, and how recent the last one is."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Sequence

from background_pipelines.cognition.result import StageResult, add_usage, as_days, md_table
from background_pipelines.config import Settings
from background_pipelines.store import ledger
from background_pipelines.store.engine import Store
from background_pipelines.store.message_views import pair_activity, session_authors
from background_pipelines.store.messages import messages_for_day
from background_pipelines.store.relationships import count, save_scores

STAGE = "relationship"
VERSION = "relationship-v1"


def familiarity(interactions: int, sessions: int, days_since_last: float) -> float:
    """Saturating in messages (half at ~35) and sessions (half at ~3.5), fading over ~a month."""
    volume = 1 - math.exp(-interactions / 50)
    breadth = 1 - math.exp(-sessions / 5)
    recency = math.exp(-max(0.0, days_since_last) / 30)
    return round(0.5 * volume + 0.3 * breadth + 0.2 * recency, 4)


def _update_relationship_scores_day(
    store: Store,
    gateway,
    settings: Settings,
    day: str,
    *,
    force: bool = False,
    version: str = VERSION,
    run_id: str | None = None,
) -> StageResult:
    """Recompute the scores of every (user, character) pair that shared a session on `day`, from all
    their messages up to that day. No LLM call."""
    result = StageResult(stage=STAGE, days=[day])
    day_msgs = messages_for_day(store, day, ["session"])
    sessions = {m["session"] for m in day_msgs}
    authors = session_authors(store, sessions, up_to_day=day)
    pairs = sorted({(u, c) for s in sessions for u, uk in authors[s] if uk == "user" for c, ck in authors[s] if ck == "character"})
    # an item names the pair, the day and the day's message count: new messages make it due again
    items = {f"{day}|{u}|{c}|{len(day_msgs)}": (u, c) for u, c in pairs}
    due = ledger.todo(store, STAGE, version, list(items), force=force)
    result.skipped = len(items) - len(due)
    if not due:
        result.row_count = count(store)
        return result
    todo_pairs = [items[i] for i in due]
    activity = pair_activity(store, {a for p in todo_pairs for a in p}, day)
    per_session: dict[str, dict[str, tuple]] = defaultdict(dict)
    for session, author, n, first, last in activity:
        per_session[session][author] = (n, first, last)
    day_end = datetime.strptime(day, "%Y-%m-%d") + timedelta(days=1)
    rows = []
    for u, c in todo_pairs:
        shared = [s for s, who in per_session.items() if u in who and c in who]
        if not shared:
            continue
        n = sum(per_session[s][u][0] + per_session[s][c][0] for s in shared)
        first = min(min(per_session[s][u][1], per_session[s][c][1]) for s in shared)
        last = max(max(per_session[s][u][2], per_session[s][c][2]) for s in shared)
        fam = familiarity(n, len(shared), (day_end - last).total_seconds() / 86400)
        rows.append(dict(user_name=u, character=c, familiarity=fam, interactions=n, sessions=len(shared), first_interaction=first, last_interaction=last, updated_at=ledger.utcnow()))
    with store.begin() as conn:
        written = save_scores(conn, rows)
        ledger.mark(store, STAGE, version, due, ledger.DONE, run_id=run_id, conn=conn)
    result.processed = len(due)
    result.rows_written = written
    result.row_count = count(store)
    rows.sort(key=lambda r: -r["familiarity"])
    result.preview = f"**{day}**: {len(rows)} relationships updated\n\n" + md_table(
        ["user", "character", "familiarity", "messages", "sessions"],
        [[r["user_name"], r["character"], r["familiarity"], r["interactions"], r["sessions"]] for r in rows],
    )
    return result


def update_relationship_scores(
    store: Store,
    gateway,
    settings: Settings,
    days: str | Sequence[str],
    *,
    force: bool = False,
    version: str = VERSION,
    run_id: str | None = None,
) -> StageResult:
    """Recompute the scores of the (user, character) pairs that shared a session on each day of `days` (one partition key or a range), day by day (each day sees the messages up to it); a result per day in `by_day`."""
    per = {}
    usage = None
    for d in as_days(days):
        r = _update_relationship_scores_day(store, gateway, settings, d, force=force, version=version, run_id=run_id)
        usage = r.usage if usage is None else add_usage(usage, r.usage)
        per[d] = r
    return StageResult.total(STAGE, per, usage)
