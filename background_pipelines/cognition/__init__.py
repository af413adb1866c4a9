"""Message-level cognition: scoring and pins, embeddings, session summaries, fact extraction, the
temporal knowledge graph and relationship scores. Engine functions only; no Dagster here."""

import importlib

# name -> submodule, imported on first use: the code location imports this package for StageResult
# and must not pay for numpy and every stage's dependencies when it loads
_LAZY = {
    "StageResult": "result",
    "score_messages": "scoring",
    "embed_messages": "embedding",
    "summarize_sessions": "summaries",
    "extract_facts": "facts",
    "update_knowledge_graph": "graph",
    "update_relationship_scores": "relationships",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
