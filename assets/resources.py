"""Dagster resources: thin handles on the engine's store and LLM gateway, configured from the
environment (secrets are read from the environment at use, never held as resource config)."""

from __future__ import annotations

from typing import Optional

import dagster as dg

from background_pipelines.config import Settings
from background_pipelines.store import Store, open_store


class StoreResource(dg.ConfigurableResource):
    """The conversation store. `database_url` overrides BGP_DATABASE_URL (leave empty to use it)."""

    database_url: Optional[str] = None

    def settings(self) -> Settings:
        return Settings.from_env()

    def store(self) -> Store:
        return open_store(self.database_url or self.settings().database_url)


def default_resources() -> dict:
    return {"store": StoreResource()}
