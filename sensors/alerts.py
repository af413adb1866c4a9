"""Webhooks out of Dagster: a signed alert for every failed run (BGP_ALERT_WEBHOOK_URL) and a signed
notice when a run materializes one of BGP_COMPLETION_WEBHOOK_ASSETS. Both are left out without a URL."""

from __future__ import annotations

import dagster as dg

from background_pipelines import webhooks
from background_pipelines.config import Settings
from sensors._common import sensor_status


def _failure_details(context: dg.RunFailureSensorContext) -> tuple[str | None, str]:
    """(first failed step, its error) or (None, the run failure message)."""
    for event in context.get_step_failure_events():
        err = event.step_failure_data.error
        while err is not None and err.cause is not None:  # the user's exception, not Dagster's wrapper
            err = err.cause
        text = f"{err.cls_name}: {err.message}".strip() if err else event.message or "step failed"
        return event.step_key, text
    return None, context.failure_event.message or "run failed"


def build_failure_sensor(settings: Settings) -> dg.SensorDefinition | None:
    url = settings.alert_webhook_url
    if not url:
        return None

    @dg.run_failure_sensor(
        name="run_failure_alert_sensor",
        default_status=sensor_status(settings),
        minimum_interval_seconds=settings.sensor_tick_seconds,
        description=f"POSTs a signed JSON alert for every failed run to {webhooks.safe_target(url)}",
    )
    def run_failure_alert_sensor(context: dg.RunFailureSensorContext):
        run = context.dagster_run
        step, error = _failure_details(context)
        payload = webhooks.failure_payload(
            run_id=run.run_id, job=run.job_name, step=step, error=error,
            partition=run.tags.get("dagster/partition"),
            tags={k: v for k, v in run.tags.items() if k.startswith(("bgp/", "dagster/priority"))},
        )
        webhooks.post(url, payload, settings.webhook_secret)
        context.log.info(f"alert for run {run.run_id} sent to {webhooks.safe_target(url)}")

    return run_failure_alert_sensor


def materialized_assets(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    keys = {r.event_log_entry.dagster_event.asset_key.to_user_string() for r in records if r.event_log_entry.dagster_event}
    return sorted(keys)


def build_completion_sensor(settings: Settings) -> dg.SensorDefinition | None:
    url = settings.completion_webhook_url or settings.alert_webhook_url
    watched = set(settings.completion_webhook_assets)
    if not url or not watched:
        return None

    @dg.run_status_sensor(
        name="asset_completion_webhook_sensor",
        run_status=dg.DagsterRunStatus.SUCCESS,
        default_status=sensor_status(settings),
        minimum_interval_seconds=settings.sensor_tick_seconds,
        description=f"POSTs a signed notice when a run materializes any of {', '.join(sorted(watched))}",
    )
    def asset_completion_webhook_sensor(context: dg.RunStatusSensorContext):
        run = context.dagster_run
        done = [k for k in materialized_assets(context.instance, run.run_id) if k in watched]
        if not done:
            return dg.SkipReason(f"run {run.run_id} materialized none of {sorted(watched)}")
        payload = webhooks.completion_payload(
            run_id=run.run_id, job=run.job_name, assets=done, partition=run.tags.get("dagster/partition")
        )
        webhooks.post(url, payload, settings.webhook_secret)
        context.log.info(f"completion of {done} sent to {webhooks.safe_target(url)}")

    return asset_completion_webhook_sensor


def definitions(settings: Settings) -> dg.Definitions:
    sensors = [s for s in (build_failure_sensor(settings), build_completion_sensor(settings)) if s]
    return dg.Definitions(sensors=sensors)
