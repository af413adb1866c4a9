"""Knowledge: facts and preferences extracted from messages (<= 50 messages of one author per LLM call), and
the temporal knowledge graph built from them. Left out when ENABLE_RUNTIME_FACT_EXTRACTION=false or
BGP_CHAT_LLM_ENABLED=false (the graph has no other source)."""

from __future__ import annotations

import dagster as dg

from assets._message_level import stage_asset
from assets.latency import COGNITION, SENSORY
from background_pipelines.cognition import facts, graph
from background_pipelines.config import Settings


def enabled(settings: Settings) -> bool:
    return settings.chat_llm_enabled and settings.enable_runtime_fact_extraction


def definitions(settings: Settings) -> dg.Definitions:
    if not enabled(settings):
        return dg.Definitions()
    extracted = stage_asset(
        settings,
        name="extracted_facts",
        engine_fn=facts.extract_facts,
        version=facts.VERSION,
        description=(
            "Facts users state about themselves (works_at, job_title, lives_in, has_pet, partner_of, likes, ...) and "
            "their preferences (be concise, no emojis), from batches of <= 50 messages of one author per LLM call "
            "(one user's text can never become another's fact); every fact cites its messages."
        ),
        group_name="knowledge",
        latency=SENSORY,
        deps=["messages"],
        worker="gateway",
        calls_llm=True,
        trigger="knowledge",
    )
    kg = stage_asset(
        settings,
        name="knowledge_graph",
        engine_fn=graph.update_knowledge_graph,
        version=graph.VERSION,
        description=(
            "Entities (canonical name, type, aliases) and temporal relations from the facts. Re-mentions add weight; "
            "a new value of a single-valued predicate (works_at, lives_in, partner_of, ...) invalidates the current "
            "relation, kept with invalidated_at."
        ),
        group_name="knowledge",
        latency=COGNITION,
        deps=["extracted_facts"],
        worker=None,
        calls_llm=False,
        trigger="knowledge",
    )
    return dg.Definitions(assets=[extracted, kg])
