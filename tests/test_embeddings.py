"""Embedders (hashing, openai against the local server, sentence-transformers when installed) and the
embeddings store: one model per index, idempotent saves, order kept."""

from __future__ import annotations

import numpy as np
import pytest

from background_pipelines.config import ConfigError, Settings
from background_pipelines.llm import get_embedder
from background_pipelines.llm.embed_batches import embed_and_save
from background_pipelines.llm.embedders import HashingEmbedder
from background_pipelines.llm.local_server import LocalLLMServer
from background_pipelines.llm.openai_embedder import EmbeddingRequestFailed, OpenAIEmbedder
from background_pipelines.store.embeddings import (
    EmbeddingModelMismatch,
    delete_embeddings,
    embedding_models,
    load_embeddings,
    save_embeddings,
)

TEXTS = [f"message number {i} about {'hiking' if i % 2 else 'cooking'}" for i in range(10)]


def test_hashing_embedder_is_deterministic_normalised_and_similarity_preserving():
    emb = HashingEmbedder()
    a = emb.encode(["I love hiking in the mountains", "I love hiking in the hills", "quarterly tax report", ""])
    assert a.dtype == np.float32 and a.shape == (4, 384)
    assert np.array_equal(a, HashingEmbedder().encode(["I love hiking in the mountains", "I love hiking in the hills", "quarterly tax report", ""]))
    assert np.allclose(np.linalg.norm(a[:3], axis=1), 1.0) and not a[3].any()  # empty text: the zero vector
    assert a[0] @ a[1] > 0.5 > a[0] @ a[2]


def test_auto_backend_says_which_it_picked(monkeypatch):
    emb = get_embedder(Settings.from_env({"BGP_EMBEDDING_BACKEND": "hashing"}))
    assert (emb.backend, emb.model_id, emb.dim) == ("hashing", "hashing-384-v1", 384)
    auto = get_embedder(Settings.from_env({"BGP_EMBEDDING_BACKEND": "auto"}))
    assert auto.backend in {"sentence-transformers", "hashing"} and auto.model_id.startswith(
        "sentence-transformers/" if auto.backend == "sentence-transformers" else "hashing-"
    )


def test_openai_backend_needs_an_endpoint():
    with pytest.raises(ConfigError, match="BGP_EMBEDDING_BASE_URL"):
        get_embedder(Settings.from_env({"BGP_EMBEDDING_BACKEND": "openai"}))


def test_openai_embeddings_keep_order_across_batches():
    with LocalLLMServer() as srv:
        emb = get_embedder(
            Settings.from_env({"BGP_EMBEDDING_BACKEND": "openai", "BGP_LLM_BASE_URL": srv.base_url, "BGP_EMBEDDING_BATCH_SIZE": "3"})
        )
        vectors = emb.encode(TEXTS)
        assert srv.stats()["paths"] == {"/v1/embeddings": 4}  # 10 texts in batches of 3
        batches = [r["json"]["input"] for r in srv.requests("embeddings")]
    assert sorted(map(len, batches)) == [1, 3, 3, 3]
    assert emb.model_id == "openai/text-embedding-3-small" and emb.dim == 384
    assert np.allclose(vectors, HashingEmbedder().encode(TEXTS), atol=1e-6)  # the server embeds by hashing


def test_openai_embeddings_retry_server_errors_and_fail_clearly():
    with LocalLLMServer() as srv:
        emb = OpenAIEmbedder(srv.base_url, batch_size=5, max_attempts=2, backoff_base=0.01)
        srv.fail_next(1, status=502, path="embeddings")
        assert emb.encode(TEXTS).shape == (10, 384) and srv.stats()["total"] == 3
        srv.fail_next(2, status=500, path="embeddings", when=lambda r: TEXTS[5] in r["input"])
        with pytest.raises(EmbeddingRequestFailed, match=r"embeddings batch 2/2 \(5 texts\).*HTTP 500"):
            emb.encode(TEXTS)


def test_sentence_transformers_loads_offline(monkeypatch):
    pytest.importorskip("sentence_transformers", reason="the optional extra `local` is not installed")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    emb = get_embedder(Settings.from_env({"BGP_EMBEDDING_BACKEND": "sentence-transformers"}))
    v = emb.encode(["I love hiking in the mountains", "Mountain walks are my favourite", "The stock market fell"])
    assert emb.model_id == "sentence-transformers/all-MiniLM-L6-v2" and v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5) and v[0] @ v[1] > v[0] @ v[2]


def test_save_and_load_round_trip_and_resave_is_idempotent(store):
    vectors = HashingEmbedder().encode(TEXTS)
    ids = list(range(100, 110))
    assert save_embeddings(store, "message", ids, vectors, "hashing-384-v1") == 10
    save_embeddings(store, "message", ids, vectors, "hashing-384-v1")
    got_ids, matrix = load_embeddings(store, "message", "hashing-384-v1")
    assert got_ids == ids and matrix.dtype == np.float32 and np.array_equal(matrix, vectors)
    some_ids, some = load_embeddings(store, "message", "hashing-384-v1", ids=[109, 100, 555])
    assert some_ids == [100, 109] and np.array_equal(some, vectors[[0, 9]])
    assert embedding_models(store, "message") == {"hashing-384-v1": 10}


def test_mixing_models_in_one_index_is_refused_naming_both(store):
    save_embeddings(store, "message", [1, 2], HashingEmbedder().encode(["a", "b"]), "hashing-384-v1")
    other = np.ones((1, 8), dtype=np.float32)
    with pytest.raises(EmbeddingModelMismatch) as info:
        save_embeddings(store, "message", [3], other, "openai/text-embedding-3-small")
    message = str(info.value)
    assert "hashing-384-v1" in message and "openai/text-embedding-3-small" in message and "force" in message
    with pytest.raises(EmbeddingModelMismatch):
        load_embeddings(store, "message", "openai/text-embedding-3-small")
    assert embedding_models(store, "message") == {"hashing-384-v1": 2}  # nothing written
    save_embeddings(store, "summary", [3], other, "openai/text-embedding-3-small")  # another index is fine


def test_force_rebuilds_the_index_with_the_new_model(store):
    save_embeddings(store, "message", [1, 2], HashingEmbedder().encode(["a", "b"]), "hashing-384-v1")
    save_embeddings(store, "message", [1], np.ones((1, 8), dtype=np.float32), "other-8", force=True)
    assert embedding_models(store, "message") == {"other-8": 1}


def test_bad_vectors_are_rejected_before_writing(store):
    with pytest.raises(ValueError, match=r"expected a \(2, dim\) matrix"):
        save_embeddings(store, "message", [1, 2], np.ones((3, 4)), "m")
    bad = np.ones((2, 4), dtype=np.float32)
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"non-finite values in the vectors of items \[2\]"):
        save_embeddings(store, "message", [1, 2], bad, "m")
    save_embeddings(store, "message", [1], np.ones((1, 4)), "m")
    with pytest.raises(ValueError, match="stored with dim 4, got 5"):
        save_embeddings(store, "message", [2], np.ones((1, 5)), "m")
    assert embedding_models(store, "message") == {"m": 1}


def test_delete_embeddings_removes_only_the_given_items(store):
    save_embeddings(store, "message", [1, 2, 3], HashingEmbedder().encode(["a", "b", "c"]), "hashing-384-v1")
    assert delete_embeddings(store, "message", [2, 9]) == 1
    assert load_embeddings(store, "message", "hashing-384-v1")[0] == [1, 3]


def test_embed_and_save_writes_every_batch_in_order(store):
    emb = HashingEmbedder(batch_size=3)
    ids = list(range(1, 11))
    assert embed_and_save(store, emb, "message", ids, TEXTS) == 10
    got_ids, matrix = load_embeddings(store, "message", emb.model_id)
    assert got_ids == ids and np.array_equal(matrix, emb.encode(TEXTS))


def test_embed_and_save_refuses_a_mismatch_before_encoding(store):
    save_embeddings(store, "message", [1], np.ones((1, 4), dtype=np.float32), "other-4")

    class Counting(HashingEmbedder):
        calls = 0

        def encode(self, texts):
            Counting.calls += 1
            return super().encode(texts)

    with pytest.raises(EmbeddingModelMismatch, match="other-4"):
        embed_and_save(store, Counting(), "message", [1, 2], ["a", "b"])
    assert Counting.calls == 0
    assert embed_and_save(store, Counting(), "message", [1, 2], ["a", "b"], force=True) == 2
    assert embedding_models(store, "message") == {"hashing-384-v1": 2}
