"""The `openai` embedding backend: POST {base_url}/embeddings in batches of BGP_EMBEDDING_BATCH_SIZE,
sent concurrently under the gateway's limit and retried like chat; rows come back in input order."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from background_pipelines.config import ConfigError, Secret, Settings
from background_pipelines.llm.embedders import _normalise
from background_pipelines.llm.gateway import _run_sync, safe_base_url
from background_pipelines.llm.transport import RequestFailed, Transport

DEFAULT_MODEL = "text-embedding-3-small"


class EmbeddingRequestFailed(RuntimeError):
    """An embeddings batch failed for good (after retries); names the batch and the classification."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class OpenAIEmbedder:
    backend = "openai"

    def __init__(
        self,
        base_url: str,
        model: str = DEFAULT_MODEL,
        api_key: Secret | None = None,
        *,
        batch_size: int = 100,
        max_concurrency: int = 8,
        timeout: float = 60.0,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
    ):
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.model_id = f"openai/{model}"
        self._api_key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        self.batch_size = max(1, batch_size)
        self.max_concurrency = max_concurrency
        self.timeout, self.max_attempts, self.backoff_base = timeout, max_attempts, backoff_base
        self.dim: int | None = None  # known after the first answer
        self.requests = 0

    @classmethod
    def from_settings(cls, settings: Settings, *, base_url: str | None = None, model: str | None = None) -> "OpenAIEmbedder":
        url = base_url or settings.embedding_base_url or settings.llm_base_url
        if not url:
            raise ConfigError("BGP_EMBEDDING_BACKEND=openai needs BGP_EMBEDDING_BASE_URL (or BGP_LLM_BASE_URL)")
        key = settings.embedding_api_key if settings.embedding_api_key else settings.llm_api_key
        return cls(
            url,
            model or settings.embedding_model or DEFAULT_MODEL,
            key,
            batch_size=settings.embedding_batch_size,
            max_concurrency=settings.llm_max_concurrency,
            timeout=settings.llm_timeout_seconds,
            max_attempts=settings.llm_max_attempts,
        )

    def __repr__(self) -> str:
        return f"OpenAIEmbedder(base_url={safe_base_url(self.base_url)!r}, model_id={self.model_id!r}, api_key={self._api_key!r})"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = [t if t else " " for t in texts]  # some servers reject empty strings
        if not texts:
            return np.zeros((0, self.dim or 0), dtype=np.float32)
        return _run_sync(self._encode(texts))

    async def _encode(self, texts: list[str]) -> np.ndarray:
        import asyncio

        batches = [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        transport = Transport(
            self.base_url,
            self._api_key,
            timeout=self.timeout,
            max_attempts=self.max_attempts,
            max_concurrency=self.max_concurrency,
            backoff_base=self.backoff_base,
        )
        async with transport:
            results = await asyncio.gather(
                *(self._batch(transport, n, batch, len(batches)) for n, batch in enumerate(batches)), return_exceptions=True
            )
        self.requests += transport.requests
        for result in results:
            if isinstance(result, BaseException):
                raise result
        matrix = np.vstack(results).astype(np.float32)
        self.dim = int(matrix.shape[1])
        return _normalise(matrix)

    async def _batch(self, transport: Transport, n: int, batch: list[str], total: int) -> np.ndarray:
        try:
            body = await transport.post("embeddings", {"model": self.model, "input": batch}, est_tokens=sum(len(t) for t in batch) // 4)
        except RequestFailed as failure:
            raise EmbeddingRequestFailed(failure.kind, f"embeddings batch {n + 1}/{total} ({len(batch)} texts): {failure}") from None
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or len(data) != len(batch):
            raise EmbeddingRequestFailed(
                "invalid_json", f"embeddings batch {n + 1}/{total}: expected {len(batch)} vectors, got {len(data) if isinstance(data, list) else 'none'}"
            )
        rows = sorted(data, key=lambda d: d.get("index", 0))  # servers may answer out of order
        return np.asarray([r["embedding"] for r in rows], dtype=np.float32)
