"""Prompt pieces shared by the character tasks: the persona system line and the material as JSON,
plus deterministic seeds and name lists for the offline writers."""

from __future__ import annotations

import hashlib
import json
import random

from pydantic import BaseModel


def persona_system(character: str, persona: str, voice: str, job: str) -> dict:
    who = f"You are {character}."
    if persona:
        who += f" Persona: {persona.strip()}"
    if voice:
        who += f" Voice: {voice.strip()}"
    return {
        "role": "system",
        "content": f"{who}\n{job}\nUse only the material given; never invent people or events. Answer in JSON.",
    }


def material_message(model: BaseModel, exclude: set[str] | None = None) -> dict:
    payload = model.model_dump(mode="json", exclude=exclude or {"persona", "voice"})
    return {"role": "user", "content": "Material:\n" + json.dumps(payload, ensure_ascii=False, indent=1)}


def rng_for(*parts: str) -> random.Random:
    """A random generator seeded from `parts`: the same day always gives the same choices."""
    seed = int.from_bytes(hashlib.sha256("/".join(parts).encode()).digest()[:8], "big")
    return random.Random(seed)


def join_names(names: list[str]) -> str:
    names = [n for n in names if n]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def sentence_case(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def lower_first(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:] if text else text
