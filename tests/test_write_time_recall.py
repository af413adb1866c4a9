"""Raw memory at write time: a message is recallable (full text and vectors) as soon as it is written,
with no Dagster run in between; the scoring run then has nothing left to embed."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from background_pipelines import recall, record_messages
from background_pipelines.cognition.embedding import STAGE, VERSION, embed_messages
from background_pipelines.config import Settings
from background_pipelines.ingest import ingest_file
from background_pipelines.ingest.write_index import EMBED_STAGE, EMBED_VERSION
from background_pipelines.llm.embedders import HashingEmbedder
from background_pipelines.store import ledger
from background_pipelines.store.embeddings import embedding_models

AT = datetime(2026, 11, 5, 9, 30, tzinfo=timezone.utc)


def _msg(i: int, text: str, author: str = "alice") -> dict:
    # each user's private channel with Mira (recall searches the channels the user wrote in)
    return dict(external_id=f"w{i}", channel=f"dm/Mira/{author}", session=f"s1-{author}", author=author, text=text, created_at=AT)


def test_message_is_recallable_right_after_record_messages(store, bgp_env):
    record_messages([_msg(1, "I adopted a ferret called Pickles"), _msg(2, "the weather is grey today")], store)
    record_messages([_msg(3, "my ferret Pickles steals socks", author="bob")], store)
    for mode in ("fulltext", "vectors"):
        hits = recall("alice", "ferret", store=store, modes=(mode,), settings=Settings.from_env())
        assert [h.text for h in hits][:1] == ["I adopted a ferret called Pickles"], mode
        assert all("socks" not in h.text for h in hits), mode  # bob's message is not alice's memory
    assert embedding_models(store, "message") == {HashingEmbedder.model_id: 3}


def test_scoring_run_finds_write_time_vectors_done(store, bgp_env):
    assert (EMBED_STAGE, EMBED_VERSION) == (STAGE, VERSION)  # the write path ledgers the asset's own stage
    record_messages([_msg(i, f"note number {i} about gardening") for i in range(5)], store)
    result = embed_messages(store, HashingEmbedder(), Settings.from_env(), "2026-11-05")
    assert (result.processed, result.skipped) == (0, 5)
    assert ledger.counts(store, STAGE) == {(STAGE, "done"): 5}


def test_imported_messages_are_recallable_at_once(store, bgp_env, tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text("".join(json.dumps({**_msg(i, f"line {i} mentions the lighthouse"), "created_at": AT.isoformat()}) + "\n"
                            for i in range(3)))
    assert ingest_file(path, store).inserted == 3
    hits = recall("alice", "lighthouse", store=store, modes=("vectors",), settings=Settings.from_env())
    assert len(hits) == 3


def test_no_write_time_vectors_when_disabled_or_remote(store, bgp_env, monkeypatch):
    monkeypatch.setenv("BGP_EMBED_ON_WRITE", "never")
    record_messages([_msg(1, "a message kept for the scoring run")], store)
    monkeypatch.setenv("BGP_EMBED_ON_WRITE", "auto")
    monkeypatch.setenv("BGP_EMBEDDING_BACKEND", "openai")  # never called on the write path
    record_messages([_msg(2, "another one")], store)
    assert embedding_models(store, "message") == {}
    assert recall("alice", "scoring run", store=store, modes=("fulltext",), settings=Settings.from_env())
