"""Turning a question into search terms and entity candidates (shared by the retrieval modes)."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+", re.UNICODE)
STOPWORDS = frozenset(
    """a an the and or but if of at by for with about against between into through during before after
    above below to from up down in out on off over under again further then once here there when where why
    how all any both each few more most other some such no nor not only own same so than too very can will
    just don should now is are was were be been being have has had having do does did doing i me my myself
    we our ours you your yours he him his she her hers it its they them their what which who whom this that
    these those am would could tell know say said think anything something thing things much many also
    like get got""".split()
)


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text or "")]


def norm(name: str) -> str:
    """An entity's normalised name: lower case, single spaces, no surrounding punctuation."""
    return " ".join(words(name))


def query_terms(query: str, exclude: tuple[str | None, ...] = (), limit: int = 16) -> list[str]:
    """The content words of `query` (no stopwords, no words of the names in `exclude`), in order."""
    skip = set(STOPWORDS)
    for name in exclude:
        if name:
            skip.update(words(name))
    out: list[str] = []
    for w in words(query):
        if w not in skip and w not in out and (len(w) > 1 or w.isdigit()):
            out.append(w)
    return out[:limit]


def ngrams(query: str, max_n: int = 3) -> list[str]:
    """Every 1..max_n word sequence of `query` (unigrams without stopwords): entity-name candidates."""
    ws = words(query)
    out: list[str] = []
    for n in range(1, max_n + 1):
        for i in range(len(ws) - n + 1):
            gram = ws[i : i + n]
            if n == 1 and gram[0] in STOPWORDS:
                continue
            out.append(" ".join(gram))
    return out


# Question words that point at a relation predicate of the fact extractor (works_as, lives_in, ...):
# how a question about "job" or "city" reaches a fact that says "works as" or "lives in".
PREDICATE_CUES: dict[str, frozenset[str]] = {
    "works_as": frozenset("job jobs profession occupation role work works working career living title do".split()),
    "works_at": frozenset("company employer workplace firm work works working office employed".split()),
    "lives_in": frozenset("city town live lives living home based country where moved located".split()),
    "moving_to": frozenset("moving move relocating relocate".split()),
    "has_pet": frozenset("pet pets dog cat animal puppy kitten".split()),
    "partner_of": frozenset("partner wife husband girlfriend boyfriend spouse married".split()),
    "prefers": frozenset("prefer prefers preference answered answers reply replies style tone spoken addressed call".split()),
    "likes": frozenset("like likes enjoy enjoys hobby hobbies favourite favorite love loves".split()),
}


def predicates_for(query: str) -> set[str]:
    """The predicates a question asks about, by its cue words."""
    ws = set(words(query))
    return {p for p, cues in PREDICATE_CUES.items() if ws & cues}


def expand_terms(terms: list[str], query: str, limit: int = 24) -> list[str]:
    """`terms` plus the words of the predicates the question asks about (job -> works), for full-text."""
    out = list(terms)
    for p in sorted(predicates_for(query)):
        for w in p.split("_"):
            if w not in STOPWORDS and w not in out:
                out.append(w)
    return out[:limit]


def same_word(a: str, b: str) -> bool:
    """Loose word equality for matching questions to predicates and names (live ~ lives, work ~ working)."""
    if a == b:
        return True
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n >= 4 and n >= min(len(a), len(b)) - 1
