"""write_dreams: one dream sequence per active character per night, built from the same material as
its diary (people, places, objects and the day's strongest memory) recombined surreally. Offline,
the recombination is seeded by (character, day), so the same night always dreams the same dream."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Sequence

from pydantic import BaseModel, Field

from background_pipelines.character.diaries import day_mood
from background_pipelines.character.lexicon import clip, top_topics
from background_pipelines.character.material import DayBrief, DayMaterial
from background_pipelines.character.prompting import lower_first, material_message, persona_system, rng_for, sentence_case
from background_pipelines.character.result import StepResult, md_entries
from background_pipelines.character.runner import run_character_days
from background_pipelines.character.voice import Voice
from background_pipelines.llm.task import Task
from background_pipelines.store.engine import Store

STAGE = "dreams"
VERSION = "dream-v1"
Tone = Literal["tender", "uneasy", "strange", "luminous"]

_PLACES = (
    "a library whose shelves breathed", "a train station with no trains", "a lighthouse full of coats",
    "a kitchen that went on for miles", "a greenhouse under the sea", "a hotel corridor that kept folding",
    "a ferris wheel turning very slowly", "the attic of a house I have never lived in", "a market at midnight",
)
_WAKE = {
    "tender": "I woke up warm, as if someone had just left the room.",
    "uneasy": "I woke up with my heart going too fast, and lay still until it slowed.",
    "strange": "I woke up not sure which parts had happened.",
    "luminous": "I woke up smiling, and the light was already on the wall.",
}
_PLACE_WORDS = ("lives_in", "moved_to", "from", "born_in", "works_at", "visited", "city", "location")


class DreamSequence(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    text: str = Field(min_length=1, description="the dream, first person, surreal but built from the day's material")
    tone: Tone
    motifs: list[str] = Field(default_factory=list, description="the day's people and things the dream recombines")


def dream_prompt(brief: DayBrief) -> list[dict]:
    job = (
        "Tonight you dream. Write the dream sequence, first person, in your voice: recombine the people, places, "
        "objects and feelings of the day below the way dreams do (displaced, merged, symbolic), 80-200 words. "
        "Fields: title, text, tone (tender, uneasy, strange or luminous), motifs (the day's elements you used)."
    )
    return [persona_system(brief.character, brief.persona, brief.voice, job), material_message(brief)]


def _tone(mood: str, rng) -> str:
    return {"bright": "luminous", "heavy": "uneasy", "mixed": "strange"}.get(mood, rng.choice(["tender", "strange"]))


def compose_dream(brief: DayBrief) -> DreamSequence:
    """The offline dream: the day's people and things dropped into surreal scenes, seeded per night."""
    rng = rng_for(brief.character, brief.day, "dream")
    voice = Voice.from_notes(brief.persona, brief.voice)
    people = [u for u in brief.users if u != brief.character] or ["a stranger with a familiar voice"]
    things = top_topics(
        [line.text for line in brief.lines] + [s.text for s in brief.summaries] + [m.text for m in brief.memories],
        8,
        exclude=brief.users + [brief.character],
    ) or ["keys", "rain", "letters"]
    places = [f.object for f in brief.facts if any(w in f.predicate.lower() for w in _PLACE_WORDS)]
    place = (f"a {places[0]} that was also " if places else "") + rng.choice(_PLACES)
    objects = [f.object for f in brief.facts if f.object and f.object not in places][:4]
    pool = list(dict.fromkeys(things + objects))
    rng.shuffle(pool)
    a, b, c = (pool + ["rain", "keys", "letters"])[:3]
    p1 = people[rng.randrange(len(people))]
    p2 = people[(people.index(p1) + 1) % len(people)] if len(people) > 1 else "someone I could not see"
    mood = day_mood(brief)
    tone = _tone(mood, rng)

    scenes = [
        f"I was in {place}, and the floor was covered in {a}.",
        rng.choice(
            [
                f"{p1} was there, taller than in life, handing me {b} one at a time and asking me to keep count.",
                f"{p1} kept walking ahead of me, speaking only in questions about {b}.",
                f"{p1} and I were carrying {b} up a staircase that went down.",
            ]
        ),
        rng.choice(
            [
                f"Whenever I looked away, the {b} turned into {c}.",
                f"A clock on the wall was counting {c} instead of hours.",
                f"It started raining {c}, softly, and nobody minded.",
            ]
        ),
    ]
    if len(people) > 1 or p2 != "someone I could not see":
        scenes.append(f"Then {p2} arrived with the wrong face and the right voice, and I knew them anyway.")
    strongest = max(brief.memories, key=lambda m: (m.significance, m.pinned), default=None)
    if strongest is not None:
        scenes.append(f"Under everything, someone kept saying “{clip(strongest.text, 90).rstrip('.!?')}”, the way the sea repeats itself.")
    if brief.goals:
        scenes.append(f"I knew I had to {lower_first(brief.goals[0])} before the water rose, but my hands were full of {a}.")
    scenes.append(_WAKE[tone])
    text = voice.apply(" ".join(scenes), {"luminous": "bright", "uneasy": "heavy"}.get(tone, "mixed"))
    motifs = list(dict.fromkeys([p for p in people if not p.startswith("a stranger")] + [a, b, c]))
    title = sentence_case(f"{a} and {c}")
    return DreamSequence(title=title.lower() if voice.lowercase else title, text=text, tone=tone, motifs=motifs)


DREAM_TASK: Task[DreamSequence] = Task(
    name="character_dream", schema=DreamSequence, prompt=dream_prompt, offline=compose_dream, max_tokens=600, temperature=0.9
)


def _row(m: DayMaterial, dream: DreamSequence, backend: str) -> dict:
    return dict(
        character=m.who.name,
        day=m.who.day,
        title=dream.title[:255],
        text=dream.text,
        tone=dream.tone,
        motifs=[str(x) for x in dream.motifs][:20],
        source_message_ids=m.source_message_ids,
        source_summary_ids=m.summary_ids,
        source_fact_ids=m.fact_ids,
        material_hash=m.material_hash,
        backend=backend,
    )


def dream_preview(rows: list[dict]) -> str:
    return md_entries([(f"{r['character']} — night of {r['day']}: {r['title']} ({r['tone']})", r["text"]) for r in rows])


def write_dreams(
    store: Store,
    gateway,
    days: Sequence[str],
    *,
    characters: Sequence[str] | None = None,
    force: bool = False,
    run_id: str | None = None,
    now: datetime | None = None,
) -> StepResult:
    """Dream the night after each of `days` for every character active that (local) day."""
    return run_character_days(
        store, gateway, stage=STAGE, version=VERSION, task=DREAM_TASK, days=days, characters=characters,
        force=force, run_id=run_id, now=now, to_row=_row, preview=dream_preview,
    )
