"""Nothing stranded: a run the sensor requested that never ran (the launch failed) is requested again
under a new run_key, that run does the work for real, and then the sensor stops asking."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import dagster as dg
import pytest

from _sensors_data import add_messages
from assets.resources import StoreResource
from background_pipelines.config import Settings
from background_pipelines.definitions import build_definitions
from background_pipelines.store import ledger
from background_pipelines.store.ledger import utcnow


@pytest.fixture
def defs(bgp_env, monkeypatch):
    monkeypatch.setenv("BGP_RERUN_AFTER_SECONDS", "1")
    monkeypatch.setenv("BGP_SENSOR_MIN_INTERVAL_SECONDS", "0")
    monkeypatch.setenv("ENABLE_RUNTIME_FACT_EXTRACTION", "false")  # scoring is enough to show it
    return build_definitions(Settings.from_env())


def _tick(defs, instance, db_url, cursor):
    sensor = defs.get_repository_def().get_sensor_def("new_messages_sensor")
    ctx = dg.build_sensor_context(instance=instance, cursor=cursor, resources={"store": StoreResource(database_url=db_url)},
                                  definitions=defs)
    return sensor.evaluate_tick(ctx)


def _launch_failed(defs, instance, request: dg.RunRequest) -> None:
    """What the daemon records when a launch fails (e.g. a code-server deadline): a run that failed."""
    job = defs.resolve_job_def(request.job_name)
    run = instance.create_run_for_job(job, tags={**request.tags, "dagster/partition": request.partition_key,
                                                 "dagster/run_key": request.run_key})
    instance.report_run_failed(run, "gRPC deadline exceeded while launching (as under load)")


def test_a_run_that_failed_to_launch_is_requested_again_and_its_items_end_done(defs, store, bgp_env):
    ids = add_messages(store, 5, at=utcnow() - timedelta(minutes=2))
    with dg.instance_for_test() as instance:
        first = _tick(defs, instance, bgp_env, None)
        (req,) = first.run_requests
        assert req.job_name == "scoring_job"
        _launch_failed(defs, instance, req)
        time.sleep(1.1)
        again = _tick(defs, instance, bgp_env, first.cursor)
        (retry,) = again.run_requests
        assert (retry.job_name, retry.partition_key, retry.run_key) == (req.job_name, req.partition_key, f"{req.run_key}:retry1")
        result = defs.resolve_job_def(retry.job_name).execute_in_process(
            instance=instance, partition_key=retry.partition_key, tags={"dagster/run_key": retry.run_key}
        )
        assert result.success
        time.sleep(2.1)  # the next check falls due (backoff: 2 s after the first retry)
        after = _tick(defs, instance, bgp_env, again.cursor)
        assert after.run_requests == [] and json.loads(after.cursor)["outstanding"] == {}
    from background_pipelines.cognition.scoring import VERSION

    assert ledger.done_items(store, "score", VERSION, [str(i) for i in ids]) == {str(i) for i in ids}
