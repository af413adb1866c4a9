"""The benchmark harness: a missed goal is reported, never an exit code; make bench finds the scripts by convention."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks._report import RESULTS_ENV, Report, discover, load_goals  # noqa: E402
from benchmarks.run_bench import run_one, summary  # noqa: E402


def test_missed_goal_prints_not_met_and_exits_zero(tmp_path, monkeypatch, capsys):
    out = tmp_path / "goals.jsonl"
    monkeypatch.setenv(RESULTS_ENV, str(out))
    report = Report("demo")
    assert report.check("p95 of something", "120.0 ms", "< 100 ms", False) is False
    report.check("a ratio", "0.95", ">= 0.9", True)
    assert report.finish() == 0
    printed = capsys.readouterr().out
    assert "NOT MET: p95 of something: 120.0 ms (goal < 100 ms)" in printed
    assert "demo: 1 of 2 goals MET" in printed
    goals = load_goals(out)
    assert [(g.compared, g.verdict) for g in goals] == [("p95 of something", "NOT MET"), ("a ratio", "MET")]
    assert json.loads(out.read_text().splitlines()[0])["benchmark"] == "demo"


def test_discover_follows_the_naming_convention():
    benches = {b.path.name: b for b in discover()}
    assert not any(n.startswith(("_", "run_")) for n in benches)
    assert benches["recall_quality.py"].smoke_args == []  # its SMOKE_ARGS, read without importing it
    assert benches["sensor_tick.py"].smoke_args == ["--smoke"] and benches["sensor_tick.py"].full_args == []
    assert benches["sensor_tick.py"].reports


def test_summary_marks_a_crash_and_a_silent_script():
    goal = Report("a")
    goal.check("x", "1", "<= 2", True)
    rows = [dict(name="a", code=0, wall=3.0, cpu=2.0, load="1.00, 1.00, 1.00", goals=goal.goals),
            dict(name="b", code=2, wall=1.0, cpu=1.0, load="?", goals=[]),
            dict(name="c", code=0, wall=1.0, cpu=1.0, load="?", goals=[])]
    from datetime import datetime, timezone

    text = summary(rows, smoke=True, started=datetime(2026, 12, 2, tzinfo=timezone.utc))
    assert "| a | x | 1 | <= 2 | MET | 3 | 2 | 1.00, 1.00, 1.00 |" in text
    assert "| b | crashed | exit 2 |  | CRASHED |" in text
    assert "| c | (no goal reported) |" in text
    assert "1 of 1 goals MET, 1 crashed" in text


def test_run_one_records_exit_code_and_goals(tmp_path):
    """A script that misses its goal exits 0 with the goal recorded; one that crashes shows its exit code."""
    missed = tmp_path / "missed.py"
    missed.write_text(f"import sys; sys.path.insert(0, {str(ROOT)!r})\nfrom benchmarks._report import Report\n"
                      "r = Report('missed'); r.check('ratio', '2.0', '<= 1.5', False); sys.exit(r.finish())\n")
    boom = tmp_path / "boom.py"
    boom.write_text("raise RuntimeError('boom')\n")
    ok, crashed = run_one(missed, [], tmp_path / "missed.log"), run_one(boom, [], tmp_path / "boom.log")
    assert ok["code"] == 0 and [(g.compared, g.met) for g in ok["goals"]] == [("ratio", False)]
    assert crashed["code"] == 1 and crashed["goals"] == [] and "RuntimeError: boom" in (tmp_path / "boom.log").read_text()
