"""The lore digest: character background documents (markdown or text) added with `bgp lore add`,
cut into chunks and folded into the knowledge graph a bounded slice at a time, by cursor."""

from background_pipelines.lazy import lazy_attributes

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


__getattr__ = lazy_attributes(__name__, _LAZY)
