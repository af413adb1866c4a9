"""What the store knows about each user, in the UI: `user_memory`, partitioned by user key (a dynamic
partition per account, added by users_sensor), whose materialization carries that user's profile
(`bgp users show`) as metadata: counts, and facts, preferences, relationships, pins, summaries,
reflections and graph neighbours with their validity and source messages. Search the user's key in
the asset's partitions, then Materialize (or backfill many users in one run)."""

import dagster as dg

from assets._common import OWNERS, store_kind
from assets.errors import retry_only_healable
from assets.latency import ACTION
from assets.resources import StoreResource
from background_pipelines.config import Settings

USERS = dg.DynamicPartitionsDefinition(name="users")
ASSET = "user_memory"


def forget_user_partitions(instance: dg.DagsterInstance, keys: set[str]) -> int:
    """Drop the user_memory partitions of forgotten accounts `keys` and their materializations (whose
    metadata quotes the user's facts); returns how many partitions were dropped."""
    from assets.instance_privacy import drop_partition_events

    gone = sorted(set(instance.get_dynamic_partitions(USERS.name)) & set(keys))
    if gone:
        drop_partition_events(instance, dg.AssetKey(ASSET), gone)
        for key in gone:
            instance.delete_dynamic_partition(USERS.name, key)
    return len(gone)


def definitions(settings: Settings) -> dg.Definitions:
    @dg.asset(
        name=ASSET,
        group_name="users",
        owners=OWNERS,
        kinds={"python", store_kind(settings)},
        partitions_def=USERS,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=ACTION.pool,
        retry_policy=ACTION.retry_policy(),
        tags={"bgp/latency_class": ACTION.name},
        description=(
            "One partition per user account (key platform:id, added by users_sensor): materializing it shows what "
            "the store knows about the person (all linked accounts), as `bgp users show` does: counts, facts and "
            "preferences with validity, relationship scores, pins, summaries, reflections, graph neighbours, each "
            "with its source message ids, and what was forgotten. forget_job drops a forgotten user's partition."
        ),
    )
    def user_memory(context: dg.AssetExecutionContext, store: StoreResource) -> dg.MaterializeResult:
        from background_pipelines.users.show import profile_counts, render_markdown, user_profile

        s = store.store()
        keys = list(context.partition_keys)
        total = 0
        for key in keys:
            with retry_only_healable(ASSET):  # a key the store no longer knows fails at once
                profile = user_profile(s, key)
            counts = profile_counts(profile)
            items = sum(v for k, v in counts.items() if k not in ("accounts", "messages", "sessions", "current_facts"))
            total += items
            meta = {**counts, "person": profile["user"]["key"], "dagster/row_count": dg.MetadataValue.int(items),
                    "preview": dg.MetadataValue.md(render_markdown(profile))}
            if len(keys) == 1:
                return dg.MaterializeResult(metadata=meta)
            context.add_asset_metadata(meta, partition_key=key)
        return dg.MaterializeResult(metadata={"users": len(keys), "items": total})

    return dg.Definitions(assets=[user_memory])
