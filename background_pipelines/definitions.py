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


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    # The day partitions start at the store's earliest message (unless BGP_START_DATE is set), read
    # once here so every asset, job and schedule of this load shares them; reload after importing
    # older history (bgp ingest does it for a running `dagster dev`).
    settings = resolve_start(settings or Settings.from_env())
    # backfill_policy and multi_observable_source_asset are marked beta; we use them on purpose.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    from assets.executor import default_executor
    from assets.resources import default_resources

    import assets
    import sensors

    parts: list[dg.Definitions] = []
    for name in assets.family_modules():  # shared with sensors/jobs.py's catalog: built once
        built = assets.module_definitions(name, settings)
        if built is not None:
            parts.append(built)
    for info in sorted(pkgutil.iter_modules(sensors.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        build = getattr(importlib.import_module(f"sensors.{info.name}"), "definitions", None)
        if build is not None:
            parts.append(build(settings))
    # the Definitions-level executor also runs the UI's Materialize and backfills of the implicit asset job
    parts.append(dg.Definitions(resources=default_resources(), executor=default_executor(settings)))
    return dg.Definitions.merge(*parts)


defs = build_definitions()
