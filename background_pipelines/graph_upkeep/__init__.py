"""Knowledge-graph upkeep, free of Dagster: entity consolidation (with unmerge), co-occurrence
enrichment, decay with soft expiry, and weekly pruning."""

from background_pipelines.lazy import lazy_attributes

# `unmerge` is both a submodule and a function: importing the submodule (anyone's
# `import background_pipelines.graph_upkeep.unmerge`) rebinds the package attribute to the module, and
# a lazy name would then hand out the module. It is light (SQL only), so it is bound here, for good.
from background_pipelines.graph_upkeep.unmerge import UnmergeError, unmerge

# name -> submodule, imported on first use: the code location loads this package, and consolidation
# brings numpy and rapidfuzz that only a run needs
_LAZY = {
    "resolve_entities": "consolidation",
    "ConsolidationResult": "consolidation",
    "enrich_cooccurrence": "enrichment",
    "EnrichmentResult": "enrichment",
    "decay_relations": "decay",
    "DecayResult": "decay",
    "prune_graph": "pruning",
    "PruneResult": "pruning",
}

__all__ = ["unmerge", "UnmergeError", *_LAZY]


__getattr__ = lazy_attributes(__name__, _LAZY)
