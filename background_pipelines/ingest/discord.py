"""DiscordChatExporter JSON: {"guild": {...}, "channel": {...}, "messages": [...]} for one channel.

Mapping: platform "discord"; external_id = message id (a globally unique snowflake); channel =
"<guild name>/<channel name>"; session = "discord:<channel id>:<UTC start>", a new session after
the gap (default 30 min) of silence; author = author.name; bots (author.isBot) and accounts named by
`characters` (name, nickname or id) are characters. Messages of type Default and Reply are imported;
other types (joins, pins, calls, thread notices) and messages without text are skipped and counted.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Iterator

from background_pipelines.ingest.model import Problem, naive_utc
from background_pipelines.ingest.reader import CountingReader, capture, json_events
from background_pipelines.ingest.sources import DEFAULT_SESSION_GAP, GapSessions, Record, Skip, where

_VALUES = frozenset({"guild", "channel", "messages.item"})
_TEXT_TYPES = ("Default", "Reply")


def _parse_time(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    try:
        return naive_utc(parsed)
    except ValueError:  # outside years 1..9999 in UTC
        return None


class DiscordSource:
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
        guild: dict = {}
        channel: dict = {}
        sessions: GapSessions | None = None
        index = 0
        for _kind, prefix, value in capture(json_events(self.path, self.reader), _VALUES):
            if prefix == "guild":
                guild = value if isinstance(value, dict) else {}
            elif prefix == "channel":
                channel = value if isinstance(value, dict) else {}
            else:
                index += 1
                if sessions is None:
                    sessions = GapSessions(f"discord:{channel.get('id')}", self.session_gap)
                yield self._map(guild, channel, value, index, sessions)

    def _map(self, guild: dict, channel: dict, msg, index: int, sessions: GapSessions) -> Record | Skip | Problem:
        label = f"message #{index}"
        if not isinstance(msg, dict):
            return Problem(where(self.path, label), "", "a message must be a JSON object")
        msg_id = msg.get("id")
        if isinstance(msg_id, str) and msg_id:
            label = f"message id={msg_id}"
        here = where(self.path, label)
        if not channel.get("id") or not channel.get("name"):
            return Problem(here, "channel", "the channel (id, name) is missing or comes after the messages")
        kind = msg.get("type", "Default")
        if kind not in _TEXT_TYPES:
            return Skip(label, f"type {kind}")
        if not isinstance(msg_id, str) or not msg_id:
            return Problem(here, "id", f"must be a non-empty string (got {msg_id!r})")
        content = msg.get("content")
        if not isinstance(content, str):
            return Problem(here, "content", f"must be a string (got {type(content).__name__})")
        if not content.strip():
            return Skip(label, "no text")
        created = _parse_time(msg.get("timestamp"))
        if created is None:
            return Problem(here, "timestamp", f"missing or not ISO 8601 (got {msg.get('timestamp')!r})")
        author = msg.get("author")
        name = author.get("name") if isinstance(author, dict) else None
        if not isinstance(name, str) or not name:
            return Problem(here, "author.name", "missing author name")
        names = {name, str(author.get("id")), str(author.get("nickname"))}
        is_character = bool(author.get("isBot")) or not names.isdisjoint(self.characters)
        guild_name = guild.get("name") or "Direct Messages"
        return Record(
            label,
            dict(
                platform="discord",
                external_id=msg_id,
                channel=f"{guild_name}/{channel['name']}",
                session=sessions.key(created),
                author=name,
                # the account id, stable across renames; a name-only export falls back to the name
                author_id=author.get("id") if author.get("id") not in (None, "") else None,
                author_kind="character" if is_character else "user",
                text=content,
                created_at=created,
            ),
        )
