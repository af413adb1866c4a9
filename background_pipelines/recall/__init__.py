"""The read side: `recall()` hybrid retrieval (full-text, vectors, graph, fused) with provenance."""

from background_pipelines.recall.api import MODES, RecallError, recall
from background_pipelines.recall.hit import Hit

__all__ = ["recall", "Hit", "MODES", "RecallError"]


class _CallableModule(type(__import__("sys"))):
    """`background_pipelines.recall` is both this package and the function: once the package is
    imported, Python binds the name to the module, so the module forwards calls to `recall()`."""

    def __call__(self, *args, **kwargs):
        return recall(*args, **kwargs)


__import__("sys").modules[__name__].__class__ = _CallableModule
