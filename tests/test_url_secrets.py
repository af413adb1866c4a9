"""A password inside BGP_LLM_BASE_URL (http://user:pass@host/v1) reaches nothing: not the ledger (nor
so any backup), the Dagster event log, compute logs, the console or any repr, through real failing
Dagster runs against the local server (every call 500) and an endpoint that refuses connections."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import select

from assets import summaries
from assets.resources import LLMResource, StoreResource
from background_pipelines.backup import backup_store
from background_pipelines.config import Settings, redact_urls, split_userinfo
from background_pipelines.demo import load_demo
from background_pipelines.llm import Gateway
from background_pipelines.llm.local_server import LocalLLMServer
from background_pipelines.store.schema import ledger as processing_ledger

CANARY = "canary-Pw-51e7"
DAY = "2026-11-01"


def _texts_under(root: Path) -> str:
    out = []
    for path in root.rglob("*"):
        if path.is_file():
            raw = path.read_bytes()
            out.append(gzip.decompress(raw).decode("utf-8", "replace") if path.suffix == ".gz" else raw.decode("utf-8", "replace"))
    return "\n".join(out)


def test_url_userinfo_is_redacted_everywhere_it_is_shown():
    assert redact_urls(f"POST http://bob:{CANARY}@h:1/v1/chat failed; see https://x:y@z/") == "POST http://***@h:1/v1/chat failed; see https://***@z/"
    assert split_userinfo(f"http://bob:{CANARY.replace('-', '%2D')}@h:1/v1") == ("http://h:1/v1", ("bob", CANARY))
    settings = Settings.from_env({"BGP_LLM_BASE_URL": f"http://bob:{CANARY}@h/v1", "BGP_EMBEDDING_BASE_URL": f"http://bob:{CANARY}@e/v1",
                                  "BGP_ALERT_WEBHOOK_URL": f"https://bob:{CANARY}@hooks/x"})
    assert CANARY not in repr(settings) + str(settings)
    assert CANARY not in repr(Gateway(None, base_url=settings.llm_base_url, use_cache=False))


@pytest.mark.parametrize("endpoint", ["failing_server", "refused_connection"])
def test_a_url_password_appears_nowhere_after_failing_runs(endpoint, bgp_env, store, tmp_path, monkeypatch, capfd, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "background_pipelines"):
        caplog.set_level(logging.DEBUG, logger=name)
    monkeypatch.setenv("BGP_START_DATE", DAY)
    monkeypatch.setenv("BGP_LLM_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("BGP_LLM_TIMEOUT_SECONDS", "5")
    load_demo(store)
    home = tmp_path / "dagster_home"
    home.mkdir()
    with LocalLLMServer() as srv:
        srv.fail_next(10_000, status=500, path=None)
        host_port = srv.base_url.split("//", 1)[1].split("/", 1)[0] if endpoint == "failing_server" else "127.0.0.1:1"
        monkeypatch.setenv("BGP_LLM_BASE_URL", f"http://bgpuser:{CANARY}@{host_port}/v1")
        settings = Settings.from_env()
        with dg.DagsterInstance.local_temp(tempdir=str(home)) as instance:
            result = dg.materialize(
                list(summaries.definitions(settings).assets or []),
                instance=instance,
                resources={"store": StoreResource(), "llm": LLMResource()},
                partition_key=DAY,
                raise_on_error=False,
            )
            events = "\n".join(dg.serialize_value(e) for e in instance.all_logs(result.run_id))
        if endpoint == "failing_server":
            assert srv.stats()["total"] > 0  # the calls did reach the server (as basic auth, not in the URL)
    with store.connect() as conn:
        errors = [r.error for r in conn.execute(select(processing_ledger.c.error).where(processing_ledger.c.error.isnot(None)))]
    assert errors and any(("500" in e) or ("connection" in e) for e in errors), errors[:3]
    backup = backup_store(store, tmp_path / "backups", kind="snapshot", method="sqlite" if store.dialect == "sqlite" else "export")
    captured = capfd.readouterr()
    everything = {
        "ledger": "\n".join(errors),
        "event log": events,
        "dagster home (compute logs, storage)": _texts_under(home),
        "backup": _texts_under(Path(backup.path)) if Path(backup.path).is_dir() else Path(backup.path).read_bytes().decode("latin-1"),
        "console": captured.out + captured.err,
        "logs": caplog.text,
    }
    assert "item(s) failed" in events  # the failures did reach the event log
    leaked = [where for where, text in everything.items() if CANARY in text]
    assert not leaked, f"the URL password leaked into: {leaked}"
