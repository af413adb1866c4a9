"""Characters from a YAML file: validate every entry (name, persona, voice, IANA timezone, goals) with
errors naming the file, line and field, then write them all in one transaction or nothing.

    characters:
      - name: Aria
        persona: A warm, curious barista who writes poetry on napkins.
        voice: gentle and poetic, an emoji now and then
        timezone: Europe/Berlin
        goals:
          - Help Bob feel confident about his new job
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from background_pipelines.character.days import DayError, zone
from background_pipelines.store.engine import Store
from background_pipelines.store.messages import list_characters, upsert_characters


class CharacterFileError(ValueError):
    """A characters file that cannot be loaded; the message names the file, line and field."""


class CharacterSpec(BaseModel):
    """One character as the YAML file and the CLI give it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=255)
    persona: str = ""
    voice: str = ""
    timezone: str = "UTC"
    goals: list[str] = Field(default_factory=list)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zone(value)
        except DayError as exc:
            raise ValueError(str(exc)) from None
        return value

    @field_validator("goals")
    @classmethod
    def _no_blank_goals(cls, value: list[str]) -> list[str]:
        goals = [g.strip() for g in value]
        if any(not g for g in goals):
            raise ValueError("a goal is empty")
        return goals


@dataclass(frozen=True)
class LoadResult:
    path: str
    created: list[str]
    updated: list[str]


def _line(node, key: str | None = None) -> int:
    """The 1-based line of a mapping node, or of one of its keys' values."""
    if key is not None and isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.value == key:
                return v.start_mark.line + 1
    return node.start_mark.line + 1


def parse_characters(text: str, source: str = "<string>") -> list[CharacterSpec]:
    """Validated specs from YAML `text` (a `characters:` list, or a bare list); raises CharacterFileError."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        raise CharacterFileError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if isinstance(data, dict) and set(data) == {"characters"}:
        data = data["characters"]
        root = next(v for k, v in root.value if k.value == "characters")
    if not isinstance(data, list) or not data:
        raise CharacterFileError(f"{source}: expected a non-empty list of characters (under a `characters:` key or at the top)")
    specs: list[CharacterSpec] = []
    seen: dict[str, int] = {}
    for index, (entry, node) in enumerate(zip(data, root.value)):
        line = _line(node)
        if not isinstance(entry, dict):
            raise CharacterFileError(f"{source}:{line}: character #{index + 1}: expected a mapping with name, persona, voice, timezone, goals")
        try:
            spec = CharacterSpec.model_validate(entry)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = str(err["loc"][0]) if err["loc"] else "?"
            who = entry.get("name") or f"#{index + 1}"
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown field (expected name, persona, voice, timezone, goals)"
            raise CharacterFileError(f"{source}:{_line(node, field)}: character {who!r}, field {field!r}: {msg}") from None
        if spec.name in seen:
            raise CharacterFileError(f"{source}:{line}: character {spec.name!r} is defined twice (first at line {seen[spec.name]})")
        seen[spec.name] = line
        specs.append(spec)
    return specs


def save_characters(store: Store, specs: list[CharacterSpec]) -> tuple[list[str], list[str]]:
    """Create or update `specs` in one transaction; returns (created, updated) names."""
    existing = {c["name"] for c in list_characters(store)}
    upsert_characters(store, [s.model_dump() for s in specs])
    return [s.name for s in specs if s.name not in existing], [s.name for s in specs if s.name in existing]


def load_characters_file(store: Store, path: str | Path) -> LoadResult:
    """Validate the whole file, then write every character (or none)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise CharacterFileError(f"{p}: cannot read: {exc.strerror or exc}") from None
    created, updated = save_characters(store, parse_characters(text, str(p)))
    return LoadResult(str(p), created, updated)


def set_character(store: Store, name: str, **changes) -> tuple[CharacterSpec, bool]:
    """Create `name` or change only the given fields (persona, voice, timezone, goals); returns
    (the character as stored, created?). Raises CharacterFileError on an invalid value."""
    current = next((c for c in list_characters(store) if c["name"] == name), None)
    base = (
        dict(name=name, persona=current["persona"], voice=current["voice"], timezone=current["timezone"], goals=list(current["goals"] or []))
        if current
        else dict(name=name)
    )
    base.update({k: v for k, v in changes.items() if v is not None})
    try:
        spec = CharacterSpec.model_validate(base)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        raise CharacterFileError(f"character {name!r}, field {field!r}: {err['msg'].removeprefix('Value error, ')}") from None
    save_characters(store, [spec])
    return spec, current is None
