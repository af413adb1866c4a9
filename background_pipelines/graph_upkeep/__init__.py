"""Knowledge-graph upkeep, free of Dagster: entity consolidation (with unmerge), co-occurrence
enrichment, decay with soft expiry, and weekly pruning."""

import importlib

# name -> submodule, imported on first use: the code location loads this package, and consolidation
# brings numpy and rapidfuzz that only a run needs
_LAZY = {
    "resolve_entities": "consolidation",
    "ConsolidationResult": "consolidation",
    "unmerge": "unmerge",
    "UnmergeError": "unmerge",
    "enrich_cooccurrence": "enrichment",
    "EnrichmentResult": "enrichment",
    "decay_relations": "decay",
    "DecayResult": "decay",
    "prune_graph": "pruning",
    "PruneResult": "pruning",
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
