"""Which of many regular expressions can match a text, without running them: each pattern's required
strings, read from its parsed form, index it by a few 4-character pieces that the text must hold. The
fact rules match ~2% of chat messages; the index lets the regex engine skip the rest (same matches)."""

from __future__ import annotations

import re
from itertools import product
from typing import Callable, Sequence

try:  # Python 3.11+
    from re import _constants as _c
    from re import _parser as _sre
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _sre  # type: ignore[no-redef]

# the characters whose lower case is not the ASCII letter re.IGNORECASE matches them to
_FOLD = str.maketrans({"İ": "i", "ı": "i", "ſ": "s"})
_ASCII = frozenset(chr(c) for c in range(32, 127))
_MAX_SET = 64  # strings a set may hold before it is given up (alternations multiply)
_MAX_CLASS = 4  # characters of a class turned into alternatives ([Mm], [eé] are one or two)
_ENOUGH = 5  # characters of a substring beyond which a longer one is not preferred to fewer ones

Score = Callable[[set[str]], tuple | None]  # higher is better; None: the set is of no use


def fold(text: str) -> str:
    """`text` as the sets are written: lower case, with re's extra case folds applied."""
    return text.translate(_FOLD).lower()


def _safe(ch: str) -> bool:
    # ASCII, or a character without case (’ “ –): whatever matches it folds to what fold() writes
    return ch in _ASCII or ch.lower() == ch == ch.upper()


# -- required sets from the parsed pattern ------------------------------------------------------------
# A "required set" of a pattern: strings, one of which is a substring of the fold() of every match.
# A run of consecutive items that each match one of a few exact strings gives one: the cross
# product of any contiguous part of the run. Zero-width items (\b, lookarounds) match "".


def _cross(a: set[str], b: set[str]) -> set[str] | None:
    if len(a) * len(b) > _MAX_SET:
        return None
    return {x + y for x, y in product(a, b)}


def _pick(a: set[str] | None, b: set[str] | None, score: Score) -> set[str] | None:
    sa = score(a) if a else None
    sb = score(b) if b else None
    if sb is None:
        return a if sa is not None else None
    if sa is None:
        return b
    return a if sa >= sb else b


def _exact(op, av) -> set[str] | None:
    """The strings one item matches exactly, when few and all safe characters; None otherwise."""
    if op is _c.LITERAL:
        ch = chr(av)
        return {fold(ch)} if _safe(ch) else None
    if op is _c.IN:
        chars = set()
        for kind, value in av:
            if kind is not _c.LITERAL:
                return None  # a range, a category, a negation
            chars.add(chr(value))
        if not chars or len(chars) > _MAX_CLASS or not all(_safe(ch) for ch in chars):
            return None
        return {fold(ch) for ch in chars}
    if op in (_c.AT, _c.ASSERT, _c.ASSERT_NOT):
        return {""}
    if op is _c.SUBPATTERN:
        return _whole(av[-1])
    if op is _c.BRANCH:
        out: set[str] = set()
        for branch in av[1]:
            e = _whole(branch)
            if e is None:
                return None
            out |= e
            if len(out) > _MAX_SET:
                return None
        return out
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT):
        lo, hi, item = av
        if (lo, hi) == (1, 1):
            return _whole(item)
        if (lo, hi) == (0, 1):
            e = _whole(item)
            return None if e is None else e | {""}
    return None


def _whole(items) -> set[str] | None:
    """Every string the sequence matches, when few and exact; None otherwise."""
    out: set[str] | None = {""}
    for op, av in items:
        e = _exact(op, av)
        out = None if e is None else _cross(out, e)
        if out is None:
            return None
    return out


def _inner(op, av, score: Score) -> set[str] | None:
    """A required set from inside an item that matches no few exact strings."""
    if op is _c.SUBPATTERN:
        return _best(av[-1], score)
    if op is _c.BRANCH:
        out: set[str] = set()
        for branch in av[1]:
            r = _best(branch, score)
            if not r:
                return None
            out |= r
        return out if score(out) is not None else None
    if op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)) and av[0] >= 1:
        return _best(av[2], score)
    if op is getattr(_c, "ATOMIC_GROUP", None):
        return _best(av, score)
    return None


def _best_of_run(run: list[set[str]], score: Score) -> set[str] | None:
    best: set[str] | None = None
    for i in range(len(run)):
        joined: set[str] | None = {""}
        for j in range(i, len(run)):
            joined = _cross(joined, run[j])
            if joined is None:
                break
            best = _pick(best, joined, score)
            if j + 1 < len(run) and len(run[j + 1]) > 1 and min(map(len, joined)) >= _ENOUGH:
                break  # long enough: going on would only multiply the strings
    return best


def _best(items, score: Score) -> set[str] | None:
    """The best-scoring required set of a sequence, or None."""
    best: set[str] | None = None
    run: list[set[str]] = []
    for op, av in items:
        e = _exact(op, av)
        if e is not None:
            run.append(e)
            continue
        best = _pick(best, _best_of_run(run, score), score)
        best = _pick(best, _inner(op, av, score), score)
        run = []
    return _pick(best, _best_of_run(run, score), score)


# -- the index: every rule keyed by a few 4-letter pieces of its required strings -------------------

_N = 4  # a required string of N+ characters holds each of its N-grams: the text must hold one too
_SPACEY = " ,.'"


def _substring_score(s: set[str]) -> tuple | None:
    shortest = min(len(x) for x in s)
    if shortest == 0:
        return None
    return (min(shortest, _ENOUGH), -len(s), shortest)


def _gram_cover(s: frozenset[str]) -> frozenset[str]:
    """Few N-grams such that each string of `s` (all N+ long) holds one: a greedy set cover where a
    gram with spaces or punctuation costs more (" in " is in far more texts than "flat")."""
    grams = {x: {x[i : i + _N] for i in range(len(x) - _N + 1)} for x in s}
    uncovered, keys = set(s), set()
    while uncovered:
        pool = sorted({g for x in uncovered for g in grams[x]})
        g = max(pool, key=lambda g: sum(g in grams[x] for x in uncovered) / (1 + 3 * sum(c in _SPACEY for c in g)))
        keys.add(g)
        uncovered = {x for x in uncovered if g not in grams[x]}
    return frozenset(keys)


def required_strings(pattern: re.Pattern) -> frozenset[str] | None:
    """Strings, one of which is in the fold() of every match of `pattern`; None when there is none
    worth testing (the pattern may match anything)."""
    best = _best(list(_sre.parse(pattern.pattern, pattern.flags)), _substring_score)
    return frozenset(best) if best else None


class RuleIndex:
    """The patterns of a rule list, indexed by N-grams of their required strings: `candidates(text)`
    names, in order, the patterns that may match `text` (a superset of those that do)."""

    def __init__(self, patterns: Sequence[re.Pattern]):
        self.size = len(patterns)
        self._by_gram: dict[str, list[int]] = {}
        self._short: list[tuple[int, frozenset[str]]] = []  # required strings shorter than N: tested as such
        self._always: list[int] = []
        self.keys: list[tuple[str, ...]] = []  # per pattern, for a reader (and the tests)
        for i, p in enumerate(patterns):
            req = required_strings(p)
            if req is None:
                self._always.append(i)
                self.keys.append(())
            elif min(map(len, req)) < _N:
                self._short.append((i, req))
                self.keys.append(tuple(sorted(req)))
            else:
                cover = _gram_cover(req)
                for g in cover:
                    self._by_gram.setdefault(g, []).append(i)
                self.keys.append(tuple(sorted(cover)))
        self._grams = frozenset(self._by_gram)

    def candidates(self, text: str) -> list[int]:
        folded = fold(text)
        out = set(self._always)
        for g in self._grams.intersection([folded[i : i + _N] for i in range(len(folded) - _N + 1)]):
            out.update(self._by_gram[g])
        for i, req in self._short:
            if any(s in folded for s in req):
                out.add(i)
        return sorted(out)
