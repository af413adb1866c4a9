"""write_diaries: one private diary entry per active character per local day, in its own voice,
from the day's kept summaries, significant memories and new facts about the people it met."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Sequence

from pydantic import BaseModel, Field

from background_pipelines.character.lexicon import clip, fact_phrase, first_sentence, mood_word, top_topics, valence
from background_pipelines.character.material import DayBrief, DayMaterial
from background_pipelines.character.prompting import join_names, lower_first, material_message, persona_system, rng_for
from background_pipelines.character.result import StepResult, md_entries
from background_pipelines.character.runner import run_character_days
from background_pipelines.character.voice import Voice, first_person
from background_pipelines.llm.task import Task
from background_pipelines.store.engine import Store

STAGE = "diaries"
VERSION = "diary-v1"
Mood = Literal["bright", "heavy", "mixed", "quiet"]


class DiaryEntry(BaseModel):
    title: str = Field(min_length=1, max_length=200, description="a short title for the day")
    text: str = Field(min_length=1, description="the entry, first person, in the character's voice")
    mood: Mood = Field(description="the day's overall mood")


def diary_prompt(brief: DayBrief) -> list[dict]:
    job = (
        "Tonight you write your private diary entry for the day below, first person, in your own voice: who you "
        "talked with, what mattered (the memories), what you learned about them (the facts), how the day felt. "
        "120-250 words. Fields: title, text, mood (bright, heavy, mixed or quiet)."
    )
    return [persona_system(brief.character, brief.persona, brief.voice, job), material_message(brief)]


_MEMORY_LEADS = {
    3: ("This one matters, and I won't forget it.", "I keep coming back to it.", "Some things change a person's year; this might be one."),
    2: ("I want to remember that.", "It stayed with me.", "I wrote it down so I'd keep it."),
}
_MOOD_LINES = {
    "bright": "It was a good day. I can still feel it.",
    "heavy": "It was a heavy day, and I'm carrying some of it to bed.",
    "mixed": "A day of mixed weather, sun and rain by turns.",
    "quiet": "A quiet day, mostly.",
}


def day_mood(brief: DayBrief) -> str:
    said = [line.text for line in brief.lines if line.author != brief.character] + [m.text for m in brief.memories]
    return mood_word(valence(said + [s.text for s in brief.summaries]))


def fact_sentences(brief: DayBrief, limit: int = 6) -> list[str]:
    """'I learned that Bob works as a nurse and likes jazz.' grouped per person."""
    by_user: dict[str, list[str]] = {}
    for f in brief.facts[:limit]:
        by_user.setdefault(f.user, []).append(fact_phrase(f.predicate, f.object))
    return [f"I learned that {user} {join_names(things)}." for user, things in by_user.items()]


def compose_diary(brief: DayBrief) -> DiaryEntry:
    """The offline diary: the day retold from its material, in the character's voice."""
    voice = Voice.from_notes(brief.persona, brief.voice)
    rng = rng_for(brief.character, brief.day, "diary")
    mood = day_mood(brief)
    names = [u for u in brief.users if u != brief.character]
    topics = top_topics([line.text for line in brief.lines] + [s.text for s in brief.summaries], 3, exclude=names + [brief.character])

    opening = [voice.opener(brief.weekday, brief.day)]
    if names:
        n = len(brief.sessions)
        opening.append(f"I talked with {join_names(names)} today" + (f", in {n} conversations." if n > 1 else "."))

    body: list[str] = []
    for s in brief.summaries[:4]:
        body.append(first_person(first_sentence(s.text), brief.character))
    if not brief.summaries and topics:  # no summaries written yet: tell the day by its threads
        body.append(f"We kept circling around {join_names(topics)}.")
    for m in [m for m in brief.memories if m.author != brief.character][:3]:
        lead = rng.choice(_MEMORY_LEADS[3 if m.significance >= 3 else 2])
        if m.pinned and m.significance < 2:
            lead = "I pinned it, so I keep it close."
        body.append(f"{m.author} said “{clip(m.text, 160)}” {lead}")
    body.extend(fact_sentences(brief))

    closing = [_MOOD_LINES[mood]]
    if brief.goals:
        goal = brief.goals[rng.randrange(len(brief.goals))]
        closing.append(f"Tomorrow I want to keep at it: {lower_first(goal)}.")
    else:
        closing.append("I'll sleep on it.")

    paragraphs = [" ".join(opening), " ".join(body), " ".join(closing)]
    text = voice.apply("\n\n".join(p for p in paragraphs if p), mood)
    title = f"{brief.weekday}: " + (topics[0] if topics else ("people" if names else "a quiet day"))
    return DiaryEntry(title=title.lower() if voice.lowercase else title, text=text, mood=mood)


DIARY_TASK: Task[DiaryEntry] = Task(
    name="character_diary", schema=DiaryEntry, prompt=diary_prompt, offline=compose_diary, max_tokens=700, temperature=0.7
)


def _row(m: DayMaterial, entry: DiaryEntry, backend: str) -> dict:
    return dict(
        character=m.who.name,
        day=m.who.day,
        title=entry.title[:255],
        text=entry.text,
        mood=entry.mood,
        users=[m.user_keys.get(u, u) for u in m.brief.users],  # keys, whatever the prose calls them
        source_message_ids=m.source_message_ids,
        source_summary_ids=m.summary_ids,
        source_fact_ids=m.fact_ids,
        material_hash=m.material_hash,
        backend=backend,
    )


def diary_preview(rows: list[dict]) -> str:
    return md_entries([(f"{r['character']} — {r['day']}: {r['title']}", r["text"]) for r in rows])


def write_diaries(
    store: Store,
    gateway,
    days: Sequence[str],
    *,
    characters: Sequence[str] | None = None,
    force: bool = False,
    run_id: str | None = None,
    now: datetime | None = None,
) -> StepResult:
    """Write the diary of every character active on each of `days` (their local dates); see module doc."""
    return run_character_days(
        store, gateway, stage=STAGE, version=VERSION, task=DIARY_TASK, days=days, characters=characters,
        force=force, run_id=run_id, now=now, to_row=_row, preview=diary_preview,
    )
