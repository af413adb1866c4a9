"""Dagster assets and asset checks, one module per family. Each family module exposes
`definitions(settings) -> dagster.Definitions`, so feature flags decide what it contributes."""

from __future__ import annotations

import functools
import importlib


@functools.lru_cache(maxsize=64)
def module_definitions(module: str, settings):
    """`assets.<module>.definitions(settings)`, built once per process and settings: the code location
    and the job catalog (sensors/jobs.py) share it instead of decorating every asset twice."""
    build = getattr(importlib.import_module(f"assets.{module}"), "definitions", None)
    return build(settings) if build is not None else None
