"""share_gossip: an event of significance 3 a user told one character is passed on to the other
characters who already know that user (a relationship score or a shared session by the end of the
event's day), stored as a second-hand memory with its provenance. Never to a character who has not
met the user: the recipients are exactly the characters who met them, minus those who were there."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Sequence

from pydantic import BaseModel, Field

from background_pipelines.character.days import parse_day
from background_pipelines.character.lexicon import clip
from background_pipelines.character.material import check_selection
from background_pipelines.character.prompting import persona_system
from background_pipelines.character.result import StepResult, add_usage, md_table
from background_pipelines.character.runner import record_outcome_failures
from background_pipelines.character.voice import Voice
from background_pipelines.llm.task import Task, Usage
from background_pipelines.store import character as cstore
from background_pipelines.store.engine import Store

STAGE = "gossip"
VERSION = "gossip-v1"
SIGNIFICANCE = 3


class GossipInput(BaseModel):
    from_character: str
    to_character: str
    to_persona: str
    to_voice: str
    user: str
    event: str
    weekday: str
    day: str


class SecondHandMemory(BaseModel):
    text: str = Field(min_length=1, description="the memory as the receiving character keeps it, first person")


def gossip_prompt(item: GossipInput) -> list[dict]:
    job = (
        f"{item.from_character} just told you something {item.user} shared with them. Write the memory you keep of "
        "it: first person, one to three sentences, saying who told you, what happened to the user and how you "
        "mean to be with them next time. JSON field: text."
    )
    return [
        persona_system(item.to_character, item.to_persona, item.to_voice, job),
        {"role": "user", "content": item.model_dump_json(include={"from_character", "user", "event", "weekday", "day"})},
    ]


def compose_second_hand(item: GossipInput) -> SecondHandMemory:
    """Offline: who told whom what, in the receiver's voice."""
    voice = Voice.from_notes(item.to_persona, item.to_voice)
    text = (
        f"{item.from_character} told me that {item.user} shared something big on {item.weekday}: “{clip(item.event, 180)}” "
        f"I should be gentle and ask {item.user} about it next time, without making them repeat it."
    )
    return SecondHandMemory(text=voice.apply(text, "heavy"))


GOSSIP_TASK: Task[SecondHandMemory] = Task(
    name="gossip_retelling", schema=SecondHandMemory, prompt=gossip_prompt, offline=compose_second_hand, max_tokens=300, temperature=0.6
)


def _teller(store: Store, event: dict) -> tuple[str | None, set[str]]:
    """(the character who heard it first: the first to write after it, else the session's first; everyone present)."""
    present = cstore.session_character_messages(store, event["session"])
    names = {m["author"] for m in present}
    after = [m for m in present if (m["created_at"], m["id"]) > (event["created_at"], event["id"])]
    first = after[0]["author"] if after else (present[0]["author"] if present else None)
    return first, names


def share_gossip(
    store: Store,
    gateway,
    days: Sequence[str],
    *,
    characters: Sequence[str] | None = None,
    force: bool = False,
    run_id: str | None = None,
) -> StepResult:
    """Share the significance-3 events of each of `days` (UTC message days); `characters` restricts the
    receivers. See the module docstring."""
    days = list(days)
    check_selection(store, days, list(characters) if characters else None)
    result = StepResult(stage=STAGE, days=days, usage=Usage(backend=gateway.backend, model=gateway.model))
    profiles = cstore.character_profiles(store)
    due: list[tuple[GossipInput, dict]] = []
    for day in days:
        by = datetime.combine(parse_day(day), datetime.min.time()) + timedelta(days=1)  # end of the UTC day
        for event in cstore.significant_user_events(store, day, SIGNIFICANCE):
            teller, present = _teller(store, event)
            if teller is None:
                result.count("events_without_a_character")
                continue
            met = cstore.characters_who_met(store, event["author"], by)
            receivers = sorted(set(met) - present - {teller})
            if characters:
                receivers = [r for r in receivers if r in set(characters)]
            result.count("events")
            if not receivers:
                result.count("events_nobody_else_knows")
            pairs = [(r, event["id"]) for r in receivers]
            held = set() if force else cstore.gossip_existing(store, pairs, VERSION)
            for receiver in receivers:
                if (receiver, event["id"]) in held:
                    result.skipped += 1
                    continue
                p = profiles.get(receiver, {})
                item = GossipInput(
                    from_character=teller, to_character=receiver, to_persona=p.get("persona") or "", to_voice=p.get("voice") or "",
                    user=event.get("author_name") or event["author"], event=event["text"], weekday=event["created_at"].strftime("%A"), day=day,
                )
                due.append((item, event))
    rows = []
    if due:
        outcomes, usage = gateway.run(GOSSIP_TASK, [item for item, _ in due])
        result.usage = add_usage(Usage(backend=usage.backend, model=usage.model), usage)
        failures = []
        for (item, event), outcome in zip(due, outcomes):
            if not outcome.ok:
                failures.append((f"{item.to_character}/{event['id']}", outcome))
                continue
            rows.append(
                dict(
                    from_character=item.from_character, to_character=item.to_character, user_name=event["author"],
                    source_message_id=event["id"], significance=event["significance"], session=event["session"],
                    day=item.day, text=outcome.value.text, source_message_ids=[event["id"]], backend=gateway.backend,
                )
            )
        record_outcome_failures(store, STAGE, VERSION, result, failures, run_id)
    result.rows_written = cstore.save_gossip(store, rows, stage=STAGE, version=VERSION, run_id=run_id)
    result.processed = len(rows)
    result.row_count = cstore.count_rows(store, STAGE, days)
    result.preview = (
        md_table(
            ["from", "to", "about", "message", "memory"],
            [[r["from_character"], r["to_character"], r["user_name"], r["source_message_id"], r["text"]] for r in rows],
        )
        if rows
        else "_no new significant events to share_"
    )
    return result
