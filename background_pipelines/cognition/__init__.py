"""Message-level cognition: scoring and pins, embeddings, session summaries, fact extraction, the
temporal knowledge graph and relationship scores. Engine functions only; no Dagster here."""

from background_pipelines.lazy import lazy_attributes

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


__getattr__ = lazy_attributes(__name__, _LAZY)
