"""Telegram Desktop exports (result.json): one chat, or a full export with many chats.

Mapping: platform "telegram"; external_id "<chat id>:<message id>"; channel = chat name (or
"chat <id>"); session = "telegram:<chat id>:<UTC start>" with a new session after the gap (default
30 min) of silence; author = "from" (or "from_id" when the name is empty); accounts named by
`characters` (name or from_id) are characters, everyone else a user. "text" may be a string or a list
of entity parts (strings or {"type", "text"} objects) and is flattened. Service messages (joins,
pins, calls) and messages without text (media only) are skipped and counted. Time: date_unixtime
(UTC epoch) when present, else "date" read as UTC.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

from background_pipelines.ingest.model import Problem, naive_utc
from background_pipelines.ingest.reader import CountingReader, capture, json_events
from background_pipelines.ingest.sources import DEFAULT_SESSION_GAP, GapSessions, Record, Skip, where

_CHAT_PREFIXES = ("", "chats.list.item", "left_chats.list.item")


def _join(base: str, key: str) -> str:
    return f"{base}.{key}" if base else key


_MESSAGES = {_join(p, "messages.item"): p for p in _CHAT_PREFIXES}
_CHAT_FIELDS = {_join(p, k): (p, k) for p in _CHAT_PREFIXES for k in ("name", "id", "type")}
_VALUES = frozenset(_MESSAGES) | frozenset(_CHAT_FIELDS)
_STARTS = frozenset(p for p in _CHAT_PREFIXES if p)


def flatten_text(text) -> str | None:
    """A Telegram "text" value as plain text: a string, or a list of strings and entity objects."""
    if isinstance(text, str):
        return text
    if isinstance(text, list):
        parts = []
        for part in text:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            else:
                return None
        return "".join(parts)
    return None


def _timestamp(msg: dict) -> datetime | None:
    unix = msg.get("date_unixtime")
    if unix is not None:
        try:
            return datetime.fromtimestamp(int(unix), timezone.utc).replace(tzinfo=None)
        except (TypeError, ValueError, OverflowError):
            return None
    date = msg.get("date")
    if isinstance(date, str):
        try:
            parsed = datetime.fromisoformat(date)
        except ValueError:
            return None
        try:
            return naive_utc(parsed)
        except ValueError:  # outside years 1..9999 in UTC
            return None
    return None


class TelegramSource:
    def __init__(
        self,
        path: Path,
        reader: CountingReader,
        *,
        characters: frozenset[str] = frozenset(),
        session_gap: timedelta = DEFAULT_SESSION_GAP,
        **_options,
    ):
        self.path, self.reader = path, reader
        self.characters = characters
        self.session_gap = session_gap

    @property
    def bytes_read(self) -> int:
        return self.reader.bytes_read

    def __iter__(self) -> Iterator[Record | Skip | Problem]:
        chat: dict = {}
        sessions: GapSessions | None = None
        index = 0
        for kind, prefix, value in capture(json_events(self.path, self.reader), _VALUES, _STARTS):
            if kind == "start":
                chat, sessions = {}, None
            elif prefix in _CHAT_FIELDS:
                chat[_CHAT_FIELDS[prefix][1]] = value
            else:
                index += 1
                if sessions is None:
                    sessions = GapSessions(f"telegram:{chat.get('id')}", self.session_gap)
                yield self._map(chat, value, index, sessions)

    def _map(self, chat: dict, msg, index: int, sessions: GapSessions) -> Record | Skip | Problem:
        name = chat.get("name") or (f"chat {chat['id']}" if chat.get("id") is not None else None)
        label = f"chat {name!r} message #{index}"
        if not isinstance(msg, dict):
            return Problem(where(self.path, label), "", "a message must be a JSON object")
        msg_id = msg.get("id")
        if isinstance(msg_id, int):
            label = f"chat {name!r} message id={msg_id}"
        here = where(self.path, label)
        if chat.get("id") is None:
            return Problem(here, "id", "the chat's id is missing or comes after its messages")
        kind = msg.get("type", "message")
        if kind != "message":
            return Skip(label, "service" if kind == "service" else f"type {kind}")
        if not isinstance(msg_id, int):
            return Problem(here, "id", f"message id must be an integer (got {msg_id!r})")
        text = flatten_text(msg.get("text"))
        if text is None:
            return Problem(here, "text", "must be a string or a list of strings and {type, text} parts")
        if not text.strip():
            return Skip(label, "no text")
        created = _timestamp(msg)
        if created is None:
            return Problem(here, "date", "missing or not a date (needs date_unixtime or an ISO 8601 date)")
        author = msg.get("from") or msg.get("from_id")
        if not isinstance(author, str) or not author:
            return Problem(here, "from", "missing author (neither from nor from_id)")
        from_id = msg.get("from_id")
        is_character = author in self.characters or (from_id is not None and str(from_id) in self.characters)
        return Record(
            label,
            dict(
                platform="telegram",
                external_id=f"{chat['id']}:{msg_id}",
                channel=str(name),
                session=sessions.key(created),
                author=author,
                author_id=from_id if from_id not in (None, "") else None,  # "user123": stable across renames
                author_kind="character" if is_character else "user",
                text=text,
                created_at=created,
            ),
        )
