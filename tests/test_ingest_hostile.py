"""Hostile imports: deep nesting is refused in bounded memory, and every bad input from the fault
campaign (range-edge dates, lone surrogates, deep nesting, NUL in key fields, an unreachable store)
ends in one `file:line: field: problem` line with nothing written, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from background_pipelines.cli import main
from background_pipelines.store import open_store
from background_pipelines.store.schema import messages

DEPTH = 100_000


def _telegram(text_json: str, date: str = "2026-11-01T09:00:05") -> str:
    return (
        '{"name": "Mira", "type": "personal_chat", "id": 42, "messages": [{"id": 7, "type": "message", '
        f'"date": "{date}", "from": "alice", "from_id": "user1", "text": {text_json}}}]}}'
    )


def _discord(content_json: str, timestamp: str = "2026-11-04T12:00:00+00:00") -> str:
    return (
        '{"guild": {"id": "1", "name": "G"}, "channel": {"id": "2", "name": "lounge"}, "messages": [{"id": "9", '
        f'"type": "Default", "timestamp": "{timestamp}", "content": {content_json}, "author": {{"id": "3", "name": "bob"}}}}]}}'
    )


def _jsonl(**overrides) -> str:
    record = dict(external_id="m1", channel="dm", session="s1", author="alice", text="hi", created_at="2026-11-01T10:00:00Z")
    record.update(overrides)
    return json.dumps(record)


def _count(url: str) -> int:
    store = open_store(url)
    try:
        with store.connect() as conn:
            return conn.execute(select(func.count()).select_from(messages)).scalar_one()
    finally:
        store.engine.dispose()


_PROBE = textwrap.dedent(
    """
    import json, resource, sys
    from background_pipelines.ingest import IngestError, ingest_file
    from background_pipelines.store import open_store

    store = open_store(sys.argv[2])
    def usage():
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_maxrss / 1024, r.ru_utime + r.ru_stime
    rss0, cpu0 = usage()
    try:
        ingest_file(sys.argv[1], store, progress=False)
        error = None
    except IngestError as exc:
        error = str(exc)
    rss1, cpu1 = usage()
    print(json.dumps(dict(error=error, peak_mb_added=rss1 - rss0, cpu_seconds=cpu1 - cpu0)))
    """
)


@pytest.mark.parametrize("fmt", ["telegram", "discord"])
def test_deep_json_export_is_refused_in_bounded_memory(fmt, tmp_path):
    # 200 KB that drove the importer to 14 GB: the "text"/"content" value nested 100,000 deep
    nested = "[" * DEPTH + "]" * DEPTH
    path = tmp_path / f"deep_{fmt}.json"
    path.write_text(_telegram(nested) if fmt == "telegram" else _discord(nested), encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'store.db'}"
    # A resource bound on the child as well: 2 GB of address space and 20 CPU seconds, so a
    # regression fails this test instead of the machine.
    limits = "import resource; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30)); resource.setrlimit(resource.RLIMIT_CPU, (20, 20))\n"
    proc = subprocess.run([sys.executable, "-c", limits + _PROBE, str(path), url], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    error = report["error"]
    assert error is not None and "\n" not in error
    assert error.startswith(f"{path}:") and "nested more than 64 levels" in error
    assert report["peak_mb_added"] < 100, report
    assert report["cpu_seconds"] < 1.0, report
    assert _count(url) == 0


def _cases() -> dict[str, tuple[str, str, str]]:
    """name -> (file name, content, what the one error line must say)."""
    deep = "[" * 5000 + "]" * 5000
    return {
        "jsonl_date_before_year_1": ("a.jsonl", _jsonl(created_at="0001-01-01T00:00:00+01:00"), "field 'created_at'"),
        "jsonl_date_after_year_9999": ("a.jsonl", _jsonl(created_at="9999-12-31T23:59:59-01:00"), "field 'created_at'"),
        "telegram_date_edge": ("t.json", _telegram('"hi"', date="0001-01-01T00:00:00+01:00"), "field 'date'"),
        "discord_date_edge": ("d.json", _discord('"hi"', timestamp="9999-12-31T23:59:59-01:00"), "field 'timestamp'"),
        "jsonl_lone_surrogate": ("a.jsonl", _jsonl(text="a\ud800b").replace("\\ud800", "\ud800"), "malformed JSON"),
        "telegram_lone_surrogate": ("t.json", _telegram('"a\ud800b"'), "invalid UTF-8"),
        "jsonl_deep": ("a.jsonl", _jsonl(extra=None).replace("null", deep), "malformed JSON"),
        "telegram_deep": ("t.json", _telegram(deep), "nested more than 64 levels"),
        "jsonl_nul_author": ("a.jsonl", _jsonl(author="al\x00ice"), "field 'author': Value error, contains a NUL"),
        "jsonl_nul_channel": ("a.jsonl", _jsonl(channel="d\x00m"), "field 'channel': Value error, contains a NUL"),
        "jsonl_nul_id": ("a.jsonl", _jsonl(external_id="m\x001"), "field 'external_id': Value error, contains a NUL"),
        "jsonl_nul_session": ("a.jsonl", _jsonl(session="s\x001"), "field 'session': Value error, contains a NUL"),
        "telegram_nul_author": ("t.json", _telegram('"hi"').replace('"alice"', '"al\\u0000ice"'), "field 'author'"),
        "discord_nul_author": ("d.json", _discord('"hi"').replace('"bob"', '"b\\u0000ob"'), "field 'author'"),
    }


@pytest.mark.parametrize("case", sorted(_cases()))
def test_bad_input_ends_in_one_line_and_writes_nothing(case, bgp_env, tmp_path, capsys):
    name, content, expected = _cases()[case]
    path = tmp_path / name
    # surrogatepass writes "\ud800" as the raw bytes ED A0 80: a lone surrogate, invalid UTF-8
    path.write_bytes(content.encode("utf-8", "surrogatepass"))
    assert main(["ingest", "--no-progress", str(path)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    assert err.startswith(f"error: {path}") and expected in err, err
    assert _count(bgp_env) == 0


@pytest.mark.parametrize(
    "argv",
    [["db", "current"], ["db", "upgrade"], ["ingest", "x.jsonl"], ["recall", "alice", "hi"], ["backups"],
     ["llm", "usage"], ["forget", "--user", "alice"], ["cleanup"], ["graph", "merges"], ["characters", "list"]],
)
@pytest.mark.parametrize("url", ["postgresql://bgp:canary-pw-7731@127.0.0.1:1/nowhere", "sqlite:////proc/no/such/store.db"])
def test_cli_that_cannot_open_the_store_prints_one_line(argv, url, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BGP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BGP_DATABASE_URL", url)
    if argv[0] == "ingest":
        (tmp_path / "x.jsonl").write_text(_jsonl() + "\n")
        argv = ["ingest", "--no-progress", str(tmp_path / "x.jsonl")]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("error: ") and "store" in err, err
    assert "canary-pw-7731" not in err
