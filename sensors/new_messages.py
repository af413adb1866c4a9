"""The new-messages sensor: scoring + embedding, session summaries and knowledge extraction runs,
requested from the messages past its cursor (see background_pipelines.triggers.plan_new_messages)."""

from __future__ import annotations

import dagster as dg

from assets.resources import StoreResource
from background_pipelines.config import Settings
from background_pipelines.triggers import KNOWLEDGE, SCORING, SUMMARIES, dump_cursor, plan_new_messages
from sensors._common import active_runs, durable_cursor, run_requests, sensor_status, utcnow
from sensors.jobs import asset_jobs

STAGE_JOBS = {SCORING: "scoring_job", SUMMARIES: "summaries_job", KNOWLEDGE: "knowledge_job"}


def build_new_messages_sensor(settings: Settings) -> dg.SensorDefinition | None:
    built = asset_jobs(settings)
    jobs = {stage: built[name] for stage, name in STAGE_JOBS.items() if name in built}
    if not jobs:
        return None

    @dg.sensor(
        name="new_messages_sensor",
        jobs=[b.job for b in jobs.values()],
        minimum_interval_seconds=settings.sensor_tick_seconds,
        default_status=sensor_status(settings),
        description=(
            f"Reads messages past its cursor; requests {', '.join(sorted(jobs))} runs (scoring at most every "
            f"{settings.sensor_min_interval_seconds}s, summaries at {settings.summary_message_threshold} unsummarised "
            f"messages in a session, knowledge at {settings.knowledge_extraction_threshold} unprocessed user messages or "
            f"{settings.knowledge_max_delay_seconds}s after the first, one run in flight at a time); requests again, "
            f"{settings.rerequest_after_seconds}s on, work a run left undone"
        ),
    )
    def new_messages_sensor(context: dg.SensorEvaluationContext, store: StoreResource):
        s = store.store()
        try:
            plan = plan_new_messages(
                s,
                durable_cursor(context, "new_messages_sensor"),
                now=utcnow(),
                stages=jobs.keys(),
                summary_threshold=settings.summary_message_threshold,
                knowledge_threshold=settings.knowledge_extraction_threshold,
                min_interval_seconds=settings.sensor_min_interval_seconds,
                knowledge_max_delay_seconds=settings.knowledge_max_delay_seconds,
                retry_after_seconds=settings.rerequest_after_seconds,
                active=active_runs(context.instance, jobs),
            )
        finally:
            s.engine.dispose()
        requests, dropped = run_requests(settings, plan.requests, jobs)
        for d in dropped:
            context.log.warning(f"not requested: {d}")
        sent = {r.job_name for r in requests}
        for r in plan.requests:  # nothing to wait for on days that are not partitions
            if jobs[r.stage].job.name not in sent:
                plan.cursor["outstanding"].pop(r.stage, None)
        if not requests:
            return dg.SensorResult(skip_reason=plan.skip_reason or "; ".join(dropped), cursor=dump_cursor(plan.cursor))
        return dg.SensorResult(run_requests=requests, cursor=dump_cursor(plan.cursor))

    return new_messages_sensor


def definitions(settings: Settings) -> dg.Definitions:
    sensor = build_new_messages_sensor(settings)
    return dg.Definitions(sensors=[sensor] if sensor else [])
