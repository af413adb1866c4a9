"""Imported history is processed without configuration (issue 16): a Telegram export from 2024 goes
into a fresh store, the code location loads, the new-messages sensor is evaluated for real and its
runs executed; scores, summaries and facts then exist for those 2024 days. `make demo`'s runner
processes the same store, and each partition of the ranged runs carries its own day's counts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import func, select

from assets.resources import StoreResource
from background_pipelines.config import Settings
from background_pipelines.definitions import build_definitions
from background_pipelines.ingest import ingest_file
from background_pipelines.store.schema import facts, message_scores, messages, summaries

ROOT = Path(__file__).resolve().parents[1]
DAYS = ["2024-03-04", "2024-03-05", "2024-03-07"]  # a gap on the 6th, as real history has
ALICE_SAYS = [
    "Morning Mira! I work at Acme Corp now, started last week.",
    "I live in Lisbon, near the river.",
    "My dog Biscuit is sick again, I'm worried about him.",
    "Work was long today, lots of meetings.",
    "Do you think I should take the weekend off?",
    "I love hiking when the weather is good.",
]
MIRA_SAYS = ["Oh, tell me more!", "That sounds like a lot.", "I'm here for you.", "How did that feel?"]


def telegram_export_2024(path: Path, per_day: int = 24) -> Path:
    """A Telegram Desktop result.json (one personal chat) with a conversation on each of DAYS."""
    out, mid = [], 1000
    for day in DAYS:
        start = datetime.fromisoformat(day).replace(hour=9, tzinfo=timezone.utc)
        for i in range(per_day):
            at = start + timedelta(minutes=2 * i)
            alice = i % 2 == 0
            text = ALICE_SAYS[(i // 2) % len(ALICE_SAYS)] if alice else MIRA_SAYS[(i // 2) % len(MIRA_SAYS)]
            mid += 1
            out.append({
                "id": mid, "type": "message", "date": at.strftime("%Y-%m-%dT%H:%M:%S"),
                "date_unixtime": str(int(at.timestamp())),
                "from": "Alice Moreau" if alice else "Mira", "from_id": "user111" if alice else "user999",
                "text": text, "text_entities": [{"type": "plain", "text": text}],
            })
    path.write_text(json.dumps({"name": "Mira", "type": "personal_chat", "id": 4815162342, "messages": out}), encoding="utf-8")
    return path


def _count_by_day(store, table, day_col) -> dict[str, int]:
    with store.connect() as conn:
        return dict(conn.execute(select(day_col, func.count()).select_from(table).group_by(day_col)).all())


@pytest.fixture
def no_start_date(bgp_env, monkeypatch):
    monkeypatch.delenv("BGP_START_DATE", raising=False)
    return bgp_env


def test_imported_2024_history_is_processed_by_the_sensor_runs_without_configuration(no_start_date, store, tmp_path):
    report = ingest_file(telegram_export_2024(tmp_path / "result.json"), store, characters=["Mira"], progress=False)
    assert report.inserted == 24 * len(DAYS)
    defs = build_definitions(Settings.from_env())  # the code location loads after the import
    sensor = defs.get_repository_def().get_sensor_def("new_messages_sensor")
    with dg.instance_for_test() as instance:
        ctx = dg.build_sensor_context(instance=instance, resources={"store": StoreResource(database_url=no_start_date)},
                                      definitions=defs)
        data = sensor.evaluate_tick(ctx)
        jobs = {r.job_name for r in data.run_requests}
        # the knowledge sensor fires for imported history (counted by arrival, not by 2024 message time)
        assert {"scoring_job", "summaries_job", "knowledge_job"} <= jobs, data.skip_message
        for order in ("scoring_job", "summaries_job", "knowledge_job"):  # the order the daemon's priorities give
            for r in (r for r in data.run_requests if r.job_name == order):
                result = defs.resolve_job_def(r.job_name).execute_in_process(
                    instance=instance, partition_key=r.partition_key, tags=r.tags)
                assert result.success, r
        # one run per job covered the imported range (a single-run backfill), not a run per day
        assert len(instance.get_runs()) == len(data.run_requests) <= 3
        for key in ("message_scores", "session_summaries", "extracted_facts"):
            mats = instance.fetch_materializations(dg.AssetKey(key), limit=50).records
            assert {m.partition_key for m in mats} >= set(DAYS), key
    scored = _count_by_day(store, message_scores.join(messages, messages.c.id == message_scores.c.message_id), messages.c.day)
    assert all(scored.get(d) == 24 for d in DAYS)
    assert set(_count_by_day(store, summaries, summaries.c.day)) == set(DAYS)
    fact_days = _count_by_day(store, facts, facts.c.day)
    assert set(fact_days) <= set(DAYS) and DAYS[0] in fact_days
    with store.connect() as conn:
        objects = set(conn.execute(select(facts.c.object)).scalars())
    assert {"Acme Corp", "Lisbon"} <= objects


def test_each_partition_of_a_three_day_backfill_has_its_own_counts(no_start_date, store, tmp_path):
    ingest_file(telegram_export_2024(tmp_path / "result.json", per_day=24), store, characters=["Mira"], progress=False)
    # a fourth day with a different size, so equal counts could not pass by accident
    ingest_file(_extra_day(tmp_path / "extra.json"), store, characters=["Mira"], progress=False)
    defs = build_definitions(Settings.from_env())
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(
            instance=instance, asset_selection=[dg.AssetKey("message_scores"), dg.AssetKey("extracted_facts")],
            tags={"dagster/asset_partition_range_start": "2024-03-05", "dagster/asset_partition_range_end": "2024-03-07"},
        )
        assert result.success
        meta = {(e.asset_key.to_user_string(), e.partition): e.materialization.metadata
                for e in result.get_asset_materialization_events()}
    expected = {"2024-03-05": 24, "2024-03-06": 7, "2024-03-07": 24}
    for day, n in expected.items():
        assert meta[("message_scores", day)]["processed"].value == n  # not the run's 55
        assert meta[("message_scores", day)]["dagster/row_count"].value == n
        assert meta[("message_scores", day)]["run_days"].value == "2024-03-05..2024-03-07 (3 days)"
        assert day in meta[("message_scores", day)]["preview"].value
    users = {d: meta[("extracted_facts", d)]["processed"].value for d in expected}
    assert users["2024-03-06"] < users["2024-03-05"]


def _extra_day(path: Path) -> Path:
    at = datetime(2024, 3, 6, 20, tzinfo=timezone.utc)
    msgs = [{"id": 5000 + i, "type": "message", "date": (at + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%S"),
             "date_unixtime": str(int((at + timedelta(minutes=i)).timestamp())), "from": "Alice Moreau", "from_id": "user111",
             "text": f"Late note {i}: I moved to Porto.", "text_entities": []} for i in range(7)]
    path.write_text(json.dumps({"name": "Mira", "type": "personal_chat", "id": 4815162342, "messages": msgs}), encoding="utf-8")
    return path


def test_demo_runner_processes_an_imported_old_export(no_start_date, store, tmp_path):
    ingest_file(telegram_export_2024(tmp_path / "result.json"), store, characters=["Mira"], progress=False)
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((ROOT / "dagster.yaml").read_text())
    env = dict(os.environ, DAGSTER_HOME=str(home))
    env.pop("BGP_START_DATE", None)
    proc = subprocess.run([sys.executable, str(ROOT / "deploy" / "demo_run.py")], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "2024-03-04..2024-03-07: run" in proc.stdout and "demo done" in proc.stdout  # one stretch: the 6th is a 1-day gap
    assert all(n == 24 for d, n in _count_by_day(store, message_scores.join(messages, messages.c.id == message_scores.c.message_id), messages.c.day).items())


def test_ingest_process_runs_the_imported_days_in_the_foreground(no_start_date, store, tmp_path, capsys, monkeypatch):
    from background_pipelines.cli import main
    from background_pipelines.store import ledger

    monkeypatch.setenv("BGP_DAGSTER_URL", "http://127.0.0.1:9")  # nothing listens: the reload is reported, not fatal
    add_old = telegram_export_2024(tmp_path / "result.json")
    assert main(["ingest", str(add_old), "--character", "Mira", "--process", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"imported messages on {len(DAYS)} day(s), {DAYS[0]}..{DAYS[-1]}" in out
    assert "processed: facts 72, graph " in out and "scores 72, embeddings" in out  # facts first: scores read them
    scored = _count_by_day(store, message_scores.join(messages, messages.c.id == message_scores.c.message_id), messages.c.day)
    assert all(scored.get(d) == 24 for d in DAYS)
    assert set(_count_by_day(store, summaries, summaries.c.day)) == set(DAYS)
    assert DAYS[0] in _count_by_day(store, facts, facts.c.day)
    assert ledger.counts(store, "score")[("score", ledger.DONE)] == 72
    # an older import moves the start of history back: the running UI is asked to reload
    older = tmp_path / "older.json"
    older.write_text(add_old.read_text().replace('"2024-03-', '"2023-03-').replace('"id": 1', '"id": 7'), encoding="utf-8")
    data = json.loads(older.read_text())
    for m in data["messages"]:
        m["date_unixtime"] = str(int(datetime.fromisoformat(m["date"]).replace(tzinfo=timezone.utc).timestamp()))
    older.write_text(json.dumps(data), encoding="utf-8")
    assert main(["ingest", str(older), "--character", "Mira", "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "history now starts 2023-03-04 (was 2024-03-04): no Dagster UI answered at http://127.0.0.1:9/graphql" in out
