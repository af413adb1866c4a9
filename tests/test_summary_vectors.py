"""Kept summaries never lose their vectors: when embedding fails after the summaries commit (a real
embeddings endpoint answering 500), the run reports them failed, and the next run of the day embeds
them although it has no session left to summarise."""

from __future__ import annotations

from background_pipelines.cognition.summaries import summarize_sessions
from background_pipelines.config import Settings
from background_pipelines.llm import Gateway
from background_pipelines.llm.local_server import LocalLLMServer
from background_pipelines.llm.openai_embedder import OpenAIEmbedder
from background_pipelines.store.embeddings import load_embeddings
from background_pipelines.store.summaries import summaries_for_day
from test_summaries import DAY, DEEP, _session


def test_a_failed_summary_embedding_is_retried_by_the_next_run(store):
    _session(store, "s-deep", DEEP * 4)  # 20 messages: one kept summary
    _session(store, "s-deep2", DEEP * 4, start_n=100)
    settings = Settings.from_env({"SUMMARY_MESSAGE_THRESHOLD": "20"})
    with LocalLLMServer() as srv:
        embedder = OpenAIEmbedder(srv.base_url, "text-embedding-3-small", max_attempts=1)
        srv.fail_next(1, status=500, path="embeddings")
        first = summarize_sessions(store, Gateway(store), settings, DAY, embedder=embedder)
        kept = [s["id"] for s in summaries_for_day(store, DAY) if s["status"] == "kept"]
        assert len(kept) == 2 and first.processed == 2
        assert first.failed == 2 and "embedding 2 kept summaries" in first.errors[0] and "server_error" in first.errors[0]
        assert load_embeddings(store, "summary", embedder.model_id, kept)[0] == []  # the rows committed, their vectors did not

        again = summarize_sessions(store, Gateway(store), settings, DAY, embedder=embedder)  # nothing left to summarise
        assert again.processed == 0 and again.failed == 0 and again.extra["embedded"] == 2
        assert sorted(load_embeddings(store, "summary", embedder.model_id, kept)[0]) == sorted(kept)
        third = summarize_sessions(store, Gateway(store), settings, DAY, embedder=embedder)
        assert "embedded" not in third.extra and srv.stats()["paths"].get("/v1/embeddings", 0) == 2
