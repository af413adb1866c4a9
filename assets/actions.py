"""Actions from background work, as assets: `diary_posts` (with BGP_ACTIONS_DIARY_POSTS=true) queues one
`post` action per diary entry of the day, downstream of `diaries`, for actions_job to deliver to the
bot's webhook (background_pipelines/actions.py). Queuing is idempotent per entry."""

import dagster as dg

from assets._common import asset_args
from assets.errors import retry_only_healable
from assets.latency import ACTION
from assets.resources import StoreResource
from background_pipelines.config import Settings


def definitions(settings: Settings) -> dg.Definitions | None:
    if not (settings.actions_diary_posts and settings.chat_llm_enabled and settings.enable_character_diary):
        return None

    @dg.asset(
        name="diary_posts",
        deps=["diaries"],
        description=(
            "One `post` action per diary entry of the day (key diary:<character>:<day>), queued in outbound_actions "
            "for actions_job to post to BGP_ACTIONS_WEBHOOK_URL; a re-run or backfill queues nothing twice."
        ),
        **asset_args(settings, group_name="actions", latency=ACTION, calls_llm=False, trigger="nightly"),
    )
    def diary_posts(context: dg.AssetExecutionContext, store: StoreResource) -> dg.MaterializeResult:
        from background_pipelines.actions import queue_diary_posts

        s = store.store()
        try:
            with retry_only_healable("diary_posts"):
                r = queue_diary_posts(s, list(context.partition_keys))
        finally:
            s.engine.dispose()
        return dg.MaterializeResult(metadata={
            "queued": len(r.queued), "already_queued": len(r.existing), "dagster/row_count": len(r.queued) + len(r.existing),
            "preview": dg.MetadataValue.md(r.preview()),
        })

    return dg.Definitions(assets=[diary_posts])
