"""Concurrent runs of one partition share the LLM work: each stage claims the items it will ask about
in the ledger (a lease per run), so two racing runs of the demo day (scores, facts, summaries) make no
more requests than one run, and every item ends done. A dead run's claims expire; unsettled claims
go back to pending."""

from __future__ import annotations

import threading
from datetime import timedelta

from background_pipelines.cognition.facts import extract_facts
from background_pipelines.cognition.replay import script_offline_answers
from background_pipelines.cognition.scoring import score_messages
from background_pipelines.cognition.summaries import summarize_sessions
from background_pipelines.config import Secret, Settings
from background_pipelines.demo import load_demo
from background_pipelines.llm import Gateway
from background_pipelines.llm.local_server import LocalLLMServer
from background_pipelines.store import ledger, open_store
from background_pipelines.store.messages import messages_for_day

DAY = "2026-11-01"


def _run(store, srv, run_id: str, barrier: threading.Barrier | None = None) -> None:
    settings = Settings.from_env({"BGP_EMBEDDING_BACKEND": "hashing"})
    gateway = Gateway(store, base_url=srv.base_url, api_key=Secret("sk-x"), use_cache=False, max_concurrency=4)
    if barrier:
        barrier.wait()
    for stage in (score_messages, extract_facts, summarize_sessions):
        stage(store, gateway, settings, DAY, run_id=run_id)


def test_two_racing_runs_make_no_more_requests_than_one(store, tmp_path):
    load_demo(store)
    alone = open_store(f"sqlite:///{tmp_path / 'alone.db'}")
    load_demo(alone)
    with LocalLLMServer(latency=0.2) as srv:
        script_offline_answers(srv)
        _run(alone, srv, "run-alone")
        one = srv.stats()["total"]
        srv.reset()
        script_offline_answers(srv)
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def race(run_id: str) -> None:
            try:
                _run(store, srv, run_id, barrier)
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=race, args=(r,)) for r in ("run-a", "run-b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        two = srv.stats()["total"]
    alone.engine.dispose()
    assert not errors, errors
    assert one > 0 and two <= one, f"two racing runs made {two} requests, one run {one}"
    ids = [str(m["id"]) for m in messages_for_day(store, DAY)]
    for stage in ("score", "extract"):
        assert ledger.done_items(store, stage, _version(stage), ids) == set(ids), stage
    assert ("summarize", "claimed") not in ledger.counts(store) and ("score", "claimed") not in ledger.counts(store)


def _version(stage: str) -> str:
    from background_pipelines.cognition import facts, scoring

    return {"score": scoring.VERSION, "extract": facts.VERSION}[stage]


def test_claims_are_exclusive_expire_with_their_run_and_unsettled_ones_return_to_pending(store):
    items = ["a", "b", "c"]
    assert ledger.claim(store, "s", "v1", items, "run-1") == items
    assert ledger.claim(store, "s", "v1", items + ["d"], "run-2") == ["d"]  # held by run-1
    assert ledger.claim(store, "s", "v1", items, "run-1") == items  # a retry of the same run keeps them
    ledger.mark(store, "s", "v1", ["a"], ledger.DONE, run_id="run-1")
    assert ledger.claim(store, "s", "v1", items, "run-3", lease=timedelta(0)) == ["b", "c"]  # run-1 died: expired
    assert ledger.release(store, "s", "run-3") == 2
    assert ledger.counts(store, "s") == {("s", "done"): 1, ("s", "pending"): 2, ("s", "claimed"): 1}
    assert ledger.todo(store, "s", "v1", items) == ["b", "c"]


def test_a_claim_whose_process_is_gone_is_free_at_once(store):
    import socket
    import subprocess
    import sys

    from sqlalchemy import update

    from background_pipelines.store.schema import ledger as ledger_table

    assert ledger.claim(store, "s", "v1", ["a", "b"], "run-killed") == ["a", "b"]
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    with store.begin() as conn:  # as if a process that has exited (kill -9) had claimed "a"
        conn.execute(update(ledger_table).where(ledger_table.c.item == "a")
                     .values(error=f"claimed by run run-killed on {socket.gethostname()} pid {int(dead.stdout)}"))
    assert ledger.claim(store, "s", "v1", ["a", "b"], "run-next") == ["a"]  # "b": its holder (this process) lives
