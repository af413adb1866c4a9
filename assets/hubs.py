"""Hub organisation: weekly, entities with at least BGP_HUB_DEGREE_THRESHOLD current relations get a
layer of typed groups (hubs.py), reversible (`bgp hubs undo ID`) and audited. No LLM: it stays with
BGP_CHAT_LLM_ENABLED=false; the `weekly` trigger puts it in weekly_upkeep_job after pruning."""

import dagster as dg

from assets._common import asset_args
from assets.errors import retry_only_healable
from assets.latency import ACTION
from assets.resources import StoreResource
from background_pipelines.config import Settings


def definitions(settings: Settings) -> dg.Definitions:
    @dg.asset(
        name="hub_organisation",
        deps=["graph_pruning"],
        description=(
            "Entities with at least BGP_HUB_DEGREE_THRESHOLD current relations (hubs) get one group per relation type "
            "and direction ('Dana: works_at', 'lives_in New York City'): the hub has_group each group, each group includes "
            "those neighbours, with the original relations' provenance. Inferred relations on top of the fact-derived "
            "ones: undoing a hub (`bgp hubs undo ID`) restores the graph exactly; a re-run changes nothing; every change "
            "is in the organisation's audit trail (`hub_organisations`)."
        ),
        **asset_args(settings, group_name="graph_upkeep", latency=ACTION, calls_llm=False, trigger="weekly", daily=False),
    )
    def hub_organisation(store: StoreResource) -> dg.MaterializeResult:
        from background_pipelines.hubs import organise_hubs

        threshold = store.settings().hub_degree_threshold
        with retry_only_healable("hub_organisation"):
            r = organise_hubs(store.store(), threshold=threshold)
        return dg.MaterializeResult(metadata={
            "hubs": r.hubs, "organised": r.organised, "unchanged": r.unchanged, "undone_below_threshold": r.undone,
            "left_undone_by_a_person": r.skipped_undone, "nothing_to_group": r.ungroupable, "groups_created": r.groups_created, "groups_removed": r.groups_removed,
            "layer_relations_created": r.relations_created, "layer_relations_removed": r.relations_removed,
            "layer_relations_updated": r.relations_updated, "threshold": threshold,
            "dagster/row_count": r.hubs, "preview": dg.MetadataValue.md(r.preview()),
        })

    return dg.Definitions(assets=[hub_organisation])
