"""users_sensor: every new user account becomes a partition of `user_memory` (the per-user view in
the UI), read past a cursor on users.id, so a tick costs what arrived since the last one."""

from __future__ import annotations

import dagster as dg

from assets.resources import StoreResource
from assets.users import USERS
from background_pipelines.config import Settings
from sensors._common import durable_cursor, sensor_status

BATCH = 5000  # accounts added per tick; a bigger backlog is added over the next ticks


def build_users_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        name="users_sensor", minimum_interval_seconds=60, default_status=sensor_status(settings),
        description="Adds each new user account (platform:id) as a partition of user_memory, the per-user view",
    )
    def users_sensor(context: dg.SensorEvaluationContext, store: StoreResource):
        from background_pipelines.store.users import keys_after

        after = int(durable_cursor(context, "users_sensor") or 0)
        s = store.store()
        try:
            with s.connect() as conn:
                rows = keys_after(conn, after, BATCH)
        finally:
            s.engine.dispose()
        if not rows:
            return dg.SkipReason(f"no new user accounts past id {after}")
        return dg.SensorResult(
            dynamic_partitions_requests=[USERS.build_add_request([k for _, k in rows])],
            cursor=str(rows[-1][0]),
        )

    return users_sensor


def definitions(settings: Settings) -> dg.Definitions:
    return dg.Definitions(sensors=[build_users_sensor(settings)])
