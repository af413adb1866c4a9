"""Telegram Desktop and DiscordChatExporter imports: mapping, sessions, skipping, malformed files."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from background_pipelines.cli import main
from background_pipelines.ingest import IngestError, ingest_file
from background_pipelines.store.schema import messages

DATA = Path(__file__).parent / "data"


def _rows(store) -> dict[str, dict]:
    with store.connect() as conn:
        return {r.external_id: dict(r._mapping) for r in conn.execute(select(messages))}


def test_telegram_entity_lists_are_flattened_and_service_messages_skipped(store):
    report = ingest_file(DATA / "telegram_chat.json", store, characters=["Mira"], progress=False)
    assert (report.read, report.inserted, report.rejected) == (6, 4, 0)
    assert report.skipped == {"service": 1, "no text": 1}
    rows = _rows(store)
    assert set(rows) == {"4815162342:102", "4815162342:103", "4815162342:105", "4815162342:106"}
    assert rows["4815162342:103"]["text"] == "Lisbon! Pastéis de nata every morning, I hope?"
    assert rows["4815162342:105"]["text"] == "https://example.org/nata this bakery, near my flat"
    assert rows["4815162342:103"]["author_kind"] == "character" and rows["4815162342:103"]["role"] == "assistant"
    # a user is the account (platform, from_id); the name is kept beside it
    assert rows["4815162342:102"]["author"] == "telegram:user111" and rows["4815162342:102"]["author_kind"] == "user"
    assert rows["4815162342:102"]["author_name"] == "Alice Moreau"
    assert rows["4815162342:102"]["created_at"] == datetime(2026, 11, 1, 9, 0, 5)
    assert {r["channel"] for r in rows.values()} == {"Mira"}


def test_telegram_sessions_split_after_thirty_minutes_of_silence(store):
    ingest_file(DATA / "telegram_chat.json", store, characters=["Mira"], progress=False)
    rows = _rows(store)
    morning = {rows[k]["session"] for k in ("4815162342:102", "4815162342:103", "4815162342:105")}
    assert morning == {"telegram:4815162342:20261101T090005Z"}
    assert rows["4815162342:106"]["session"] == "telegram:4815162342:20261101T113000Z"


def test_telegram_full_export_imports_every_chat(store):
    report = ingest_file(DATA / "telegram_full.json", store, characters=["user700001"], progress=False)
    assert (report.inserted, report.skipped) == (5, {"service": 1})
    rows = _rows(store)
    assert {r["channel"] for r in rows.values()} == {"Captain Rook", "Book club", "Old neighbours"}
    assert rows["700001:2"]["author_kind"] == "character"  # recognised by from_id
    assert rows["900002:3"]["text"] == "Yes! please no spoilers"
    assert rows["900003:7"]["author"] == "telegram:user333"  # deleted account: from is null, from_id stands in
    assert rows["900003:7"]["author_name"] == "user333"
    again = ingest_file(DATA / "telegram_full.json", store, progress=False)
    assert (again.inserted, again.duplicates) == (0, 5)


def test_telegram_malformed_file_names_the_line_and_writes_nothing(store, tmp_path):
    text = (DATA / "telegram_chat.json").read_text(encoding="utf-8")
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if '"from": "Mira"' in ln)
    broken = tmp_path / "result.json"
    broken.write_text(text.replace('"from": "Mira",', '"from": "Mira" x,'), encoding="utf-8")
    with pytest.raises(IngestError, match=rf"result\.json:{line}: malformed JSON"):
        ingest_file(broken, store, format="telegram", progress=False)
    assert _rows(store) == {}


def test_telegram_bad_record_names_the_message_and_field(store, tmp_path):
    export = json.loads((DATA / "telegram_chat.json").read_text(encoding="utf-8"))
    export["messages"][2]["text"] = 42
    path = tmp_path / "result.json"
    path.write_text(json.dumps(export), encoding="utf-8")
    with pytest.raises(IngestError, match=r"chat 'Mira' message id=103: field 'text'"):
        ingest_file(path, store, progress=False)
    assert _rows(store) == {}
    report = ingest_file(path, store, skip_invalid=True, progress=False)
    assert (report.inserted, report.rejected) == (3, 1)


def test_discord_bots_are_characters_and_non_text_messages_skipped(store):
    report = ingest_file(DATA / "discord_channel.json", store, progress=False)
    assert (report.read, report.inserted) == (5, 3)
    assert report.skipped == {"type GuildMemberJoin": 1, "no text": 1}
    rows = _rows(store)
    bot = rows["1400000000000000003"]
    assert (bot["author"], bot["author_kind"], bot["role"]) == ("Juno", "character", "assistant")
    human = rows["1400000000000000002"]
    assert (human["author"], human["author_kind"], human["channel"]) == ("discord:222", "user", "Companions/lounge")
    assert human["author_name"] == "bruno"  # author.name; the user is author.id
    assert bot["session"] == human["session"] != rows["1400000000000000005"]["session"]
    assert bot["created_at"] == datetime(2026, 11, 4, 12, 0, 40, 123000)


def test_cli_imports_several_formats_and_marks_named_characters(bgp_env, capsys):
    files = [str(DATA / n) for n in ("telegram_chat.json", "telegram_full.json", "discord_channel.json")]
    assert main(["ingest", "--no-progress", "--character", "Mira", *files]) == 0
    out = capsys.readouterr().out
    assert "(telegram): read 6, inserted 4" in out and "(discord): read 5, inserted 3" in out
    assert "skipped 2 (no text 1, service 1)" in out
