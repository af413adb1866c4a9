"""The lore digest: character background documents (`bgp lore add`) folded into the knowledge graph a
bounded slice of each document per run, by cursor (lore/digest.py). Started by `lore_digest_sensor`
every 20 minutes while documents are owed. Uses the LLM when configured, else the offline rules; left
out when BGP_CHAT_LLM_ENABLED=false, like the other fact extraction."""


import dagster as dg
from pydantic import Field

from assets._common import asset_args, materialize_result
from assets.errors import retry_only_healable
from assets.latency import COGNITION
from assets.resources import LLMResource, StoreResource
from background_pipelines.config import Settings
from background_pipelines.lore import VERSION

TRIGGER = "lore"  # sensors/lore.py builds lore_digest_job from the assets tagged with it


class LoreDigestConfig(dg.Config):
    slice_chunks: int = Field(default=0, description="Chunks of each document this run digests (0: BGP_LORE_SLICE_CHUNKS).")
    documents: list[int] = Field(default_factory=list, description="Only these document ids (`bgp lore list`); empty: every pending one.")
    force: bool = Field(default=False, description="Digest chunks already digested at this version again (adds nothing unless the rules changed).")


def definitions(settings: Settings) -> dg.Definitions:
    if not settings.chat_llm_enabled:
        return dg.Definitions()

    @dg.asset(
        name="lore_digest",
        deps=["knowledge_graph"],
        description=(
            "Character lore documents (`bgp lore add FILE --character NAME`) digested a slice at a time: each run takes "
            "up to BGP_LORE_SLICE_CHUNKS chunks of each pending document from its cursor, stores the facts they state as "
            "the character's (each with its document, revision, chunk and character offsets) and recomputes the "
            "character's graph. Sliced or in one go, the result is the same; a re-run adds nothing."
        ),
        **asset_args(settings, group_name="knowledge", latency=COGNITION, calls_llm=True, trigger=TRIGGER, daily=False, version=VERSION),
    )
    def lore_digest(context: dg.AssetExecutionContext, config: LoreDigestConfig, store: StoreResource, llm: LLMResource) -> dg.MaterializeResult:
        from background_pipelines.lore.digest import digest_lore  # at run time: the code location loads light

        s = store.store()
        with retry_only_healable("lore_digest"):  # a timeout or 5xx is retried; anything else fails once
            result = digest_lore(
                s, llm.gateway(s), slice_chunks=config.slice_chunks or store.settings().lore_slice_chunks,
                documents=config.documents or None, force=config.force, run_id=context.run_id,
            )
        return materialize_result(context, "lore_digest", result, nothing="_no lore document owes a chunk_")

    return dg.Definitions(assets=[lore_digest])
