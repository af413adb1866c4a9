"""Scheduled prompts and outbound actions in Dagster: `scheduled_prompts_sensor` (every 60 s) fires the
due prompts (each occurrence claimed once in the store, see prompts/api.py) and requests `actions_job`
while any action is due; `actions_job` posts the due actions to BGP_ACTIONS_WEBHOOK_URL (actions.py).
Both are left out without that URL (prompts then wait, active, and nothing is lost). Neither calls an
LLM, so they stay with BGP_CHAT_LLM_ENABLED=false."""

from __future__ import annotations

import dagster as dg

from assets.latency import ACTION
from assets.resources import StoreResource
from background_pipelines import webhooks
from background_pipelines.config import Settings
from assets.errors import retry_only_healable
from sensors._common import sensor_status
from sensors.jobs import NO_RUN_RETRY_ON_STEP_FAILURE

PROMPTS_TICK_SECONDS = 60


@dg.op(description="Post every due outbound action (prompts, images, voice, posts, heartbeats) to the bot's signed webhook")
def deliver_due_actions(context, store: StoreResource) -> None:
    from background_pipelines.actions import deliver_actions

    settings = store.settings()
    if not settings.actions_webhook_url:
        raise dg.Failure(description="BGP_ACTIONS_WEBHOOK_URL is not set: nowhere to deliver actions", allow_retries=False)
    s = store.store()
    try:
        with retry_only_healable("deliver_due_actions"):
            r = deliver_actions(s, settings.actions_webhook_url, settings.webhook_secret, max_attempts=settings.actions_max_attempts)
    finally:
        s.engine.dispose()
    meta = {"delivered": len(r.delivered), "retrying": len(r.retrying), "failed": len(r.failed),
            "outcome_unknown": len(r.stale), "taken_by_another_run": r.skipped,
            "target": webhooks.safe_target(settings.actions_webhook_url), "preview": dg.MetadataValue.md(r.preview())}
    context.add_output_metadata(meta)
    for e in r.errors:
        context.log.warning(e)
    if r.failed or r.stale:  # given up: alert (the failure webhook); retrying ones are only logged
        raise dg.Failure(description=f"{len(r.failed) + len(r.stale)} action(s) failed for good: " + "; ".join(r.errors[:5] or
                         [f"actions {r.stale} left sending by a stopped deliverer"]), metadata=meta, allow_retries=False)


@dg.job(name="actions_job", tags={**ACTION.run_tags(), "bgp/job": "actions_job", **NO_RUN_RETRY_ON_STEP_FAILURE},
        description="Deliver due outbound actions (scheduled prompts and actions from background work) to BGP_ACTIONS_WEBHOOK_URL")
def actions_job():
    deliver_due_actions()


def build_prompts_sensor(settings: Settings) -> dg.SensorDefinition | None:
    url = settings.actions_webhook_url
    if not url:
        return None

    @dg.sensor(
        name="scheduled_prompts_sensor", job=actions_job, minimum_interval_seconds=PROMPTS_TICK_SECONDS,
        default_status=sensor_status(settings),
        description=(f"Every 60 s: fires due scheduled prompts (each occurrence once) and requests actions_job while "
                     f"actions are due for {webhooks.safe_target(url)}"),
    )
    def scheduled_prompts_sensor(context: dg.SensorEvaluationContext, store: StoreResource):
        from background_pipelines.prompts import fire_due_prompts
        from background_pipelines.store.actions import due_summary
        from background_pipelines.store.ledger import utcnow

        s = store.store()
        try:
            fired = fire_due_prompts(s)
            count, highest, attempts = due_summary(s, utcnow())
        finally:
            s.engine.dispose()
        if fired.fired or fired.taken:
            context.log.info(fired.preview())
        if not count:
            return dg.SkipReason(f"{fired.preview()}; no action due")
        # the same due set gives the same key (a repeated tick adds no run); a retry or a new action a new one
        return dg.RunRequest(run_key=f"actions:{highest}:{attempts}:{count}",
                             tags={"bgp/trigger_reason": f"{count} action(s) due; {fired.preview()}"[:200]})

    return scheduled_prompts_sensor


def definitions(settings: Settings) -> dg.Definitions:
    sensor = build_prompts_sensor(settings)
    return dg.Definitions(jobs=[actions_job], sensors=[sensor] if sensor else [])
