"""The fact rules' index (cognition/literals.py) changes what statements_in costs, never what it finds:
the fast path equals the rule-by-rule reference on real and generated chat, through case folds too."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from background_pipelines.cognition import statements
from background_pipelines.cognition.literals import RuleIndex, fold, required_strings
from background_pipelines.cognition.statements import statements_in
from background_pipelines.demo.world import build_world

LABELS = Path(__file__).resolve().parent.parent / "benchmarks" / "data" / "fact_labels.jsonl"


def _differences(texts) -> list[tuple[str, list, list]]:
    out = []
    for text in texts:
        fast, ref = statements_in(text), statements_in(text, prefilter=False)
        if fast != ref:
            out.append((text, fast, ref))
    return out


def _variants(text: str) -> list[str]:
    # case changes and the characters re.IGNORECASE folds onto ASCII letters in ways str.lower() does not
    return [text, text.upper(), text.title(), text.replace("i", "İ"), text.replace("I", "ı"), text.replace("s", "ſ")]


def test_same_statements_on_labelled_real_chat():
    texts = [json.loads(line)["text"] for line in LABELS.read_text(encoding="utf-8").splitlines() if line.strip()]
    found = sum(bool(statements_in(t, prefilter=False)) for t in texts)
    assert found > 100  # the set exercises the rules: most labelled messages state something
    assert _differences(t for text in texts for t in _variants(text)) == []


def test_same_statements_on_the_demo_world():
    world = build_world()
    texts = [m["text"] for m in world.messages]
    assert sum(bool(statements_in(t, prefilter=False)) for t in texts) > 50
    assert _differences(texts) == []


def test_same_statements_on_chitchat():
    """258k real messages (the bench extra's chitchat-dataset): every one gives the reference's list."""
    chitchat = pytest.importorskip("chitchat_dataset")
    with open(chitchat._PATH) as fh:
        data = json.load(fh)
    texts = [(m.get("text") or "").strip() for conv in data.values() for turn in conv["messages"] for m in turn]
    texts = [t for t in texts if t]
    assert len(texts) > 250_000
    assert _differences(texts) == []


def test_folded_ascii_letters_cover_every_ignorecase_match():
    """fold() maps each character re.IGNORECASE matches to an ASCII letter or digit onto that letter:
    the index's lower-case keys then hold for every text a case-insensitive rule matches."""
    cased = [chr(c) for c in range(0x110000) if chr(c).lower() != chr(c) or chr(c).upper() != chr(c)]
    for p in string.ascii_lowercase + string.digits:
        rx = re.compile(p, re.IGNORECASE)
        for ch in cased + [p, p.upper()]:
            if rx.fullmatch(ch):
                assert fold(ch) == p, (p, ch, hex(ord(ch)))


def test_required_strings_are_in_every_match():
    rx = re.compile(r"\bmy (?:new |old )?(?P<pet>dog|cat)(?:,)? (?:is )?named [A-Z][a-z]+", re.IGNORECASE)
    req = required_strings(rx)
    assert req and all(len(s) >= 4 for s in req)
    for text in ("My dog named Rex", "my new cat, is named Tom", "MY OLD DOG NAMED Bo"):
        m = rx.search(text)
        assert m and any(s in fold(m.group(0)) for s in req), (text, req)
    index = RuleIndex([rx, re.compile(r"\d+")])  # the second has no required string: always a candidate
    assert index.candidates("I have a dog named Rex") == [0, 1]
    assert index.candidates("nothing here") == [1]


def test_a_rule_added_after_first_use_is_indexed():
    statements_in("I work at Acme Corp.")
    rx = re.compile(r"\bi collect (?P<obj>stamps|coins)\b", re.IGNORECASE)
    rule = (rx, lambda m: statements._fact("likes", m.group("obj").lower(), 0.7))
    statements._RULES.append(rule)
    try:
        assert [(s.predicate, s.object) for s in statements_in("I collect stamps.")] == [("likes", "stamps")]
        assert statements_in("I collect stamps.") == statements_in("I collect stamps.", prefilter=False)
    finally:
        statements._RULES.remove(rule)
    assert statements_in("I collect stamps.") == []
