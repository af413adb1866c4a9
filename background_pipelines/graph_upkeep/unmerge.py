"""Undo one audited merge: the merged entity, the survivor and every relation the merge touched
come back exactly as they were (ids included), in one transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from background_pipelines.store.engine import Store
from background_pipelines.store.graph_upkeep import entity_by_norm, entity_exists, get_merge, later_active_merges, restore_merge
from background_pipelines.store.ledger import utcnow


class UnmergeError(ValueError):
    """The merge cannot be undone as asked; the message says why and what to do."""


def unmerge(store: Store, merge_id: int, *, now: datetime | None = None) -> dict:
    """Restore the before-images recorded by merge `merge_id`; returns counts restored.

    Refuses (writing nothing) when the merge is unknown or already undone, when a later merge
    involving the same entities is still active (undo that one first), or when an entity with the
    merged entity's id or normalized name exists again."""
    with store.begin() as conn:
        merge = get_merge(conn, merge_id)
        if merge is None:
            raise UnmergeError(f"merge {merge_id}: no such merge in entity_merges (see `bgp graph merges`)")
        if merge["undone_at"] is not None:
            raise UnmergeError(f"merge {merge_id}: already undone at {merge['undone_at']:%Y-%m-%d %H:%M:%S}")
        later = later_active_merges(conn, merge)
        if later:
            raise UnmergeError(
                f"merge {merge_id}: later merges {later} involve the same entities; unmerge those first (newest first)"
            )
        merged = merge["snapshot"]["merged_entity"]
        if entity_exists(conn, merged["id"]):
            raise UnmergeError(f"merge {merge_id}: entity id {merged['id']} exists again; cannot restore it")
        clash = entity_by_norm(conn, merged["norm"])
        if clash is not None:
            raise UnmergeError(
                f"merge {merge_id}: entity {clash} now holds the name {merged['norm']!r} that "
                f"{merged['name']!r} (id {merged['id']}) had; merge or rename it first"
            )
        try:
            with conn.begin_nested():
                counts = restore_merge(conn, merge, now or utcnow())
        except IntegrityError as exc:
            raise UnmergeError(
                f"merge {merge_id}: restoring would violate {str(exc.orig).splitlines()[0]}; nothing was changed"
            ) from None
    return dict(merge_id=merge_id, merged_id=merged["id"], survivor_id=merge["survivor_id"], **counts)
