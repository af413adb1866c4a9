"""`bgp demo-data`: a deterministic demo world (characters, users, sessions over two weeks) with
planted facts, a job change, aliases and significant events that later stages can be checked against.

`PLANTED_FACTS`, `PLANTED_EVENTS`, `PLANTED_ALIASES` and `PLANTED_CONTRADICTIONS` hold the ground
truth of the default world (seed 0, from 2026-11-01); `build_world(seed, start)` gives any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from background_pipelines.demo.world import (
    DEFAULT_SEED,
    DEFAULT_START,
    DemoWorld,
    PlantedAlias,
    PlantedContradiction,
    PlantedEvent,
    PlantedFact,
    build_world,
)
from background_pipelines.ingest import RecordResult, record_messages
from background_pipelines.store import Store
from background_pipelines.store.messages import upsert_characters, upsert_user_names
from background_pipelines.users.identity import user_key

__all__ = [
    "DEFAULT_SEED", "DEFAULT_START", "DemoResult", "DemoWorld", "PlantedAlias", "PlantedContradiction",
    "PlantedEvent", "PlantedFact", "build_world", "load_demo", "default_world",
]


@dataclass(frozen=True)
class DemoResult:
    world: DemoWorld
    characters: int
    users: int
    sessions: int
    messages: RecordResult

    def summary(self) -> str:
        m = self.messages
        return (f"demo world seed {self.world.seed} from {self.world.start}: {self.characters} characters, "
                f"{self.users} users, {self.sessions} sessions, {m.read} messages "
                f"(inserted {m.inserted}, already there {m.duplicates})")


def load_demo(store: Store, seed: int = DEFAULT_SEED, start: date = DEFAULT_START) -> DemoResult:
    """Write the demo world into `store` through the ingest path (platform "demo"); idempotent."""
    world = build_world(seed, start)
    upsert_characters(store, world.characters)
    result = record_messages(world.messages, store, platform="demo")
    upsert_user_names(store, [dict(name=user_key("demo", u["name"]), display_name=u["display_name"]) for u in world.users])
    return DemoResult(world, len(world.characters), len(world.users), len(world.sessions), result)


@lru_cache(maxsize=1)
def default_world() -> DemoWorld:
    return build_world(DEFAULT_SEED, DEFAULT_START)


def __getattr__(name: str):
    # Ground truth of the default world, built on first use (a few hundred milliseconds).
    planted = {
        "PLANTED_FACTS": "facts",
        "PLANTED_EVENTS": "events",
        "PLANTED_ALIASES": "aliases",
        "PLANTED_CONTRADICTIONS": "contradictions",
    }
    if name in planted:
        return list(getattr(default_world(), planted[name]))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
