"""The forget job (visible in the Dagster UI): run the cascading forget for a user or messages."""

import dagster as dg
from pydantic import Field

from assets.errors import retry_only_healable
from assets.latency import ACTION
from assets.resources import StoreResource
from background_pipelines.config import Settings
from background_pipelines.forget import ForgetError, forget, forgotten_material


class ForgetConfig(dg.Config):
    """Name a user, or message ids (or both). Runs are dry runs unless dry_run is set to false: look
    at the counts in the run's metadata first, then launch again with dry_run: false."""

    user: str = Field(
        default="",
        description="The user to forget: a user key (platform:id, see `bgp users list`), a platform id or an "
        "unambiguous display name; their linked accounts go too. Empty: forget only message_ids.",
    )
    message_ids: list[int] = Field(default=[], description="Message ids (messages.id) to forget.")
    dry_run: bool = Field(default=True, description="true: count what would be removed and change nothing.")


@dg.op(
    description="Remove the user's (or the messages') rows and everything derived from them in every table; "
    "logs hashed keys so a restored backup can be forgotten again (bgp forget --reapply). A dry run by default.",
    tags={"kind": "sql"},
    retry_policy=ACTION.retry_policy(),
)
def forget_op(context: dg.OpExecutionContext, config: ForgetConfig, store: StoreResource) -> dg.Output:
    if not config.user.strip() and not config.message_ids:
        raise dg.Failure(description="forget_job: set `user` (a user key, platform id or name) or `message_ids`",
                         allow_retries=False)
    settings = store.settings()
    user = config.user.strip() or None
    with retry_only_healable("forget_job"):
        try:
            names, texts = forgotten_material(store.store(), user=user, message_ids=config.message_ids)
            report = forget(store.store(), user=user, message_ids=config.message_ids, dry_run=config.dry_run, home=settings.home)
        except ForgetError as exc:  # an unknown or ambiguous user, an unknown message id: no retry helps
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        # the store's cascade cannot reach Dagster's own storage: previews and logs that quoted them
        # (imported here: Dagster's storage modules cost ~0.3 CPU-s at code-location load)
        from assets.instance_privacy import redact_instance

        from assets.users import forget_user_partitions  # the per-user view quotes the user's facts

        # the view's partitions first: redaction rewrites the partition key its events are found by
        views = 0 if config.dry_run else forget_user_partitions(context.instance, set(names))
        redacted = 0 if config.dry_run else redact_instance(context.instance, names, texts)
    # counts only: the user's name and texts never reach run metadata
    return dg.Output(
        None,
        metadata={
            "dry_run": report.dry_run,
            "users": len(report.users),
            "messages": report.message_count,
            "rows_removed" if not report.dry_run else "rows_that_would_be_removed": report.total,
            "dagster_records_redacted": redacted,
            "user_views_dropped": views,
            "by_table": dg.MetadataValue.md("```\n" + report.table() + "\n```"),
        },
    )


@dg.job(
    description="Forget a user (config user) or messages (config message_ids) and everything derived from them. "
    "Dry run by default (dry_run: true); a user error fails at once, without retries.",
    # a failed forget is a user error or was already retried by the op: never re-run the whole job
    tags={**ACTION.run_tags(), "team": "privacy", "dagster/retry_on_asset_or_op_failure": "false"},
)
def forget_job():
    forget_op()


def definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(jobs=[forget_job])
