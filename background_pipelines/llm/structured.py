"""Structured output: the response_format ladder (json_schema -> json_object -> text), pulling the
first JSON object out of a free-text answer, and validating it against the task's pydantic schema."""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError

# The ladder a gateway walks down when a server rejects a response_format (remembered per gateway).
MODES = ("json_schema", "json_object", "text")
TASK_MARKER = "[task:{name}]"  # in the format hint, so a server (ours) can tell which task asks
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)


class AnswerError(ValueError):
    """The answer is not valid JSON (`kind` invalid_json) or does not match the schema (schema_mismatch)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


@functools.lru_cache(maxsize=256)
def _schema_text(schema: type[BaseModel]) -> str:
    return json.dumps(schema.model_json_schema(), separators=(",", ":"))


def json_schema_of(schema: type[BaseModel]) -> dict:
    """The task schema as JSON Schema (computed once per class: pydantic rebuilds it on every call)."""
    return json.loads(_schema_text(schema))


def response_format(mode: str, task_name: str, schema: type[BaseModel]) -> dict | None:
    if mode == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": task_name, "schema": json_schema_of(schema), "strict": False}}
    if mode == "json_object":
        return {"type": "json_object"}
    return None


def with_format_hint(messages: list[dict], mode: str, task_name: str, schema: type[BaseModel]) -> list[dict]:
    """json_object and text modes carry the schema in a system message (json_object also needs the word JSON)."""
    if mode == "json_schema":
        return messages
    hint = (
        f"{TASK_MARKER.format(name=task_name)} Answer with one JSON object only, no prose, matching this "
        f"JSON schema: {_schema_text(schema)}"
    )
    return [*messages, {"role": "system", "content": hint}]


def extract_json(text: str) -> Any:
    """The answer as JSON: the whole text, else a fenced block, else the first decodable {...} in it."""
    text = (text or "").strip()
    if not text:
        raise AnswerError("invalid_json", "the answer is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    for block in _FENCE.findall(text):
        try:
            return json.loads(block.strip())
        except json.JSONDecodeError:
            continue
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
            return value
        except json.JSONDecodeError:
            continue
    raise AnswerError("invalid_json", "the answer holds no JSON object")


@functools.lru_cache(maxsize=256)
def _field_names(schema: type[BaseModel]) -> frozenset[str]:
    return frozenset(n for name, f in schema.model_fields.items() for n in (name, f.alias) if n)


def parse_answer(text: str, schema: type[BaseModel]) -> BaseModel:
    """Validate a raw answer against `schema`; raises AnswerError saying what is wrong. An object
    carrying none of the schema's fields is wrong-shape even when every field has a default (`{}`
    or another task's answer would otherwise validate as an empty result and be cached as done)."""
    data = extract_json(text)
    names = _field_names(schema)
    if isinstance(data, dict) and names and names.isdisjoint(data):
        got = ", ".join(sorted(map(str, data))[:8]) or "no keys"
        raise AnswerError(
            "schema_mismatch",
            f"the JSON carries none of the {schema.__name__} fields ({', '.join(sorted(names))}); got {got}",
        )
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()[:8]
        )
        raise AnswerError("schema_mismatch", f"the JSON does not match the {schema.__name__} schema: {problems}") from None


def repair_messages(messages: list[dict], raw: str, error: AnswerError, schema: type[BaseModel]) -> list[dict]:
    """The conversation extended by the bad answer and what was wrong with it, asking for a fix."""
    return [
        *messages,
        {"role": "assistant", "content": raw},
        {
            "role": "user",
            "content": (
                f"That answer could not be used: {error}. Reply again with only one JSON object matching "
                f"this JSON schema: {_schema_text(schema)}"
            ),
        },
    ]
