"""Importers: canonical JSONL validation, atomicity, dedup, --skip-invalid, record_messages, the CLI."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from background_pipelines import record_messages
from background_pipelines.cli import main
from background_pipelines.ingest import CanonicalMessage, IngestError, UnknownFormatError, detect_format, ingest_file
from background_pipelines.store.schema import messages, users

DATA = Path(__file__).parent / "data"


def _line(i: int, **overrides) -> str:
    record = dict(external_id=f"m{i}", channel="dm/Mira/alice", session="s1", author="alice",
                  text=f"message number {i}", created_at=f"2026-11-01T10:{i % 60:02d}:00Z")
    record.update(overrides)
    return json.dumps({k: v for k, v in record.items() if v is not ...})


def _write(tmp_path: Path, name: str, lines: list[str]) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _count(store, table=messages) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _rows(store) -> list[dict]:
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(messages).order_by(messages.c.id))]


def test_reimport_adds_nothing(store, tmp_path):
    path = _write(tmp_path, "chat.jsonl", [_line(i) for i in range(50)])
    first = ingest_file(path, store, progress=False)
    second = ingest_file(path, store, progress=False)
    assert (first.read, first.inserted, first.duplicates, first.rejected) == (50, 50, 0, 0)
    assert (second.read, second.inserted, second.duplicates, second.rejected) == (50, 0, 50, 0)
    assert _count(store) == 50
    assert "read 50, inserted 0, duplicates 50, rejected 0" in second.summary()


def test_malformed_json_line_names_file_and_line_and_writes_nothing(store, tmp_path):
    lines = [_line(i) for i in range(30)]
    lines[20] = '{"external_id": "m20", "channel": "c", "text": "oops"'  # line 21, unterminated
    path = _write(tmp_path, "broken.jsonl", lines)
    with pytest.raises(IngestError) as err:
        ingest_file(path, store, progress=False, batch_size=7)  # batches flushed before the bad line
    assert f"{path}:21" in str(err.value)
    assert "malformed JSON" in str(err.value)
    assert _count(store) == 0
    assert _count(store, users) == 0


def test_wrong_typed_field_is_named(store, tmp_path):
    path = _write(tmp_path, "typed.jsonl", [_line(1), _line(2, text=5)])
    with pytest.raises(IngestError, match=r"typed\.jsonl:2: field 'text': Input should be a valid string \(got 5\)"):
        ingest_file(path, store, progress=False)
    assert _count(store) == 0


def test_missing_field_and_bad_enum_are_named(store, tmp_path):
    missing = _write(tmp_path, "missing.jsonl", [_line(1, created_at=...)])
    with pytest.raises(IngestError, match=r"missing\.jsonl:1: field 'created_at': Field required"):
        ingest_file(missing, store, progress=False)
    kind = _write(tmp_path, "kind.jsonl", [_line(1, author_kind="bot")])
    with pytest.raises(IngestError, match=r"kind\.jsonl:1: field 'author_kind'"):
        ingest_file(kind, store, progress=False)


def test_skip_invalid_writes_valid_records_and_reports_each_invalid_one(store, tmp_path):
    lines = [_line(1), "not json at all", _line(3, created_at="yesterday"), "", _line(5), _line(6, text="")]
    path = _write(tmp_path, "mixed.jsonl", lines)
    reported: list[str] = []
    report = ingest_file(path, store, skip_invalid=True, on_problem=reported.append, progress=False)
    assert (report.read, report.inserted, report.rejected) == (5, 2, 3)
    assert [r.split(": ", 1)[0] for r in reported] == [f"{path}:2", f"{path}:3", f"{path}:6"]
    assert "malformed JSON" in reported[0]
    assert "field 'created_at'" in reported[1]
    assert "field 'text'" in reported[2]
    assert sorted(r["external_id"] for r in _rows(store)) == ["m1", "m5"]


def test_canonical_defaults_and_utc_conversion(store):
    path = DATA / "canonical.jsonl"
    report = ingest_file(path, store, progress=False)
    assert report.inserted == 4
    rows = {r["external_id"]: r for r in _rows(store)}
    assert rows["m2"]["role"] == "assistant" and rows["m2"]["author_kind"] == "character"
    assert rows["m3"]["created_at"] == datetime(2026, 11, 1, 10, 1)  # +01:00 converted to UTC
    assert rows["4"]["platform"] == "jsonl" and rows["4"]["role"] == "user"  # defaults
    assert rows["4"]["created_at"] == datetime(2026, 11, 5, 9, 0)  # naive taken as UTC
    assert rows["m1"]["day"] == "2026-11-01"


def test_detect_format_by_extension_and_content(tmp_path):
    assert detect_format(DATA / "canonical.jsonl") == "jsonl"
    assert detect_format(DATA / "telegram_chat.json") == "telegram"
    assert detect_format(DATA / "telegram_full.json") == "telegram"
    assert detect_format(DATA / "discord_channel.json") == "discord"
    lines_as_json = _write(tmp_path, "export.json", [_line(1), _line(2)])
    assert detect_format(lines_as_json) == "jsonl"


def test_unknown_format_is_a_clear_error(store, tmp_path):
    csv = tmp_path / "chat.csv"
    csv.write_text("id,text\n1,hello\n")
    with pytest.raises(UnknownFormatError, match=r"chat\.csv: unknown format.*--format jsonl\|telegram\|discord"):
        ingest_file(csv, store, progress=False)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"rows": [1, 2, 3]}))
    with pytest.raises(UnknownFormatError):
        ingest_file(other, store, progress=False)
    assert _count(store) == 0


def test_record_messages_validates_dedups_and_is_atomic(store):
    at = datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)
    batch = [
        dict(external_id=1, channel="app/general", session="a", author="bob", text="hi there", created_at=at),
        CanonicalMessage(external_id="2", channel="app/general", session="a", author="Juno",
                         author_kind="character", text="Hey Bob!", created_at=at),
    ]
    result = record_messages(batch, store)
    assert (result.read, result.inserted, result.duplicates) == (2, 2, 0)
    assert record_messages(batch, store).inserted == 0
    rows = _rows(store)
    assert {r["platform"] for r in rows} == {"app"}
    assert [r["role"] for r in rows] == ["user", "assistant"]

    bad = [dict(batch[0], external_id=3), dict(batch[0], external_id=4, author=None)]
    with pytest.raises(IngestError, match=r"record 1: field 'author'"):
        record_messages(bad, store)
    assert _count(store) == 2  # the valid message 3 was not written either

    skipped = record_messages(bad, store, skip_invalid=True)
    assert (skipped.inserted, skipped.rejected) == (1, 1)
    assert skipped.problems and "field 'author'" in skipped.problems[0]


def test_cli_ingest_exit_codes(bgp_env, tmp_path, capsys):
    good = _write(tmp_path, "good.jsonl", [_line(i) for i in range(5)])
    assert main(["ingest", "--no-progress", str(good)]) == 0
    assert "read 5, inserted 5, duplicates 0, rejected 0" in capsys.readouterr().out
    assert main(["ingest", "--no-progress", str(good)]) == 0
    assert "inserted 0, duplicates 5" in capsys.readouterr().out

    bad = _write(tmp_path, "bad.jsonl", [_line(10), _line(11, session=7)])
    assert main(["ingest", "--no-progress", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}:2: field 'session'" in err and "nothing from" in err

    assert main(["ingest", "--no-progress", "--skip-invalid", str(bad)]) == 0
    captured = capsys.readouterr()
    assert f"invalid: {bad}:2: field 'session'" in captured.err
    assert "inserted 1, duplicates 0, rejected 1" in captured.out

    unknown = tmp_path / "notes.txt"
    unknown.write_text("just some notes\n")
    assert main(["ingest", "--no-progress", str(unknown)]) == 2
    assert "unknown format" in capsys.readouterr().err
    assert main(["ingest", "--no-progress", str(tmp_path / "missing.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:  # argparse rejects an unknown --format value
        main(["ingest", "--format", "xml", str(good)])
    assert exit_info.value.code == 2


def test_imported_times_compare_correctly_with_bound_datetimes(store):
    # The fast insert path must store created_at exactly as SQLAlchemy binds datetimes in queries
    # (on SQLite a text format), or range filters used by sensors and partitions go wrong.
    ingest_file(DATA / "canonical.jsonl", store, progress=False)
    window = messages.c.created_at.between(datetime(2026, 11, 1, 10, 0, 30), datetime(2026, 11, 4))
    with store.connect() as conn:
        found = conn.execute(select(messages.c.external_id).where(window).order_by(messages.c.created_at)).scalars().all()
        latest = conn.execute(select(func.max(messages.c.created_at))).scalar_one()
    assert found == ["m2", "m3"]
    assert latest == datetime(2026, 11, 5, 9, 0)


def test_jsonl_with_byte_order_mark_imports(store, tmp_path):
    path = tmp_path / "notepad.json"
    path.write_bytes(b"\xef\xbb\xbf" + (_line(1) + "\n" + _line(2) + "\n").encode())
    assert detect_format(path) == "jsonl"
    assert ingest_file(path, store, progress=False).inserted == 2


def _sqlite_triggers(store) -> list[tuple]:
    with store.connect() as conn:
        return conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'messages' ORDER BY name"
        ).all()


def test_sqlite_bulk_import_keeps_full_text_index_in_sync(tmp_path):
    # ingest_file replays the FTS insert trigger set-based at the end of the transaction; the index
    # must end up exactly as per-row triggers (record_messages) leave it, and the triggers intact.
    from background_pipelines.store import open_store

    bulk, per_row = open_store(f"sqlite:///{tmp_path / 'bulk.db'}"), open_store(f"sqlite:///{tmp_path / 'rows.db'}")
    triggers = _sqlite_triggers(bulk)
    assert any("AFTER INSERT" in sql for _, sql in triggers)
    record_messages([json.loads(_line(100, text="warming up the index"))], bulk)  # rows before the import
    record_messages([json.loads(_line(100, text="warming up the index"))], per_row)
    lines = [_line(i, text=f"note {i} about Lisbon" if i % 3 == 0 else f"note {i} about Porto") for i in range(40)]
    ingest_file(_write(tmp_path, "notes.jsonl", lines), bulk, progress=False, batch_size=7)
    record_messages([json.loads(x) for x in lines], per_row)

    def search(store, word):
        with store.connect() as conn:
            ids = conn.exec_driver_sql(f"SELECT rowid FROM messages_fts WHERE messages_fts MATCH '{word}'").scalars().all()
            return sorted(conn.execute(select(messages.c.external_id).where(messages.c.id.in_(ids))).scalars().all())

    for word in ("lisbon", "porto", "warming"):
        assert search(bulk, word) == search(per_row, word) != []
    assert len(search(bulk, "lisbon")) == 14
    assert _sqlite_triggers(bulk) == triggers

    broken = _write(tmp_path, "broken.jsonl", [_line(200), "{oops"])
    with pytest.raises(IngestError):
        ingest_file(broken, bulk, progress=False)
    assert _sqlite_triggers(bulk) == triggers  # the rollback restored the dropped trigger
    record_messages([json.loads(_line(300, text="after the rollback"))], bulk)
    assert search(bulk, "rollback") == ["m300"]
