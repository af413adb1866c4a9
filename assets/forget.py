"""The forget job (visible in the Dagster UI): run the cascading forget for a user or messages."""


from typing import Optional

import dagster as dg

from assets.instance_privacy import redact_instance
from assets.latency import ACTION
from assets.resources import StoreResource
from background_pipelines.config import Settings
from background_pipelines.forget import forget, forgotten_material


class ForgetConfig(dg.Config):
    """Name a user, or message ids (or both). dry_run reports what would go and changes nothing."""

    user: Optional[str] = None
    message_ids: list[int] = []
    dry_run: bool = False


@dg.op(
    description="Remove the user's (or the messages') rows and everything derived from them in every table; "
    "logs hashed keys so a restored backup can be forgotten again (bgp forget --reapply).",
    tags={"kind": "sql"},
    retry_policy=ACTION.retry_policy(),
)
def forget_op(context: dg.OpExecutionContext, config: ForgetConfig, store: StoreResource) -> dg.Output:
    settings = store.settings()
    names, texts = forgotten_material(store.store(), user=config.user, message_ids=config.message_ids)
    report = forget(store.store(), user=config.user, message_ids=config.message_ids, dry_run=config.dry_run, home=settings.home)
    # the store's cascade cannot reach Dagster's own storage: previews and logs that quoted them
    redacted = 0 if config.dry_run else redact_instance(context.instance, names, texts)
    # counts only: the user's name and texts never reach run metadata
    return dg.Output(
        None,
        metadata={
            "dry_run": report.dry_run,
            "messages": report.message_count,
            "rows_removed": report.total,
            "dagster_records_redacted": redacted,
            "by_table": dg.MetadataValue.md("```\n" + report.table() + "\n```"),
        },
    )


@dg.job(
    description="Forget a user (config user) or messages (config message_ids) and everything derived from them.",
    tags={**ACTION.run_tags(), "team": "privacy"},
)
def forget_job():
    forget_op()


def definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(jobs=[forget_job])
