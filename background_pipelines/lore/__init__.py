"""The lore digest: character background documents (markdown or text) added with `bgp lore add`,
cut into chunks and folded into the knowledge graph a bounded slice at a time, by cursor."""

from background_pipelines.lore.digest import STAGE, VERSION, digest_lore, lore_statements
from background_pipelines.lore.documents import LoreError, add_documents, chunk_text, read_document

__all__ = ["STAGE", "VERSION", "LoreError", "add_documents", "chunk_text", "digest_lore", "lore_statements", "read_document"]
