"""Knowledge epochs: nightly, per character and local day, what changed in what it knows (facts
learned and ended, new entities, relations added and invalidated, merges). No LLM: it stays with
BGP_CHAT_LLM_ENABLED=false. Started by `epochs_schedule` (sensors/epochs.py)."""

import dagster as dg

from assets._common import asset_args, ranged_materialize_result
from assets.errors import retry_only_healable
from assets.character import CharacterRunConfig
from assets.latency import COGNITION
from assets.resources import StoreResource
from background_pipelines.config import Settings

TRIGGER = "epochs"
VERSION = "epochs-v1"  # background_pipelines/epochs.py VERSION (kept equal by tests/test_epochs.py)


def definitions(settings: Settings) -> dg.Definitions:
    @dg.asset(
        name="knowledge_epochs",
        deps=["knowledge_graph", "lore_digest", "graph_consolidation"],
        description=(
            "One epoch per character and local day: the facts it learned that day (from the users it knows, its own "
            "words and its lore) and those that ended, entities new to its knowledge, relations added and invalidated, "
            "consolidation merges touching them, with a markdown summary. Rewritten only when that content changes; "
            "a day not over in the character's timezone waits (pending)."
        ),
        **asset_args(settings, group_name="character_cognition", latency=COGNITION, calls_llm=False, trigger=TRIGGER, version=VERSION),
    )
    def knowledge_epochs(context: dg.AssetExecutionContext, config: CharacterRunConfig, store: StoreResource) -> dg.MaterializeResult:
        from background_pipelines.epochs import synthesize_epochs

        with retry_only_healable("knowledge_epochs"):
            result = synthesize_epochs(store.store(), context.partition_keys, characters=config.characters or None,
                                       force=config.force, run_id=context.run_id)
        return ranged_materialize_result(context, "knowledge_epochs", result, nothing="_no character that day_")

    return dg.Definitions(assets=[knowledge_epochs])
