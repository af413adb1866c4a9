"""Dagster resources: thin handles on the engine's store and LLM gateway, configured from the
environment (secrets are read from the environment at use, never held as resource config)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import dagster as dg

from background_pipelines.config import Settings
from background_pipelines.store import Store, open_store

if TYPE_CHECKING:  # imported at use: the gateway brings httpx, which a run without LLM work never needs
    from background_pipelines.llm import Embedder, Gateway


class StoreResource(dg.ConfigurableResource):
    """The conversation store. `database_url` overrides BGP_DATABASE_URL (leave empty to use it)."""

    database_url: Optional[str] = None

    def settings(self) -> Settings:
        return Settings.from_env()

    def store(self) -> Store:
        return open_store(self.database_url or self.settings().database_url)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Every run initialises the store before its first step claims a pool slot (in-process
        # executor): the moment to free the slots of local runs killed without a trace.
        if context.run is None:
            return
        from sensors.run_health import on_run_start

        try:
            on_run_start(context)
        except Exception as exc:  # never fail a run over its neighbours' health
            if context.log:
                context.log.warning(f"dead-run check skipped: {type(exc).__name__}: {exc}")


class LLMResource(dg.ConfigurableResource):
    """The LLM gateway and the embedder. Empty fields use the environment (BGP_LLM_BASE_URL, BGP_LLM_MODEL,
    BGP_LLM_CACHE, BGP_LLM_MAX_CONCURRENCY); the API key is read from BGP_LLM_API_KEY at use, never held here."""

    base_url: Optional[str] = None
    model: Optional[str] = None
    use_cache: Optional[bool] = None
    max_concurrency: Optional[int] = None

    def gateway(self, store: Store) -> "Gateway":
        from background_pipelines.llm.gateway import Gateway

        return Gateway.from_settings(
            Settings.from_env(),
            store,
            base_url=self.base_url,
            model=self.model,
            use_cache=self.use_cache,
            max_concurrency=self.max_concurrency,
        )

    def embedder(self) -> "Embedder":
        from background_pipelines.llm.embedders import get_embedder

        return get_embedder(Settings.from_env())


def default_resources() -> dict:
    return {"store": StoreResource(), "llm": LLMResource()}
