"""The UI flows a person uses, in a real browser against a real `dagster dev`: the lineage, one
partition materialized from the asset page, a 3-day backfill, an asset's metadata, a sensor toggled,
and forget_job launched as a dry run from the Launchpad. Each checks what the page shows and what the
launch really did (the run or backfill in the instance, the rows in the store)."""

from __future__ import annotations

import sqlite3
import time

import dagster as dg
from dagster._core.execution.backfill import BulkActionStatus  # no public names for these two statuses
from dagster._core.scheduler.instigation import InstigatorStatus

LOCATION = "background_pipelines.definitions"
DAY = "2026-11-03"


def _wait(what: str, check, timeout: float = 420):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _finished_run(instance, pred, what: str) -> dg.DagsterRun:
    def done():
        runs = [r for r in instance.get_runs() if pred(r)]
        return next((r for r in runs if r.is_finished), None)

    return _wait(what, done)


def _launch_from_asset_page(page, base: str, asset: str, selection: str, button: str) -> None:
    page.goto(f"{base}/assets/{asset}")
    # an asset whose upstream was never materialized (message_scores reads extracted_facts of the days
    # before, for its topic factor) gets an "Are you sure?" warning first: a person confirms it
    warning = page.get_by_role("dialog").filter(has_text="Are you sure?")

    def confirm(_) -> None:
        # handlers do not nest: the community sign-up dialog may lie over this one, close it first
        if page.get_by_text("Join the Dagster community").is_visible():
            page.get_by_role("button", name="Skip").click()
        # the click event on the button itself: an overlay that re-renders over it cannot take it
        warning.get_by_role("button", name="Confirm").dispatch_event("click")

    page.add_locator_handler(warning, confirm, times=1)
    page.get_by_role("button", name="Materialize…").click()
    dialog = page.get_by_role("dialog")
    box = dialog.get_by_placeholder("No matching partitions").or_(dialog.locator("input[type=text]")).first
    box.fill(selection)
    box.press("Enter")
    dialog.get_by_role("button", name=button).click()


def test_lineage_shows_every_asset_family(page, webserver):
    page.goto(f"{webserver}/asset-groups")
    page.get_by_text("Global asset lineage").wait_for()
    for group in ("conversations", "message_signals", "knowledge", "character_cognition", "graph_upkeep", "operations"):
        page.get_by_text(group, exact=True).first.wait_for()  # each family is drawn as a group in the graph


def test_materialize_one_partition_from_the_asset_page_and_read_its_metadata(page, webserver, instance):
    _launch_from_asset_page(page, webserver, "message_scores", DAY, "Launch 1 run")
    run = _finished_run(instance, lambda r: r.tags.get("dagster/partition") == DAY, f"the {DAY} run of message_scores")
    assert run.status == dg.DagsterRunStatus.SUCCESS
    # the page shows the partition's materialization and the metadata the asset returned
    page.goto(f"{webserver}/assets/message_scores?view=events&partition={DAY}")
    page.get_by_text("processed").first.wait_for()
    body = page.inner_text("body")
    assert DAY in body and "processed" in body and "llm_backend" in body
    event = instance.get_latest_materialization_event(dg.AssetKey("message_scores"))
    processed = event.asset_materialization.metadata["processed"].value
    assert processed > 0 and str(processed) in body


def test_three_day_backfill_materializes_each_day(page, webserver, instance):
    days = ["2026-11-01", "2026-11-02", DAY]
    _launch_from_asset_page(page, webserver, "relationship_scores", f"[{days[0]}...{days[-1]}]", "Launch backfill")

    def completed():
        done = [b for b in instance.get_backfills() if b.status != BulkActionStatus.REQUESTED]
        return done[0] if done else None

    backfill = _wait("the backfill to finish", completed)
    assert backfill.status == BulkActionStatus.COMPLETED_SUCCESS, backfill.status
    materialized = instance.get_materialized_partitions(dg.AssetKey("relationship_scores"))
    assert set(days) <= materialized
    page.goto(f"{webserver}/runs/b/{backfill.backfill_id}")  # the backfill's own page names what it did
    page.get_by_text("relationship_scores").first.wait_for()


def test_toggling_a_sensor_starts_and_stops_it(page, webserver, instance):
    page.goto(f"{webserver}/locations/{LOCATION}/sensors/reflections_sensor")
    box = page.locator("input[type=checkbox]").first  # the switch's input is hidden; its label is what one clicks
    box.wait_for(state="attached")
    assert not box.is_checked()  # BGP_AUTOMATION_DEFAULT_STATUS=stopped

    def state():
        s = [i for i in instance.all_instigator_state() if i.name == "reflections_sensor"]
        return s[0].status if s else None

    page.locator("label:has(input[type=checkbox])").first.click()
    _wait("the sensor to run", lambda: state() == InstigatorStatus.RUNNING, timeout=60)
    page.reload()
    page.locator("input[type=checkbox]").first.wait_for(state="attached")
    _wait("the page to show it running", lambda: page.locator("input[type=checkbox]").first.is_checked(), timeout=60)
    page.wait_for_load_state("networkidle")  # the switch is wired only once the page's queries settle
    # A click that lands while the page re-renders is lost, and a person clicks again: so do we, only
    # while the page still shows the sensor running (never a second toggle of one that stopped).
    for _attempt in range(3):
        if page.locator("input[type=checkbox]").first.is_checked():
            page.locator("label:has(input[type=checkbox])").first.click()
        try:
            _wait("the sensor to stop", lambda: state() == InstigatorStatus.STOPPED, timeout=30)
            break
        except AssertionError:
            continue
    assert state() == InstigatorStatus.STOPPED


def test_forget_job_from_the_launchpad_is_a_dry_run(page, webserver, instance, ui_env):
    page.goto(f"{webserver}/locations/{LOCATION}/jobs/forget_job/playground")
    page.get_by_text("dry_run: true").wait_for()  # the Launchpad opens with every field and a safe default
    body = page.inner_text("body")
    assert "user: ''" in body and "message_ids: []" in body
    config = "ops:\n  forget_op:\n    config:\n      user: demo:alice\n      message_ids: []\n      dry_run: true\n"
    page.evaluate("(text) => document.querySelector('.CodeMirror').CodeMirror.setValue(text)", config)
    page.get_by_role("button", name="Launch Run").click()
    run = _finished_run(instance, lambda r: r.job_name == "forget_job", "the forget_job run")
    assert run.status == dg.DagsterRunStatus.SUCCESS
    page.get_by_text("dry_run").first.wait_for()  # the run page, with the step's output metadata
    out = next(e for e in instance.all_logs(run.run_id) if e.dagster_event and e.dagster_event.event_type_value == "STEP_OUTPUT")
    meta = out.dagster_event.event_specific_data.metadata
    assert meta["dry_run"].value is True and meta["messages"].value > 0
    assert "messages" in meta["by_table"].value  # the counts table a person reads before launching for real
    with sqlite3.connect(ui_env["home"] / "store.db") as db:  # a dry run changes nothing
        assert db.execute("SELECT count(*) FROM messages WHERE author = 'demo:alice'").fetchone()[0] > 0
        assert db.execute("SELECT count(*) FROM users WHERE name = 'demo:alice'").fetchone()[0] == 1
