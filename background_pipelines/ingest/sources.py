"""What every importer yields to the writer, and the gap-based sessionizer the exports share.

A source iterates items: `Record(label, payload)` (payload: JSON bytes or a dict in the canonical
shape, validated by the writer), `Skip(label, reason)` (counted, e.g. service messages) or
`Problem` (an invalid record found while mapping). `label` is a line number (int) or a record name.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

DEFAULT_SESSION_GAP = timedelta(minutes=30)


class Record(NamedTuple):
    label: int | str
    payload: bytes | dict


class Skip(NamedTuple):
    label: int | str
    reason: str


def where(path, label: int | str) -> str:
    return f"{path}:{label}" if isinstance(label, int) else f"{path}: {label}"


class GapSessions:
    """Session keys for one conversation: a new session starts after `gap` of silence. The key is
    the conversation key plus the UTC time of the session's first message, so it stays the same
    when a later, longer export of the same chat is imported."""

    def __init__(self, conversation: str, gap: timedelta = DEFAULT_SESSION_GAP):
        self.conversation = conversation
        self.gap = gap
        self._last: datetime | None = None
        self._key = ""

    def key(self, at: datetime) -> str:
        if self._last is None or at - self._last > self.gap:
            self._key = f"{self.conversation}:{at:%Y%m%dT%H%M%SZ}"
        if self._last is None or at > self._last:
            self._last = at
        return self._key
