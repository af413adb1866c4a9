"""A character-day is written once, from complete material: a western character's local day ends on
the next UTC day, whose messages the message-level assets score in that day's run. Until they are
scored the character-day stays pending (with the reason) and is caught up by the next run, so it is
never written from the part of the evening before UTC midnight and rewritten afterwards."""

from __future__ import annotations

from datetime import datetime, timedelta

from background_pipelines.character.diaries import write_diaries
from background_pipelines.character.material import MATERIAL_PENDING
from background_pipelines.cognition.scoring import score_messages
from background_pipelines.config import Secret, Settings
from background_pipelines.llm import Gateway
from background_pipelines.llm.local_server import LocalLLMServer
from sqlalchemy import select

from background_pipelines.store import ledger
from background_pipelines.store.character import character_day_rows
from background_pipelines.store.messages import insert_message_rows, message_row, upsert_characters
from background_pipelines.store.schema import ledger as ledger_table

DAY, NEXT = "2026-10-05", "2026-10-06"
NOW = datetime(2026, 10, 8, 12)  # both local days long over


def _evening(store) -> None:
    """Rex (New York, UTC-4) talks with Dana from 18:00 to 22:30 local: 22:00 UTC on DAY to 02:30 UTC on NEXT."""
    upsert_characters(store, [dict(name="Rex", persona="A retired sea captain.", voice="terse", timezone="America/New_York", goals=[])])
    start = datetime(2026, 10, 5, 22, 0)
    rows = []
    for i in range(10):
        user = i % 2 == 0
        rows.append(message_row(
            platform="t", external_id=f"rex-{i}", channel="dm/Rex/Dana", session="rex-dana", author="Dana" if user else "Rex",
            author_kind="user" if user else "character", role="user" if user else "assistant",
            text=("My mother passed away, I am devastated." if i == 8 else f"Line {i} about sailing and the harbour."),
            created_at=start + timedelta(minutes=30 * i),
        ))
    with store.begin() as conn:
        insert_message_rows(conn, rows)


def test_western_character_day_waits_for_the_next_utc_day_and_is_written_once(store):
    _evening(store)
    settings = Settings.from_env({})
    with LocalLLMServer() as srv:
        gateway = Gateway(store, base_url=srv.base_url, api_key=Secret("sk-x"))
        score_messages(store, Gateway(store), settings, DAY)  # the UTC day's run: 22:00-23:30 scored
        first = write_diaries(store, gateway, [DAY], now=NOW)
        assert first.pending == 1 and first.processed == 0 and character_day_rows(store, "diaries", [DAY]) == []
        (waiting,) = [r for r in ledger.counts(store, "diaries")]
        assert waiting == ("diaries", "pending")
        with store.connect() as conn:
            (reason,) = conn.execute(select(ledger_table.c.error).where(ledger_table.c.stage == "diaries")).scalars()
        assert reason.startswith(MATERIAL_PENDING) and "6 in America/New_York" in reason
        assert srv.stats()["total"] == 0

        score_messages(store, Gateway(store), settings, NEXT)  # the next UTC day's run scores 00:00-02:30
        second = write_diaries(store, gateway, [NEXT], now=NOW)  # caught up: DAY written from the whole evening
        (row,) = character_day_rows(store, "diaries", [DAY])
        assert second.processed == 1 and row["character"] == "Rex"
        assert len(row["source_message_ids"]) == 10  # the whole evening, the lines after UTC midnight too

        third = write_diaries(store, gateway, [DAY], now=NOW)
        assert third.processed == 0 and third.skipped == 1
        assert srv.stats()["total"] == 1  # one request: written once, never rewritten
