"""The lore digest: character background documents (markdown or text) added with `bgp lore add`,
cut into chunks and folded into the knowledge graph a bounded slice at a time, by cursor."""

import importlib

STAGE = "lore_digest"  # the ledger stage: one item per chunk of a document revision
VERSION = "lore-v1"  # also facts.version of lore facts (store/lore.py relies on the "lore-" prefix)

# name -> submodule, imported on first use (the code location imports this package for VERSION)
_LAZY = {
    "digest_lore": "digest",
    "lore_statements": "digest",
    "refold_characters": "digest",
    "LoreError": "documents",
    "add_documents": "documents",
    "chunk_text": "documents",
    "read_document": "documents",
}

__all__ = ["STAGE", "VERSION", *_LAZY]


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value
