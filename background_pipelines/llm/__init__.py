"""The LLM and embedding gateway: every piece of cognition goes through `Gateway.run(task, inputs)`
and `get_embedder(settings)`; the offline backend is the embedded default."""

from background_pipelines.llm.embed_batches import embed_and_save
from background_pipelines.llm.embedders import Embedder, get_embedder
from background_pipelines.llm.gateway import Gateway
from background_pipelines.llm.task import Outcome, Task, Usage

__all__ = ["Gateway", "get_embedder", "embed_and_save", "Embedder", "Task", "Outcome", "Usage"]
