"""A pre-forget backup restored on another host (no $BGP_HOME/forget_log.jsonl there) does not bring
the forgotten user back: the later backup beside it carries the store's forget_log, `bgp restore`
reads it, and the restored store keeps the whole log in its own forget_log from then on."""

from __future__ import annotations

from sqlalchemy import func, select

from background_pipelines.cli import main
from background_pipelines.forget import key_hash
from background_pipelines.store import open_store
from background_pipelines.store.schema import forget_log, messages
from recall_seed import ALICE, BOB, seed


def test_a_pre_forget_backup_restored_elsewhere_stays_forgotten(bgp_env, store, tmp_path, monkeypatch, capsys):
    seed(store)
    backups = tmp_path / "backups"
    monkeypatch.setenv("BGP_BACKUP_DIR", str(backups))
    method = "sqlite" if store.dialect == "sqlite" else "export"
    assert main(["backup", "--snapshot", "--method", method]) == 0
    (before,) = list(backups.iterdir())
    assert main(["forget", "--user", "alice"]) == 0
    assert main(["backup", "--snapshot", "--method", method]) == 0  # the later backup holds the forget_log
    capsys.readouterr()

    # another host: a fresh home without the forget log file, the backups copied along
    monkeypatch.setenv("BGP_HOME", str(tmp_path / "other_host"))
    monkeypatch.delenv("BGP_BACKUP_DIR")
    target = f"sqlite:///{tmp_path / 'other_host_store.db'}"
    assert main(["restore", str(before), "--into", target]) == 0
    assert "forget log re-applied: 1 users" in capsys.readouterr().out
    restored = open_store(target)
    try:
        with restored.connect() as conn:
            assert conn.execute(select(func.count()).select_from(messages).where(messages.c.author == ALICE)).scalar_one() == 0
            assert conn.execute(select(func.count()).select_from(messages).where(messages.c.author == BOB)).scalar_one() > 0
            logged = {(k, h) for k, h in conn.execute(select(forget_log.c.kind, forget_log.c.key_hash))}
        assert ("user", key_hash("user", ALICE)) in logged  # the restored store carries the log itself
    finally:
        restored.engine.dispose()
