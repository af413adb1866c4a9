"""The Dagster code location: assembles Definitions from every module of assets/ and sensors/.

Each module exposes `definitions(settings)`; feature flags are applied there, so this file only
discovers, merges and adds the shared resources and the default executor (BGP_EXECUTOR).
"""

from __future__ import annotations

import importlib
import pkgutil
import warnings

import dagster as dg

from background_pipelines.config import Settings
from background_pipelines.history import resolve_start

_PACKAGES = ("assets", "sensors")


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    # The day partitions start at the store's earliest message (unless BGP_START_DATE is set), read
    # once here so every asset, job and schedule of this load shares them; reload after importing
    # older history (bgp ingest does it for a running `dagster dev`).
    settings = resolve_start(settings or Settings.from_env())
    # backfill_policy and multi_observable_source_asset are marked beta; we use them on purpose.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    from assets.executor import default_executor
    from assets.resources import default_resources

    parts: list[dg.Definitions] = []
    for package_name in _PACKAGES:
        package = importlib.import_module(package_name)
        for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
            if info.name.startswith("_") or info.name in ("resources", "executor"):
                continue
            if package_name == "assets":  # shared with sensors/jobs.py's catalog: built once
                built = package.module_definitions(info.name, settings)
            else:
                build = getattr(importlib.import_module(f"{package_name}.{info.name}"), "definitions", None)
                built = build(settings) if build is not None else None
            if built is not None:
                parts.append(built)
    # the Definitions-level executor also runs the UI's Materialize and backfills of the implicit asset job
    parts.append(dg.Definitions(resources=default_resources(), executor=default_executor(settings)))
    return dg.Definitions.merge(*parts)


defs = build_definitions()
