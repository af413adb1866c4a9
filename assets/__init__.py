"""Dagster assets and asset checks, one module per family. Each family module exposes
`definitions(settings) -> dagster.Definitions`, so feature flags decide what it contributes."""
