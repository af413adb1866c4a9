"""Message-level cognition: scoring and pins, embeddings, session summaries, fact extraction, the
temporal knowledge graph and relationship scores. Engine functions only; no Dagster here."""

from background_pipelines.cognition.embedding import embed_messages
from background_pipelines.cognition.facts import extract_facts
from background_pipelines.cognition.graph import update_knowledge_graph
from background_pipelines.cognition.relationships import update_relationship_scores
from background_pipelines.cognition.result import StageResult
from background_pipelines.cognition.scoring import score_messages
from background_pipelines.cognition.summaries import summarize_sessions

__all__ = [
    "StageResult",
    "score_messages",
    "embed_messages",
    "summarize_sessions",
    "extract_facts",
    "update_knowledge_graph",
    "update_relationship_scores",
]
