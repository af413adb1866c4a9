"""Downstream triggers read from the store past a cursor: reflections after new summaries (deferred by
REFLECTION_DELAY_SECONDS) and insights after INSIGHT_FACT_THRESHOLD new facts or INSIGHT_MAX_HOURS.

Store rows rather than asset events: the delay and the counts are facts about summary and fact rows,
and reading them by id is as cheap as the event log and sees rows however they were written.
"""

from __future__ import annotations

import dagster as dg

from assets.resources import StoreResource
from background_pipelines.config import Settings
from background_pipelines.triggers import INSIGHTS, REFLECTIONS, dump_cursor, plan_insights, plan_reflections
from sensors._common import durable_cursor, run_requests, sensor_status, utcnow
from sensors.jobs import asset_jobs


def _result(context, settings, plan, jobs) -> dg.SensorResult:
    requests, dropped = run_requests(settings, plan.requests, jobs)
    for d in dropped:
        context.log.warning(f"not requested: {d}")
    if not requests:
        return dg.SensorResult(skip_reason=plan.skip_reason or "; ".join(dropped), cursor=dump_cursor(plan.cursor))
    return dg.SensorResult(run_requests=requests, cursor=dump_cursor(plan.cursor))


def build_reflections_sensor(settings: Settings) -> dg.SensorDefinition | None:
    built = asset_jobs(settings).get("reflections_job")
    if built is None:
        return None
    jobs = {REFLECTIONS: built}

    @dg.sensor(
        name="reflections_sensor",
        job=built.job,
        # the delay is a minute by default: a 5 s tick would only pay the daemon and code server for nothing
        minimum_interval_seconds=max(settings.sensor_tick_seconds, min(30, settings.reflection_delay_seconds // 2)),
        default_status=sensor_status(settings),
        description=f"Reflections over new summaries, {settings.reflection_delay_seconds}s after they are stored",
    )
    def reflections_sensor(context: dg.SensorEvaluationContext, store: StoreResource):
        s = store.store()
        try:
            plan = plan_reflections(s, durable_cursor(context, "reflections_sensor"), now=utcnow(), delay_seconds=settings.reflection_delay_seconds)
        finally:
            s.engine.dispose()
        return _result(context, settings, plan, jobs)

    return reflections_sensor


def build_insights_sensor(settings: Settings) -> dg.SensorDefinition | None:
    built = asset_jobs(settings).get("insights_job")
    if built is None:
        return None
    jobs = {INSIGHTS: built}

    @dg.sensor(
        name="insights_sensor",
        job=built.job,
        minimum_interval_seconds=max(settings.sensor_tick_seconds, 30),
        default_status=sensor_status(settings),
        description=(
            f"Insights after {settings.insight_fact_threshold} new facts, or {settings.insight_max_hours:g} h "
            "after the last insights run when any new fact exists"
        ),
    )
    def insights_sensor(context: dg.SensorEvaluationContext, store: StoreResource):
        s = store.store()
        try:
            plan = plan_insights(
                s, durable_cursor(context, "insights_sensor"), now=utcnow(),
                fact_threshold=settings.insight_fact_threshold, max_hours=settings.insight_max_hours,
            )
        finally:
            s.engine.dispose()
        return _result(context, settings, plan, jobs)

    return insights_sensor


def definitions(settings: Settings) -> dg.Definitions:
    sensors = [s for s in (build_reflections_sensor(settings), build_insights_sensor(settings)) if s]
    return dg.Definitions(sensors=sensors)
