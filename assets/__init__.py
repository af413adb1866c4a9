"""Dagster assets and asset checks, one module per family. Each family module exposes
`definitions(settings) -> dagster.Definitions`, so feature flags decide what it contributes."""

from __future__ import annotations

import functools
import importlib
import pkgutil

# modules of assets/ that define nothing: shared helpers, and the Dagster instance plugins dagster.yaml
# names (instance_*), which the code location must not import (Dagster's storage modules: ~0.3 CPU-s)
_HELPERS = ("resources", "executor", "latency", "partitions", "errors")


def family_modules() -> list[str]:
    """Names of the assets/ modules that expose `definitions(settings)`, in a stable order."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__))
    return [n for n in names if not n.startswith(("_", "instance_")) and n not in _HELPERS]


@functools.lru_cache(maxsize=64)
def module_definitions(module: str, settings):
    """`assets.<module>.definitions(settings)`, built once per process and settings: the code location
    and the job catalog (sensors/jobs.py) share it instead of decorating every asset twice."""
    build = getattr(importlib.import_module(f"assets.{module}"), "definitions", None)
    return build(settings) if build is not None else None
