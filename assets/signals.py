"""Message signals: importance/significance scores (with auto-pins), message embeddings and
relationship scores. None of them needs the chat LLM: scores use it only when an endpoint is set."""

from __future__ import annotations

import dagster as dg

from assets._message_level import stage_asset
from assets import knowledge
from assets.latency import SENSORY, SOCIAL
from assets.partitions import past_days
from background_pipelines.cognition import embedding, relationships, scoring
from background_pipelines.config import Settings


def definitions(settings: Settings) -> dg.Definitions:
    llm_scoring = bool(settings.llm_base_url) and settings.chat_llm_enabled
    scores = stage_asset(
        settings,
        name="message_scores",
        engine_fn=scoring.score_messages,
        version=scoring.VERSION,
        description=(
            "Importance 0..1 (noise < 0.3 <= weak_signal < 0.7 <= signal) from content, author activity, recency "
            "and topic factors, all stored; significance 0..3 (3 = life event) auto-pins the memory for the "
            "characters of the session, at most 8 auto-pins each (the oldest is unpinned)."
        ),
        group_name="message_signals",
        latency=SENSORY,
        # the topic factor reads the facts of the days before a message's day (scoring.TOPIC_DAYS)
        deps=["messages"] + ([dg.AssetDep("extracted_facts", partition_mapping=past_days(scoring.TOPIC_DAYS))]
                             if knowledge.enabled(settings) else []),
        worker="gateway",
        calls_llm=llm_scoring,
        trigger="scoring",
    )
    embeddings = stage_asset(
        settings,
        name="message_embeddings",
        engine_fn=embedding.embed_messages,
        version=embedding.VERSION,
        description="One vector per message from the configured embedder (BGP_EMBEDDING_BACKEND), in batches of 100; messages already embedded with the same model are skipped.",
        group_name="message_signals",
        latency=SENSORY,
        deps=["messages"],
        worker="embedder",
        calls_llm=False,
        trigger="scoring",
    )
    rel = stage_asset(
        settings,
        name="relationship_scores",
        engine_fn=relationships.update_relationship_scores,
        version=relationships.VERSION,
        description="Familiarity 0..1 per (user, character) from the messages and sessions they shared and how recent they are.",
        group_name="message_signals",
        latency=SOCIAL,
        deps=["messages"],
        worker=None,
        calls_llm=False,
        trigger="scoring",
    )
    return dg.Definitions(assets=[scores, embeddings, rel])
