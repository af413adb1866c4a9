"""The LLM and embedding gateway: every piece of cognition goes through `Gateway.run(task, inputs)`
and `get_embedder(settings)`; the offline backend is the embedded default."""

from __future__ import annotations

import importlib

__all__ = ["Gateway", "get_embedder", "embed_and_save", "Embedder", "Task", "Outcome", "Usage"]

# Lazy, so importing the code location (or llm.task, as every cognition module does) does not load
# httpx and the gateway: a run that never calls the LLM never pays for them.
_HOMES = {
    "Gateway": "gateway", "get_embedder": "embedders", "Embedder": "embedders", "embed_and_save": "embed_batches",
    "Task": "task", "Outcome": "task", "Usage": "task",
}


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(importlib.import_module(f"background_pipelines.llm.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'background_pipelines.llm' has no attribute {name!r}")
