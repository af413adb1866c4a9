"""The canonical message every importer produces, validated with pydantic, and its error reports.

Canonical JSONL is one JSON object per line with these fields:

    field        type                      required  meaning
    platform     str (<= 32 chars)         no        namespace of external_id; default "jsonl"
                                                     (`bgp ingest --platform` changes the default)
    external_id  str | int (<= 128 chars)  yes       id unique within the platform: the dedup key
    channel      str (<= 255)              yes       room / chat / DM the message was posted in
    session      str (<= 255)              yes       conversation the message belongs to
    author       str (<= 255)              yes       user name or character name (the display name)
    author_id    str | int (<= 222 chars)  no        the user's id on the platform, stable across
                                                     renames; default: author. The user is the account
                                                     (platform, author_id), stored as "platform:author_id"
    author_kind  "user" | "character"      no        default "user"
    role         "user"|"assistant"|"system" no      default "assistant" for characters, else "user"
    text         str (non-empty, no NUL)   yes       the message text (no string field may hold NUL)
    created_at   ISO 8601 str              yes       e.g. "2026-11-01T12:00:00Z"; naive = UTC

Unknown fields are ignored. (platform, external_id) is unique in the store: re-importing is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

DEFAULT_PLATFORM = "jsonl"
MAX_AUTHOR_ID = 222  # with a platform of <= 32 characters and ':', a user key fits 255


class CanonicalMessage(BaseModel):
    """One chat message in the shape the store keeps (see the module docstring for the schema)."""

    model_config = ConfigDict(extra="ignore")

    platform: str | None = Field(None, min_length=1, max_length=32)
    external_id: str | int
    channel: str = Field(min_length=1, max_length=255)
    session: str = Field(min_length=1, max_length=255)
    author: str = Field(min_length=1, max_length=255)
    author_id: str | int | None = None
    author_kind: Literal["user", "character"] = "user"
    role: Literal["user", "assistant", "system"] | None = None
    text: str = Field(min_length=1)
    created_at: datetime

    @field_validator("external_id")
    @classmethod
    def _external_id_fits(cls, value: str | int) -> str:
        value = str(value)
        if not value or len(value) > 128:
            raise ValueError("must be 1 to 128 characters")
        if "\x00" in value:
            raise ValueError("contains a NUL character")
        return value

    @field_validator("author_id")
    @classmethod
    def _author_id_fits(cls, value: str | int | None) -> str | None:
        if value is None:
            return None
        value = str(value)
        if not value or len(value) > MAX_AUTHOR_ID:
            raise ValueError(f"must be 1 to {MAX_AUTHOR_ID} characters")
        if "\x00" in value:
            raise ValueError("contains a NUL character")
        return value

    @field_validator("platform", "channel", "session", "author", "text")
    @classmethod
    def _has_no_nul(cls, value: str | None) -> str | None:
        if value is not None and "\x00" in value:  # PostgreSQL text cannot hold NUL; reject, never alter
            raise ValueError("contains a NUL character")
        return value

    @field_validator("created_at")
    @classmethod
    def _as_naive_utc(cls, value: datetime) -> datetime:
        return naive_utc(value)

    @model_validator(mode="after")
    def _default_role(self) -> "CanonicalMessage":
        if self.author_kind == "user" and self.author_id is None and len(self.author) > MAX_AUTHOR_ID:
            # the name stands in for the id: the key "platform:name" must fit the user columns
            raise ValueError(f"author: a user without author_id is keyed by name, which must be at most {MAX_AUTHOR_ID} characters")
        if self.role is None:
            # straight into the field storage: pydantic's __setattr__ costs ~1 us a record on bulk imports
            self.__dict__["role"] = "assistant" if self.author_kind == "character" else "user"
        return self


def naive_utc(value: datetime) -> datetime:
    """An aware time as naive UTC (naive is taken as UTC already). Raises ValueError, not
    OverflowError, when UTC falls outside years 1..9999 (0001-01-01T00:00:00+01:00)."""
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} is outside years 1..9999 in UTC") from None


@dataclass(frozen=True)
class Problem:
    """Why one record was rejected: where (file:line or record), which field, and the reason."""

    where: str
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: field '{self.field}': {self.reason}" if self.field else f"{self.where}: {self.reason}"


def problems_from(exc: ValidationError, where: str, field_prefix: str = "") -> list[Problem]:
    """One Problem per pydantic error, naming the field and showing a short excerpt of the bad value."""
    out = []
    for err in exc.errors(include_url=False):
        if err["type"] == "json_invalid":
            out.append(Problem(where, "", f"malformed JSON: {err.get('ctx', {}).get('error', err['msg'])}"))
            continue
        field = ".".join(str(p) for p in err["loc"])
        reason = err["msg"]
        if err["type"] != "missing" and err.get("input") is not None and not isinstance(err["input"], dict):
            reason += f" (got {_excerpt(err['input'])})"
        out.append(Problem(where, field_prefix + field, reason))
    return out


def _excerpt(value, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
