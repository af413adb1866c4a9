"""Entity-name normalization for resolution: accent-free lowercase tokens, legal suffixes and
articles dropped (the name's "core"), acronyms, and the blocking keys derived from them."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Legal-form suffixes and articles that say nothing about which organisation is meant.
LEGAL_SUFFIXES = frozenset(
    "inc incorporated corp corporation co company ltd limited llc plc gmbh ag sa srl bv nv lp llp pty".split()
)
STOPWORDS = frozenset("the a an".split())
_CONNECTIVES = frozenset("of and for de la le".split())  # skipped when forming an acronym
_TOKEN = re.compile(r"[a-z0-9]+")
MIN_TYPO_TEXT = 5  # shorter names only ever match exactly


def fold(text: str) -> str:
    """Lowercase ASCII fold: accents stripped, '&' read as 'and'."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.lower().replace("&", " and ")


def tokens(text: str) -> list[str]:
    """Word tokens of `text`; dotted initials ("N.Y.C.") join into one token ("nyc")."""
    folded = fold(text)
    folded = re.sub(r"\b(?:[a-z]\.){2,}", lambda m: m.group(0).replace(".", ""), folded)
    return _TOKEN.findall(folded.replace("'", ""))


def core_tokens(text: str) -> list[str]:
    """Tokens without legal suffixes and articles; the name itself when that would leave nothing."""
    toks = tokens(text)
    core = [t for t in toks if t not in LEGAL_SUFFIXES and t not in STOPWORDS]
    return core or toks


def acronym(core: list[str]) -> str | None:
    """Initials of a multi-word core ("new york city" -> "nyc"); None for one word."""
    words = [t for t in core if t not in _CONNECTIVES]
    if len(words) < 2:
        return None
    return "".join(w[0] for w in words)


@dataclass(frozen=True)
class NameKey:
    """Everything resolution needs to know about one name, computed once."""

    core: tuple[str, ...]
    sorted_core: str  # sorted tokens joined: equal for case/punctuation/suffix/word-order variants
    acronym: str | None  # initials of a multi-word core
    as_acronym: str | None  # the name itself when it looks like an acronym ("nyc", "ibm")

    @property
    def text(self) -> str:
        return " ".join(self.core)

    def blocking_keys(self) -> list[str]:
        """Keys that put likely duplicates in a common block: the sorted core (case, punctuation,
        suffix and word-order variants), the acronym, and the deletion neighbourhood of the core
        (the core with one character deleted: any two names one edit apart share such a key)."""
        keys = [f"s:{self.sorted_core}"]
        for a in (self.acronym, self.as_acronym):
            if a:
                keys.append(f"a:{a}")
        text = self.text
        if len(text) >= MIN_TYPO_TEXT:
            keys.append(f"d:{text}")
            keys += [f"d:{text[:i]}{text[i + 1:]}" for i in range(len(text))]
        return keys


def name_key(name: str) -> NameKey:
    core = core_tokens(name)
    as_acronym = None
    if len(core) == 1 and 2 <= len(core[0]) <= 6 and core[0].isalpha():
        raw = re.sub(r"[^A-Za-z]", "", name.split()[0] if name.split() else "")
        if raw.isupper() or "." in name:  # "NYC", "I.B.M." (an ordinary word is not an acronym)
            as_acronym = core[0]
    return NameKey(tuple(core), " ".join(sorted(core)), acronym(core), as_acronym)


def normalize_name(name: str) -> str:
    """A stable normalized form (lowercase folded tokens joined by spaces)."""
    return " ".join(tokens(name))
