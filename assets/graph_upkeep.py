"""Graph upkeep and store backups: nightly entity consolidation, co-occurrence enrichment and
decay, weekly pruning with orphan collection, nightly backups. None calls the chat LLM, so they
stay when BGP_CHAT_LLM_ENABLED=false; the `bgp/trigger` tag puts them in the upkeep schedules."""

import dagster as dg
from pydantic import Field

from assets._common import asset_args
from assets.errors import retry_only_healable
from assets.latency import ACTION, COGNITION
from assets.resources import LLMResource, StoreResource
from background_pipelines import graph_upkeep as upkeep  # its functions load on first call (numpy, rapidfuzz)
from background_pipelines.backup import backup_dir_for, backup_store
from background_pipelines.config import Settings
from background_pipelines.store.graph_upkeep import count_expired

NIGHTLY, WEEKLY = "upkeep", "weekly"  # the sensors helper's nightly no-LLM job and weekly job


class BackupConfig(dg.Config):
    force: bool = Field(default=False, description="Back up even if a nightly backup is younger than 23 h.")
    snapshot: bool = Field(default=False, description="Write a snapshot (keep 5) instead of a nightly backup (keep 14).")


def definitions(settings: Settings) -> dg.Definitions:
    @dg.asset(
        name="graph_consolidation",
        deps=["knowledge_graph"],
        description=(
            "Entity resolution over the whole graph: blocking on normalized names (sorted words, acronym, one-edit "
            "neighbourhood), rapidfuzz similarity, acronyms and aliases, embeddings confirming typo matches; only "
            "same-type entities merge. Every merge is audited with full before-images (`bgp graph unmerge MERGE_ID`)."
        ),
        **asset_args(settings, group_name="graph_upkeep", latency=COGNITION, calls_llm=False, trigger=NIGHTLY, daily=False),
    )
    def graph_consolidation(store: StoreResource, llm: LLMResource) -> dg.MaterializeResult:
        with retry_only_healable("graph_consolidation"):  # a lost connection or a deadlock is retried; a bug is not
            r = upkeep.resolve_entities(store.store(), llm.embedder())
        return dg.MaterializeResult(
            metadata={
                "merges": r.merges,
                "pairs_compared": r.pairs_compared,
                "all_pairs": r.all_pairs,
                "entities": r.entities,
                "by_reason": dg.MetadataValue.json(r.by_reason),
                "merge_ids": dg.MetadataValue.json(r.merge_ids[:200]),
                "seconds": round(r.seconds, 2),
                "dagster/row_count": r.entities - r.merges,
                "preview": dg.MetadataValue.md(r.preview()),
            }
        )

    @dg.asset(
        name="graph_enrichment",
        deps=["graph_consolidation"],
        description=(
            "Implicit edges: entities mentioned in the same sessions (>= 2) through their relations' source messages "
            "get an inferred `co_occurs_with` relation (inferred=True), unless an explicit relation links them."
        ),
        **asset_args(settings, group_name="graph_upkeep", latency=COGNITION, calls_llm=False, trigger=NIGHTLY, daily=False),
    )
    def graph_enrichment(store: StoreResource) -> dg.MaterializeResult:
        s = store.settings()
        with retry_only_healable("graph_enrichment"):  # a lost connection or a deadlock is retried; a bug is not
            r = upkeep.enrich_cooccurrence(store.store(), factor=s.graph_decay_factor, threshold=s.graph_expire_below)
        return dg.MaterializeResult(
            metadata={
                "inferred_added": r.inserted,
                "inferred_refreshed": r.updated,
                "pairs_seen": r.pairs_seen,
                "already_explicit": r.skipped_explicit,
                "too_old_to_add": r.stale,
                "sessions": r.sessions,
                "dagster/row_count": r.inserted + r.updated,
                "preview": dg.MetadataValue.md(r.preview()),
            }
        )

    @dg.asset(
        name="graph_decay",
        deps=["graph_enrichment"],
        description=(
            "Relation strength = weight x BGP_GRAPH_DECAY_FACTOR^(days since last_seen); below BGP_GRAPH_EXPIRE_BELOW "
            "a relation is soft-expired (expired_at set, kept for review). Relations mentioned again are revived."
        ),
        **asset_args(settings, group_name="graph_upkeep", latency=ACTION, calls_llm=False, trigger=NIGHTLY, daily=False),
    )
    def graph_decay(store: StoreResource) -> dg.MaterializeResult:
        s = store.settings()
        with retry_only_healable("graph_decay"):  # a lost connection or a deadlock is retried; a bug is not
            r = upkeep.decay_relations(store.store(), factor=s.graph_decay_factor, threshold=s.graph_expire_below)
        return dg.MaterializeResult(
            metadata={
                "checked": r.checked,
                "expired": r.expired,
                "revived": r.revived,
                "expired_in_review": r.expired_total,
                "factor": s.graph_decay_factor,
                "threshold": s.graph_expire_below,
                "dagster/row_count": r.checked,
                "preview": dg.MetadataValue.md(r.preview()),
            }
        )

    @dg.asset(
        name="graph_pruning",
        deps=["graph_decay"],
        description=(
            "Weekly: deletes relations soft-expired longer than BGP_GRAPH_RETENTION_DAYS, then orphan entities (no "
            "relation, no fact naming them) older than a day."
        ),
        **asset_args(settings, group_name="graph_upkeep", latency=ACTION, calls_llm=False, trigger=WEEKLY, daily=False),
    )
    def graph_pruning(store: StoreResource) -> dg.MaterializeResult:
        s = store.settings()
        st = store.store()
        with retry_only_healable("graph_pruning"):  # a lost connection or a deadlock is retried; a bug is not
            r = upkeep.prune_graph(st, retention_days=s.graph_retention_days)
        return dg.MaterializeResult(
            metadata={
                "pruned": r.pruned,
                "orphans": r.orphans,
                "retention_days": s.graph_retention_days,
                "expired_in_review": count_expired(st),
                "dagster/row_count": r.pruned + r.orphans,
                "preview": dg.MetadataValue.md(r.preview()),
            }
        )

    @dg.asset(
        name="store_backup",
        description=(
            "Nightly store backup into BGP_BACKUP_DIR: SQLite online backup API; PostgreSQL pg_dump (custom format) "
            "when on PATH, else a table-by-table export. Skips when a nightly backup is younger than 23 h; keeps 14 "
            "nightly and 5 snapshots. Restore with `bgp restore FILE`."
        ),
        **asset_args(settings, group_name="operations", latency=ACTION, calls_llm=False, trigger=NIGHTLY, daily=False, owners=["team:platform"]),
    )
    def store_backup(config: BackupConfig, store: StoreResource) -> dg.MaterializeResult:
        s = store.settings()
        with retry_only_healable("store_backup"):  # an unwritable BGP_BACKUP_DIR fails at once
            r = backup_store(
                store.store(), backup_dir_for(s), kind="snapshot" if config.snapshot else "nightly", force=config.force
            )
        meta = {
            "skipped": r.skipped,
            "kind": r.kind,
            "path": dg.MetadataValue.path(r.path) if r.path else "",
            "preview": dg.MetadataValue.md(r.preview()),
        }
        if not r.skipped:
            meta.update(method=r.method, size_bytes=r.size_bytes, sha256=r.checksum, rotated_out=len(r.rotated))
        return dg.MaterializeResult(metadata=meta)

    return dg.Definitions(assets=[graph_consolidation, graph_enrichment, graph_decay, graph_pruning, store_backup])
