"""plan_user_graph, the pure core of the knowledge graph: a function of the set of facts, with
episodes in message time (a job change supersedes, an ending ends, a later mention starts anew)."""

from __future__ import annotations

import random
from datetime import datetime

from background_pipelines.cognition.graph import plan_user_graph


def _fact(i: int, day: int, predicate: str, obj: str, ended: bool = False, subject: str | None = None) -> dict:
    return dict(id=i, user_name="dana", subject=subject or "dana", kind="fact", predicate=predicate, object=obj,
                confidence=0.8, valid_from=datetime(2026, 11, day, 10), source_message_ids=[100 + i],
                ended=ended, event_start=None)


FACTS = [
    _fact(1, 1, "works_at", "Initech"),
    _fact(2, 3, "works_at", "Initech Inc."),
    _fact(3, 5, "works_at", "Globex"),
    _fact(4, 7, "works_at", "Initech"),
    _fact(5, 2, "lives_in", "New York City"),
    _fact(6, 4, "lives_in", "NYC"),
    _fact(7, 6, "works_as", "architect", ended=True),
    _fact(8, 2, "works_as", "architect"),
    _fact(9, 3, "lives_in", "Berlin", subject="dana's sister"),
]


def _rows(plan) -> list[tuple]:
    return [(r.src_norm, r.predicate, r.dst_norm, r.valid_from.day, r.invalidated_at and r.invalidated_at.day, r.weight, tuple(r.source_fact_ids))
            for r in plan.relations]


def test_plan_is_the_same_for_every_order_of_the_facts():
    expected = _rows(plan_user_graph("dana", FACTS))
    rng = random.Random(14)
    for _ in range(20):
        shuffled = FACTS[:]
        rng.shuffle(shuffled)
        assert _rows(plan_user_graph("dana", shuffled)) == expected


def test_episodes_follow_message_time():
    rows = {(p, d, v): (inv, w, src) for _s, p, d, v, inv, w, src in _rows(plan_user_graph("dana", FACTS))}
    # Initech twice, then Globex (supersedes on day 5), then Initech again: a new episode from day 7
    assert rows[("works_at", "initech", 1)] == (5, 2.0, (1, 2))
    assert rows[("works_at", "globex", 5)] == (7, 1.0, (3,))
    assert rows[("works_at", "initech", 7)] == (None, 1.0, (4,))
    # an abbreviation of the user's own place is the same place, not a move
    assert rows[("lives_in", "new york city", 2)] == (None, 2.0, (5, 6))
    # "I'm no longer an architect" ends the job on its day and cites the ending
    assert rows[("works_as", "architect", 2)] == (6, 1.0, (7, 8))
    # a relative's fact hangs off the relative's entity
    assert ("dana s sister", "lives_in", "berlin", 3) in {(s, p, d, v) for s, p, d, v, *_ in _rows(plan_user_graph("dana", FACTS))}
