"""Knowledge-graph upkeep, free of Dagster: entity consolidation (with unmerge), co-occurrence
enrichment, decay with soft expiry, and weekly pruning."""

from background_pipelines.graph_upkeep.consolidation import ConsolidationResult, resolve_entities
from background_pipelines.graph_upkeep.decay import DecayResult, decay_relations
from background_pipelines.graph_upkeep.enrichment import EnrichmentResult, enrich_cooccurrence
from background_pipelines.graph_upkeep.pruning import PruneResult, prune_graph
from background_pipelines.graph_upkeep.unmerge import UnmergeError, unmerge

__all__ = [
    "resolve_entities",
    "ConsolidationResult",
    "unmerge",
    "UnmergeError",
    "enrich_cooccurrence",
    "EnrichmentResult",
    "decay_relations",
    "DecayResult",
    "prune_graph",
    "PruneResult",
]
