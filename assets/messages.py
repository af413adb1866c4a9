"""The `messages` source: written by the chat app or `bgp ingest`, observed (not materialized) per
daily partition. Its data version (count and max id of the day's messages) changes when messages
arrive, which is what marks the message-level assets stale."""

import dagster as dg

from assets._common import OWNERS, store_kind
from assets.partitions import daily_partitions
from assets.resources import StoreResource
from background_pipelines.config import Settings
from background_pipelines.store.message_views import day_versions

OBSERVE_JOB = "observe_messages_job"


def messages_asset(settings: Settings) -> dg.AssetsDefinition:
    spec = dg.AssetSpec(
        "messages",
        description="Chat messages as stored (one row per message, UTC day = partition). Written outside Dagster; observed.",
        group_name="conversations",
        owners=OWNERS,
        kinds={"python", store_kind(settings)},
    )

    @dg.multi_observable_source_asset(specs=[spec], partitions_def=daily_partitions(settings), name="observe_messages")
    def _observe(context: dg.AssetExecutionContext, store: StoreResource):
        versions = day_versions(store.store())
        for day in context.partition_keys:
            n, max_id = versions.get(day, (0, 0))
            yield dg.ObserveResult(
                asset_key="messages",
                data_version=dg.DataVersion(f"{n}:{max_id}"),
                metadata={"messages": n, "max_message_id": max_id, "dagster/row_count": dg.MetadataValue.int(n)},
            )

    return _observe


def definitions(settings: Settings) -> dg.Definitions:
    asset = messages_asset(settings)
    job = dg.define_asset_job(OBSERVE_JOB, selection=dg.AssetSelection.assets(asset), description="Record the messages data version of a day.")
    return dg.Definitions(assets=[asset], jobs=[job])
