"""Asset checks on the message-level assets: facts cite existing messages and relations point at
existing entities (blocking: downstream would build on broken references), kept summaries are not
empty, no character holds more than 8 auto-pins."""

import dagster as dg

from assets import knowledge
from assets.resources import StoreResource
from background_pipelines.config import Settings
from background_pipelines.store.facts import all_citations
from background_pipelines.store.graph import dangling_relations
from background_pipelines.store.message_views import existing_message_ids
from background_pipelines.store.pins import AUTO_PIN_CAP, auto_pin_counts
from background_pipelines.store.summaries import empty_kept


@dg.asset_check(asset="extracted_facts", blocking=True, description="Every fact cites at least one message, and every cited message exists.")
def facts_cite_existing_messages(store: StoreResource) -> dg.AssetCheckResult:
    s = store.store()
    cites = all_citations(s)
    existing = existing_message_ids(s, {int(i) for _, ids in cites for i in (ids or [])})
    bad = [fid for fid, ids in cites if not ids or any(int(i) not in existing for i in ids)]
    return dg.AssetCheckResult(passed=not bad, metadata={"facts": len(cites), "bad_facts": len(bad), "examples": str(bad[:10])})


@dg.asset_check(asset="knowledge_graph", blocking=True, description="No relation points to a missing entity.")
def relations_point_to_entities(store: StoreResource) -> dg.AssetCheckResult:
    bad = dangling_relations(store.store())
    return dg.AssetCheckResult(passed=not bad, metadata={"dangling_relations": len(bad), "examples": str(bad[:10])})


@dg.asset_check(asset="session_summaries", description="No kept summary is empty.")
def kept_summaries_not_empty(store: StoreResource) -> dg.AssetCheckResult:
    bad = empty_kept(store.store())
    return dg.AssetCheckResult(passed=not bad, metadata={"empty_kept": len(bad), "examples": str(bad[:10])})


@dg.asset_check(asset="message_scores", description=f"No character holds more than {AUTO_PIN_CAP} active auto-pins.")
def auto_pins_within_cap(store: StoreResource) -> dg.AssetCheckResult:
    s = store.store()
    with s.connect() as conn:
        counts = auto_pin_counts(conn)
    over = {c: n for c, n in counts.items() if n > AUTO_PIN_CAP}
    return dg.AssetCheckResult(
        passed=not over,
        metadata={"characters_with_pins": len(counts), "max_auto_pins": max(counts.values(), default=0), "over_cap": str(over)},
    )


def definitions(settings: Settings) -> dg.Definitions:
    checks = [auto_pins_within_cap]
    if settings.chat_llm_enabled:
        checks.append(kept_summaries_not_empty)
    if knowledge.enabled(settings):
        checks += [facts_cite_existing_messages, relations_point_to_entities]
    return dg.Definitions(asset_checks=checks)
