"""Session summaries: every session past SUMMARY_MESSAGE_THRESHOLD unsummarised messages gets a
summary and a meaningfulness score. Calls the chat LLM: left out when BGP_CHAT_LLM_ENABLED=false."""

from __future__ import annotations

import dagster as dg

from assets._message_level import stage_asset
from assets.latency import COGNITION
from background_pipelines.cognition import summaries
from background_pipelines.config import Settings


def definitions(settings: Settings) -> dg.Definitions:
    if not settings.chat_llm_enabled:
        return dg.Definitions()
    asset = stage_asset(
        settings,
        name="session_summaries",
        engine_fn=summaries.summarize_sessions,
        version=summaries.VERSION,
        description=(
            f"A summary and meaningfulness 1..5 for each session with >= {settings.summary_message_threshold} "
            "unsummarised messages (SUMMARY_MESSAGE_THRESHOLD); >= 3 kept and embedded, else recorded as discarded. "
            "A later summary covers only the new messages and links the previous one."
        ),
        group_name="conversations",
        latency=COGNITION,
        deps=["messages", "message_scores"],
        worker="gateway",
        calls_llm=True,
        trigger="summaries",
    )
    return dg.Definitions(assets=[asset])
