"""A run that fails to launch is requested again and its items end done: the real daemon
(`dagster-daemon run`, its code server, the queued run coordinator) with a run launcher whose first
launches fail as an unreachable code server's do, a burst of messages on two days, and the store's
ledger as the judge."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
from flaky_launcher import FAILURE
from test_daemon import ROOT, Daemon, daemon_env, wait_for

from _sensors_data import add_messages
from background_pipelines.cognition.scoring import VERSION as SCORE_VERSION
from background_pipelines.store import ledger, open_store
from background_pipelines.store.ledger import utcnow

FAILED_LAUNCHES = 2


def _said(entry) -> str:
    """An event's message and the error it carries (a failed launch's reason is in the error)."""
    data = entry.dagster_event.event_specific_data if entry.dagster_event else None
    error = getattr(data, "error", None) or entry.error_info
    return f"{entry.message or ''} {error.to_string() if error else ''}"


def test_runs_that_fail_to_launch_are_requested_again_and_their_items_end_done(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = open_store(url)
    env = daemon_env(tmp_path, url, BGP_RERUN_AFTER_SECONDS="2", ENABLE_RUNTIME_FACT_EXTRACTION="false",
                     PYTHONPATH=str(ROOT / "tests"))
    state = tmp_path / "launcher"
    state.mkdir()
    with open(tmp_path / "dagster_home" / "dagster.yaml", "a") as f:
        f.write(f"\nrun_launcher:\n  module: flaky_launcher\n  class: FlakyRunLauncher\n"
                f"  config:\n    failures: {FAILED_LAUNCHES}\n    state_dir: {state}\n")
    now = utcnow()  # in the store before the code location loads: yesterday is a partition
    ids = add_messages(store, 12, session="yesterday", at=now - timedelta(days=1), step=timedelta(seconds=1))
    ids += add_messages(store, 12, session="today", at=now - timedelta(minutes=2), step=timedelta(seconds=1))
    log = tmp_path / "daemon.log"
    with Daemon(env, log) as daemon:

        def all_scored():
            return ledger.done_items(store, "score", SCORE_VERSION, [str(i) for i in ids]) == {str(i) for i in ids}

        wait_for(all_scored, "every message scored", daemon, log, timeout=300)

        def asked_again():  # a run the sensor (run_key ...:retryN) or the run retries (parent run) made, done
            return [r for r in daemon.instance.get_runs(filters=dg.RunsFilter(job_name="scoring_job", statuses=[dg.DagsterRunStatus.SUCCESS]))
                    if ":retry" in r.tags.get("dagster/run_key", "") or r.tags.get("dagster/parent_run_id")]

        again = wait_for(asked_again, "a successful run asked again for the failed launches' work", daemon, log, timeout=300)
        runs = daemon.instance.get_runs(filters=dg.RunsFilter(job_name="scoring_job"))
        launched = (state / "launches.txt").read_text().split()
        assert len(launched) > FAILED_LAUNCHES, "launched again after the failed launches"
        failed = [r for r in runs if r.status == dg.DagsterRunStatus.FAILURE]
        failed_to_launch = [r for r in failed if any(FAILURE in _said(e) for e in daemon.instance.all_logs(r.run_id))]
        assert len(failed_to_launch) == FAILED_LAUNCHES, [(r.tags.get("dagster/run_key"), r.status) for r in runs]
        assert {r.tags["dagster/run_key"].split(":retry")[0] for r in again} == {r.tags["dagster/run_key"].split(":retry")[0] for r in failed_to_launch}
    store.engine.dispose()
