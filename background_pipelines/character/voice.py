"""A character's voice for the offline writers: traits read from its persona and voice notes
(lowercase, emoji, exclamations, formal, terse, poetic) applied to composed text, and third-person
summaries turned into first person."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TRAITS = {
    "lowercase": ("lowercase", "lower case", "no capitals", "never capitalizes", "never capitalises"),
    "emoji": ("emoji", "emojis", "emoticon"),
    "exclaim": ("exclamation", "enthusiastic", "bubbly", "energetic", "cheerful", "excitable", "upbeat"),
    "formal": ("formal", "polite", "victorian", "proper", "old-fashioned", "courteous", "archaic"),
    "terse": ("terse", "short sentences", "laconic", "brief", "dry", "blunt", "few words"),
    "poetic": ("poetic", "lyrical", "dreamy", "poet", "metaphor", "whimsical"),
}
_CONTRACTIONS = {"I'm": "I am", "I'll": "I shall", "I've": "I have", "don't": "do not", "can't": "cannot", "it's": "it is", "didn't": "did not", "won't": "will not"}
_EMOJI_BY_MOOD = {"bright": " ✨", "heavy": " 🌧️", "mixed": " 🌗", "quiet": " 🌙"}


@dataclass(frozen=True)
class Voice:
    lowercase: bool = False
    emoji: bool = False
    exclaim: bool = False
    formal: bool = False
    terse: bool = False
    poetic: bool = False

    @classmethod
    def from_notes(cls, persona: str, voice: str) -> "Voice":
        # Voice notes decide first; the persona only adds traits the notes do not contradict.
        notes = f"{voice or ''} {persona or ''}".lower()
        flags = {k: any(w in notes for w in words) for k, words in _TRAITS.items()}
        if "no emoji" in notes or "never uses emoji" in notes:
            flags["emoji"] = False
        return cls(**flags)

    def opener(self, weekday: str, day: str) -> str:
        if self.formal:
            return f"Dear diary, this {weekday}, the {day}, deserves an honest account."
        if self.terse:
            return f"{weekday}."
        if self.poetic:
            return "The day folded itself away, and this is what it left in my hands."
        return f"Dear diary, {weekday} again."

    def apply(self, text: str, mood: str = "quiet") -> str:
        """Restyle composed text in this voice (deterministic)."""
        out = text
        if self.formal:
            for short, full in _CONTRACTIONS.items():
                out = out.replace(short, full)
        if self.terse:
            out = "\n".join(_terse(line) for line in out.split("\n"))
        if self.exclaim and not self.formal:
            out = re.sub(r"(?<![.!?])\.(\s|$)", _exclaim_every_other(), out)
        if self.emoji:
            out = out.rstrip() + _EMOJI_BY_MOOD.get(mood, " 🌙")
        if self.lowercase:
            out = out.lower()
        return out


def _terse(line: str) -> str:
    # Keep each sentence's main clause: cut at the first comma or dash.
    parts = re.split(r"(?<=[.!?])\s+", line)
    return " ".join(p if not p or "“" in p else re.split(r",\s|;\s|\s—\s|\s-\s", p)[0].rstrip(".!?") + "." for p in parts)


def _exclaim_every_other():
    state = {"n": 0}

    def repl(match: re.Match) -> str:
        state["n"] += 1
        return ("!" if state["n"] % 2 else ".") + match.group(1)

    return repl


def first_person(text: str, name: str) -> str:
    """A summary about `name` told by `name`: "Bob told Aria" -> "Bob told me", "Aria asked" -> "I asked"."""
    if not name:
        return text
    n = re.escape(name)
    out = re.sub(rf"(^|[.!?;]\s+){n}'s\b", lambda m: m.group(1) + "My", text)
    out = re.sub(rf"\b{n}'s\b", "my", out)
    out = re.sub(rf"(^|[.!?;]\s+){n}\b", lambda m: m.group(1) + "I", out)
    out = re.sub(rf"\b(and|but|while|then|so) {n}\b", lambda m: f"{m.group(1)} I", out)
    return re.sub(rf"\b{n}\b", "me", out)
