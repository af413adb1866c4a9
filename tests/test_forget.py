"""Forgetting cascades: after forgetting a user no table holds their name or any text of their
messages, other users' rows are unchanged, and the log lets a restored backup be forgotten again."""

from __future__ import annotations

import re
import shutil

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, Text, func, inspect, insert, select, text

from background_pipelines.forget import ForgetError, coverage, forget, key_hash, log_path, reapply
from background_pipelines.store.schema import (
    diaries,
    entities,
    facts,
    forget_log,
    ledger,
    messages,
    metadata,
    relations,
    summaries,
)
from recall_seed import ALICE, BOB, MESSAGES, T0, seed

ALICE_TEXTS = [t for x, _s, _a, _k, t, _c in MESSAGES if x.startswith("a")]


def _diaries(store, ids):
    m = ids["messages"]
    row = dict(character="Luna", title="t", mood="calm", source_summary_ids=[], source_fact_ids=[], material_hash="h",
               backend="offline", version="1", run_id="r", created_at=T0, updated_at=T0)
    with store.begin() as conn:
        conn.execute(insert(diaries), [
            dict(row, day="2026-10-02", text="Today Alice told me about Clara.", users=[ALICE, BOB], source_message_ids=[m["a3"], m["b1"]]),
            dict(row, day="2026-10-03", text="Bob trained at dawn again.", users=[BOB], source_message_ids=[m["b1"]]),
        ])
        conn.execute(insert(ledger), [dict(stage="diaries", item=f"Luna|{d}", version="1", status="done", attempts=1, run_id="r", updated_at=T0)
                                      for d in ("2026-10-02", "2026-10-03")])


@pytest.fixture
def seeded(store, bgp_env):
    ids = seed(store)
    _diaries(store, ids)
    return store, ids


def _dump(store) -> dict[str, list[str]]:
    """Every row of every table in the database (FTS shadow tables included), each as one string."""
    out = {}
    with store.connect() as conn:
        for name in inspect(store.engine).get_table_names():
            rows = conn.execute(text(f'SELECT * FROM "{name}"')).all()
            out[name] = [" | ".join(v.decode("latin-1") if isinstance(v, (bytes, memoryview)) else str(v) for v in r) for r in rows]
    return out


def _counts(store) -> dict[str, int]:
    return {t: len(rows) for t, rows in _dump(store).items()}


def test_forget_user_leaves_nothing_of_them_in_any_table(seeded):
    store, ids = seeded
    forget(store, user="alice")
    name = re.compile(r"(?<![a-z])alice(?![a-z])", re.IGNORECASE)
    for table, rows in _dump(store).items():
        for row in rows:
            assert not name.search(row), (table, row)
            for t in ALICE_TEXTS:
                assert t not in row, (table, t)


def test_forget_user_keeps_other_users_rows(seeded):
    store, ids = seeded
    before = _counts(store)
    with store.connect() as conn:
        bob_before = {
            "messages": conn.execute(select(messages).where(messages.c.author.in_([BOB, "Luna"]), messages.c.session == "s-bob-luna")).all(),
            "facts": conn.execute(select(facts).where(facts.c.user_name == BOB)).all(),
            "summaries": conn.execute(select(summaries).where(summaries.c.session == "s-bob-luna")).all(),
        }
    report = forget(store, user="alice")
    after = _counts(store)
    # what alice's seed rows amount to: 7 messages (hers and both characters' replies to her alone), ...
    derived = {"messages": 7, "users": 1, "user_names": 1, "facts": 5, "summaries": 1, "relations": 5, "entities": 6, "message_scores": 7,
               "pins": 1, "relationship_scores": 2, "llm_cache": 1, "diaries": 1, "forget_log": -1}
    derived["embeddings"] = 7 + 1  # her messages' and her summary's vectors
    for table in metadata.tables:
        if table == "processing_ledger":
            continue
        assert after[table] == before[table] - derived.get(table, 0), table
    # the ledger keeps bob's items and the other day's diary; alice's items and the diary day cleared
    with store.connect() as conn:
        items = set(conn.execute(select(ledger.c.item)).scalars())
        assert {str(ids["messages"][x]) for x in ("b1", "b2", "b3")} <= items and "s-bob-luna" in items
        assert "Luna|2026-10-03" in items and "Luna|2026-10-02" not in items
        assert "2026-10-02" in items and f"{BOB}|Luna" in items  # same day, not the diary's character: kept
        assert not any("alice" in i for i in items) and "s-alice-luna" not in items
        for table, rows in bob_before.items():
            t = metadata.tables[table]
            assert conn.execute(select(t).where(t.c.id.in_([r.id for r in rows]))).all() == rows
        # bob's relation cited alice's message too: trimmed to his own, not deleted
        fire = conn.execute(select(relations.c.source_message_ids).join(entities, entities.c.id == relations.c.dst_id)
                            .where(entities.c.name == "firefighter")).scalar_one()
        assert fire == [ids["messages"]["b1"]]
    assert report.counts["relations"] == {"delete": 5, "trim": 1}


def test_dry_run_reports_the_same_counts_and_changes_nothing(seeded):
    store, _ = seeded
    before = _dump(store)
    dry = forget(store, user="alice", dry_run=True)
    assert _dump(store) == before
    real = forget(store, user="alice")
    assert dry.counts == real.counts and dry.dry_run and not real.dry_run


def test_forget_message_removes_what_rests_on_it_alone(seeded):
    store, ids = seeded
    a1 = ids["messages"]["a1"]
    report = forget(store, message_ids=[a1])
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages).where(messages.c.id == a1)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(messages).where(messages.c.author == ALICE)).scalar_one() == 4
        objs = set(conn.execute(select(facts.c.object).where(facts.c.user_name == ALICE)).scalars())
        assert "nurse" not in objs and "pastry chef" in objs
        ents = set(conn.execute(select(entities.c.name)).scalars())
        assert "nurse" not in ents and "alice" in ents  # orphaned by the forget vs still in use
        # the summary drew on a1: deleted, and its session is due again in the ledger
        assert conn.execute(select(func.count()).select_from(summaries).where(summaries.c.session == "s-alice-luna")).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(ledger).where(ledger.c.item.in_(["s-alice-luna", str(a1)]))).scalar_one() == 0
        assert conn.execute(select(forget_log.c.kind, forget_log.c.key_hash)).all() == [("message", key_hash("message", "demo:a1"))]
    assert report.counts["facts"] == {"delete": 1} and report.message_count == 1


def test_unknown_user_or_message_is_a_clear_error_and_changes_nothing(seeded):
    store, _ = seeded
    before = _counts(store)
    with pytest.raises(ForgetError, match="unknown user.*'carol'"):
        forget(store, user="carol")
    with pytest.raises(ForgetError, match=r"unknown message id.*999999"):
        forget(store, message_ids=[999999])
    with pytest.raises(ForgetError, match="name a user"):
        forget(store)
    assert _counts(store) == before


def test_every_table_is_covered_by_the_forget_registry():
    assert [t for t, how in coverage().items() if how == "MISSING"] == []
    md = MetaData()
    Table("notes", md, Column("id", Integer, primary_key=True), Column("body", Text))
    Table("notes_derived", md, Column("id", Integer, primary_key=True), Column("source_message_ids", Text))
    assert coverage(md) == {"notes": "MISSING", "notes_derived": "convention"}


def test_forget_log_holds_hashes_and_reapplies_after_a_restore(seeded, tmp_path):
    store, ids = seeded
    home = tmp_path / "home"
    backup = None
    if store.dialect == "sqlite":
        backup = tmp_path / "backup.db"
        with store.connect() as conn:
            conn.exec_driver_sql(f"VACUUM INTO '{backup}'")
    forget(store, user="alice", home=home)
    entries = log_path(home).read_text()
    with store.connect() as conn:
        logged = conn.execute(select(forget_log.c.kind, forget_log.c.key_hash, forget_log.c.rows)).all()
    assert [(k, h) for k, h, _ in logged] == [("user", key_hash("user", ALICE))]
    assert "alice" not in entries.lower() and "alice" not in str(logged).lower()
    # restore: the backup (SQLite file) or the rows coming back (PostgreSQL) bring alice back
    if backup is not None:
        store.engine.dispose()
        db_file = store.engine.url.database
        shutil.copyfile(backup, db_file)
        for suffix in ("-wal", "-shm"):
            shutil.rmtree(db_file + suffix, ignore_errors=True)
    else:
        seed_again = [m for m in MESSAGES if m[0].startswith("a")]
        from background_pipelines.store.messages import insert_message_rows, message_row

        with store.begin() as conn:
            insert_message_rows(conn, [message_row(platform="demo", external_id=x, channel="c", session=s, author=a, author_kind=k,
                                                   role="user", text=t, created_at=c) for x, s, a, k, t, c in seed_again])
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages).where(messages.c.author == ALICE)).scalar_one() > 0
    report = reapply(store, home=home)
    assert report.users == [ALICE] and report.total > 0
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages).where(messages.c.author == ALICE)).scalar_one() == 0


def test_bgp_forget_dry_run_lists_tables_then_forgets(seeded, capsys):
    from background_pipelines.cli import main

    store, _ = seeded
    assert main(["forget", "--user", "alice", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would remove 7 message(s)" in out and re.search(r"relations\s+trim\s+1", out) and "nothing changed" in out
    assert main(["forget", "--user", "alice"]) == 0
    assert "removed 7 message(s)" in capsys.readouterr().out
    assert main(["forget", "--user", "alice"]) == 2  # already forgotten: unknown now
    assert "unknown user" in capsys.readouterr().err


def test_forget_job_runs_in_dagster_without_naming_the_user(seeded, db_url):
    import dagster as dg

    from assets.forget import forget_job
    from assets.resources import StoreResource

    store, ids = seeded
    with dg.DagsterInstance.ephemeral() as instance:
        result = forget_job.execute_in_process(
            run_config={"ops": {"forget_op": {"config": {"user": "alice", "message_ids": [ids["messages"]["b3"]], "dry_run": False}}}},
            resources={"store": StoreResource(database_url=db_url)},
            instance=instance,
        )
    assert result.success
    events = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    meta = events[0].event_specific_data.metadata
    assert meta["messages"].value == 8 and "alice" not in str(meta).lower()
    with store.connect() as conn:
        assert conn.execute(select(func.count()).select_from(messages).where(messages.c.author.in_([ALICE]))).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(messages).where(messages.c.id == ids["messages"]["b3"])).scalar_one() == 0


def test_vectors_of_an_unregistered_kind_stop_the_forget_before_anything_changes(seeded):
    import numpy as np

    from background_pipelines.store.embeddings import save_embeddings

    store, _ = seeded
    save_embeddings(store, "horoscope", [1], np.ones((1, 4), dtype=np.float32), "m")
    before = _counts(store)
    with pytest.raises(ForgetError, match=r"item kinds \['horoscope'\].*EMBEDDING_KINDS"):
        forget(store, user="alice")
    assert _counts(store) == before
