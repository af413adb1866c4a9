"""What recall returns: one `Hit` per conversation turn (speaker, session, time) carrying the facts,
summaries and relations that led to it as `context`; or, when asked by `kinds=`, derived items alone.
Every hit and every context item is traced to its source message ids."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

KINDS = ("message", "summary", "fact", "relation")


@dataclass
class Hit:
    kind: str  # message | summary | fact | relation
    id: int
    text: str
    score: float
    source_message_ids: list[int] = field(default_factory=list)
    valid_from: datetime | None = None
    valid_to: datetime | None = None  # when it stopped being true (invalidated/expired); None = current
    modes: dict[str, int] = field(default_factory=dict)  # mode -> rank (1-based) in that mode's list
    # turns only: who said it (user or character name), its kind, the session and channel; `at` is
    # the turn's time (the session date for a "when" question), the same as valid_from
    speaker: str | None = None  # the name the turn was written under
    speaker_kind: str | None = None  # user | character
    session: str | None = None
    channel: str | None = None
    context: list["Hit"] = field(default_factory=list)  # derived items that pointed at this turn
    speaker_id: str | None = None  # the user key ("platform:id") of a user's turn; a character's name
    # the days an event happened (facts: from the statement's time phrase, "last weekend"; a turn asked
    # "when": those of its best dated fact), and whether the statement ended the fact ("lost my job")
    event_start: datetime | None = None
    event_end: datetime | None = None
    ended: bool = False

    @property
    def at(self) -> datetime | None:
        return self.valid_from

    @property
    def key(self) -> tuple[str, int]:
        return (self.kind, self.id)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind,
            "id": self.id,
            "text": self.text,
            "score": round(self.score, 6),
            "source_message_ids": list(self.source_message_ids),
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_to": self.valid_to.isoformat() if self.valid_to else None,
            "modes": dict(self.modes),
            "speaker": self.speaker,
            "speaker_kind": self.speaker_kind,
            "speaker_id": self.speaker_id,
            "session": self.session,
            "channel": self.channel,
            "event_start": self.event_start.isoformat() if self.event_start else None,
            "event_end": self.event_end.isoformat() if self.event_end else None,
            "ended": self.ended,
            "context": [c.as_dict() for c in self.context],
        }
