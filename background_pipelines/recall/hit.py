"""What recall returns: one `Hit` per message, summary, fact or relation, traced to its messages."""

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
        }
