"""plan_goal_strategies: per active character, its goals (characters.goals) against the day's
interactions -> which goals saw progress (with the messages that show it), which users to follow up
with, and concrete next steps."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Sequence

from pydantic import BaseModel, Field

from background_pipelines.character.lexicon import clip, fact_phrase, topic_words
from background_pipelines.character.material import DayBrief, DayMaterial
from background_pipelines.character.prompting import join_names, lower_first, material_message, persona_system
from background_pipelines.character.result import StepResult, md_entries
from background_pipelines.character.runner import run_character_days
from background_pipelines.llm.task import Task
from background_pipelines.store.engine import Store

STAGE = "goal_strategies"
VERSION = "goals-v1"


class GoalProgress(BaseModel):
    goal: str
    progress: Literal["none", "some", "strong"]
    evidence_message_ids: list[int] = Field(default_factory=list)
    next_steps: list[str] = Field(default_factory=list)


class FollowUp(BaseModel):
    user: str
    reason: str
    message_ids: list[int] = Field(default_factory=list)


class GoalPlan(BaseModel):
    strategies: list[GoalProgress] = Field(default_factory=list, description="one per goal, in the goals' order")
    follow_ups: list[FollowUp] = Field(default_factory=list)
    summary: str = Field(min_length=1)


def goal_prompt(brief: DayBrief) -> list[dict]:
    job = (
        "Plan tomorrow. For each of your goals, judge the progress the day below shows (none, some, strong), cite "
        "the message ids that show it, and give 1-3 concrete next steps. Then list the users to follow up with "
        "(reason, message ids). Fields: strategies[{goal, progress, evidence_message_ids, next_steps}], "
        "follow_ups[{user, reason, message_ids}], summary."
    )
    return [persona_system(brief.character, brief.persona, brief.voice, job), material_message(brief, exclude={"voice"})]


def _stems(text: str) -> set[str]:
    # 4-letter prefixes: "nursing" meets "nurse", "sailing" meets "sail".
    return {w[:4] for w in topic_words(text)}


def _progress(goal: str, brief: DayBrief) -> GoalProgress:
    wanted = _stems(goal)
    named = [u for u in brief.users if u.lower() in goal.lower()]
    evidence = [line for line in brief.lines if wanted & _stems(line.text)]
    from_users = [line for line in evidence if line.author != brief.character]
    if len(evidence) >= 2 and from_users:
        progress = "strong"
    elif evidence:
        progress = "some"
    else:
        progress = "none"
    steps: list[str] = []
    target = named[0] if named else (from_users[0].author if from_users else None)
    if progress == "strong":
        steps.append(f"Build on it: remind {target or 'them'} of “{clip(from_users[0].text, 80)}” and ask what comes next.")
    elif progress == "some":
        who = target or "whoever brings it up"
        steps.append(f"Follow up with {who}: the thread was only touched on (“{clip(evidence[0].text, 80)}”).")
    else:
        words = {w.strip(".,;:!?'\"") for w in goal.split()}
        absent = [u for u in brief.acquaintances if u in words and u not in brief.users]
        if named:
            steps.append(f"Steer the next conversation with {named[0]} toward this: {lower_first(goal)}.")
        elif absent:
            steps.append(f"Reach out to {absent[0]}, who did not come by today.")
        else:
            steps.append(f"Look for an opening: {lower_first(goal)}.")
    return GoalProgress(goal=goal, progress=progress, evidence_message_ids=[line.id for line in evidence][:10], next_steps=steps)


def compose_plan(brief: DayBrief) -> GoalPlan:
    """The offline plan: keyword evidence per goal, follow-ups from the day's significant memories."""
    strategies = [_progress(g, brief) for g in brief.goals]
    follow: dict[str, FollowUp] = {}
    for m in sorted(brief.memories, key=lambda m: -m.significance):
        if m.author == brief.character:
            continue
        if m.author not in follow:
            weight = "something big" if m.significance >= 3 else "something that mattered"
            follow[m.author] = FollowUp(user=m.author, reason=f"shared {weight}: “{clip(m.text, 100)}”", message_ids=[m.message_id])
        else:
            follow[m.author].message_ids.append(m.message_id)
    for f in brief.facts:
        if f.user not in follow:
            follow[f.user] = FollowUp(user=f.user, reason=f"new about them: {f.user} {fact_phrase(f.predicate, f.object)}")
    moving = [s.goal for s in strategies if s.progress != "none"]
    stalled = [s.goal for s in strategies if s.progress == "none"]
    parts = []
    if moving:
        parts.append(f"Progress on {len(moving)} of {len(strategies)} goal(s).")
    if stalled:
        parts.append(f"Stalled: {'; '.join(lower_first(g) for g in stalled)}.")
    if follow:
        parts.append(f"Follow up with {join_names(list(follow))}.")
    if not parts:
        parts.append("No goals set and nothing to follow up.")
    return GoalPlan(strategies=strategies, follow_ups=list(follow.values()), summary=" ".join(parts))


GOAL_TASK: Task[GoalPlan] = Task(name="goal_strategy", schema=GoalPlan, prompt=goal_prompt, offline=compose_plan, max_tokens=900)


def plan_markdown(plan: GoalPlan) -> str:
    lines = [plan.summary, ""]
    for s in plan.strategies:
        lines.append(f"- **{s.goal}** — progress: {s.progress}" + (f" (messages {', '.join(map(str, s.evidence_message_ids))})" if s.evidence_message_ids else ""))
        lines += [f"  - next: {step}" for step in s.next_steps]
    for f in plan.follow_ups:
        lines.append(f"- follow up with **{f.user}**: {f.reason}")
    return "\n".join(lines).strip()


def _row(m: DayMaterial, plan: GoalPlan, backend: str) -> dict:
    evidence = {i for s in plan.strategies for i in s.evidence_message_ids} | {i for f in plan.follow_ups for i in f.message_ids}
    return dict(
        character=m.who.name,
        day=m.who.day,
        strategies=[s.model_dump() for s in plan.strategies],
        follow_ups=[f.model_dump() for f in plan.follow_ups],
        text=plan_markdown(plan),
        source_message_ids=sorted(set(m.source_message_ids) | {int(i) for i in evidence}),
        material_hash=m.material_hash,
        backend=backend,
    )


def goal_preview(rows: list[dict]) -> str:
    return md_entries([(f"{r['character']} — {r['day']}", r["text"]) for r in rows])


def plan_goal_strategies(
    store: Store,
    gateway,
    days: Sequence[str],
    *,
    characters: Sequence[str] | None = None,
    force: bool = False,
    run_id: str | None = None,
    now: datetime | None = None,
) -> StepResult:
    """Next strategies for every character active on each of `days`; see the module docstring."""
    return run_character_days(
        store, gateway, stage=STAGE, version=VERSION, task=GOAL_TASK, days=days, characters=characters,
        force=force, run_id=run_id, now=now, to_row=_row, preview=goal_preview,
    )
