"""Forget reaches Dagster's storage: after real runs over the demo day wrote previews and logs quoting
a user (scores, summaries, facts), forget_job leaves no record of the instance's event log (all run
shards, the index, each asset's cached last materialization) and no compute log holding their name or
the start of any of their texts; other users' names stay."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
from sqlalchemy import select

from assets import knowledge, signals, summaries
from assets.forget import forget_job
from assets.instance_privacy import REDACTED
from assets.resources import LLMResource, StoreResource
from background_pipelines.config import Settings
from background_pipelines.demo import load_demo
from background_pipelines.store.messages import messages_for_day
from background_pipelines.store.schema import messages

DAY = "2026-11-01"


def _instance_text(instance: dg.DagsterInstance) -> str:
    """Every event record (all shards), each asset's cached materialization, and the compute logs."""
    from dagster._core.storage.event_log.schema import AssetKeyTable, SqlEventLogStorageTable

    storage = instance.event_log_storage
    parts = []
    with storage.index_connection() as conn:
        parts += [r[0] for r in conn.execute(select(SqlEventLogStorageTable.c.event))]
        parts += [r[0] or "" for r in conn.execute(select(AssetKeyTable.c.last_materialization))]
    for run_id in getattr(storage, "get_all_run_ids", lambda: [])():
        with storage.run_connection(run_id) as conn:
            parts += [r[0] for r in conn.execute(select(SqlEventLogStorageTable.c.event))]
    base = Path(instance.compute_log_manager._base_dir)
    parts += [p.read_text(errors="replace") for p in base.rglob("*") if p.is_file()]
    return "\n".join(parts)


def test_after_forget_no_dagster_record_holds_the_users_name_or_texts(bgp_env, store, tmp_path, monkeypatch):
    monkeypatch.setenv("BGP_START_DATE", DAY)
    load_demo(store)
    settings = Settings.from_env()
    home = tmp_path / "dagster_home"
    home.mkdir()
    assets = [*signals.definitions(settings).assets, *summaries.definitions(settings).assets, *knowledge.definitions(settings).assets]
    with dg.DagsterInstance.local_temp(tempdir=str(home)) as instance:
        result = dg.materialize(assets, instance=instance, resources={"store": StoreResource(), "llm": LLMResource()},
                                partition_key=DAY, selection=["message_scores", "session_summaries", "extracted_facts"])
        assert result.success
        before = _instance_text(instance)
        users = sorted({m["author"] for m in messages_for_day(store, DAY) if m["author_kind"] == "user"})
        quoted = [u for u in users if u in before]
        assert len(quoted) >= 2, "the previews must quote users for this test to mean anything"
        starts_of = {}
        with store.connect() as conn:
            for u in quoted:
                texts = [" ".join(t.split()) for (t,) in conn.execute(select(messages.c.text).where(messages.c.author == u))]
                starts_of[u] = [t[:24] for t in texts if len(t) >= 8]
        user = max(quoted, key=lambda u: sum(s in before for s in starts_of[u]))  # the user most quoted by text
        other = next(u for u in quoted if u != user)
        starts = starts_of[user]
        assert any(s in before for s in starts)

        run = forget_job.execute_in_process(run_config={"ops": {"forget_op": {"config": {"user": user, "dry_run": False}}}},
                                            resources={"store": StoreResource()}, instance=instance)
        assert run.success
        after = _instance_text(instance)
    assert not re.search(rf"(?<!\w){re.escape(user)}(?!\w)", after), "the user's name is still in Dagster's storage"
    left = [s for s in starts if s in after]
    assert not left, f"texts still in Dagster's storage: {left[:3]}"
    assert REDACTED in after and other in after  # redacted in place; other users' records stay
