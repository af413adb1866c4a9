"""The loop shared by the per-(character, local day) steps (diaries, dreams, goal strategies,
insights): find active characters, gather their day, skip what is written at this version from the
same material, ask the gateway once for the rest, write rows and ledger outcomes together."""

from __future__ import annotations

from datetime import datetime
from typing import Callable, Sequence

from background_pipelines.character.material import (
    CharacterDay,
    MATERIAL_PENDING,
    NOT_OVER,
    Material,
    active_characters,
    catch_up,
    check_selection,
    gather,
    split_by_day_over,
    split_by_material_ready,
)
from background_pipelines.character.result import StepResult, add_usage
from background_pipelines.cognition.result import record_unanswered
from background_pipelines.llm.task import Task, Usage
from background_pipelines.store import character as cstore
from background_pipelines.store import ledger
from background_pipelines.store.engine import Store


def record_outcome_failures(store: Store, stage: str, version: str, result: StepResult, failures, run_id: str | None) -> None:
    """Ledger the items the gateway did not answer: budget -> pending, anything else -> failed."""
    for item, outcome in failures:
        record_unanswered(store, result, stage, version, [item], outcome, item, run_id)


def run_character_days(
    store: Store,
    gateway,
    *,
    stage: str,
    version: str,
    task: Task,
    days: Sequence[str],
    characters: Sequence[str] | None,
    force: bool,
    run_id: str | None,
    now: datetime | None,
    to_row: Callable[[Material, object, str], dict],
    preview: Callable[[list[dict]], str],
    make_input: Callable[[Material], object] | None = None,
    ineligible: Callable[[Material], str | None] | None = None,
    gather_fn: Callable[[Store, CharacterDay], Material] = gather,
) -> StepResult:
    """Run `task` for every active character of every day in `days`; see the module docstring.
    `ineligible(material)` may name a reason to skip a character-day without asking (e.g. no goals)."""
    days = list(days)
    only = list(characters) if characters else None
    check_selection(store, days, only)
    result = StepResult(stage=stage, days=days, usage=Usage(backend=gateway.backend, model=gateway.model))

    due: list[Material] = []
    active = 0
    late = catch_up(store, stage, days, only)
    result.extra["caught_up"] = sum(len(v) for v in late.values())
    for day in sorted(late) + days:
        whos = active_characters(store, day, late.get(day) if day in late and day not in days else only)
        active += len(whos)
        over, running = split_by_day_over(whos, now)
        for who in running:
            ledger.mark(store, stage, version, [who.item], ledger.PENDING, error=f"{NOT_OVER} in {who.timezone}", run_id=run_id)
            result.pending += 1
        over, unready = split_by_material_ready(store, over)
        for who, missing in unready:
            ledger.mark(store, stage, version, [who.item], ledger.PENDING, error=f"{MATERIAL_PENDING}: {missing} in {who.timezone}", run_id=run_id)
            result.pending += 1
        materials = [gather_fn(store, who) for who in over]
        existing = cstore.existing_character_days(store, stage, [(m.who.name, m.who.day) for m in materials])
        for m in materials:
            held = existing.get((m.who.name, m.who.day))
            if not force and held and held["version"] == version and held["material_hash"] == m.material_hash:
                result.skipped += 1
                continue
            reason = ineligible(m) if ineligible else None
            if reason:
                result.skipped += 1
                result.count(f"skipped_{reason}")
                continue
            due.append(m)
    result.extra["character_days_active"] = active
    result.extra["characters"] = ", ".join(sorted({m.who.name for m in due})) or "-"

    rows: list[dict] = []
    if due:
        outcomes, usage = gateway.run(task, [make_input(m) if make_input else m.brief for m in due])
        result.usage = add_usage(Usage(backend=usage.backend, model=usage.model), usage)
        failures = []
        for m, outcome in zip(due, outcomes):
            if outcome.ok:
                rows.append(to_row(m, outcome.value, gateway.backend))
            else:
                failures.append((m.who.item, outcome))
        record_outcome_failures(store, stage, version, result, failures, run_id)
    result.rows_written = cstore.save_character_days(store, stage, rows, stage=stage, version=version, run_id=run_id)
    result.processed = len(rows)
    result.row_count = cstore.count_rows(store, stage, days)
    shown = rows or cstore.character_day_rows(store, stage, days, only)
    result.preview = preview(shown) if shown else "_no active characters with material on these days_"
    return result

