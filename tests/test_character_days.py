"""A character's day follows its timezone: windows, DST, which local day a late-evening message
belongs to, local days not over yet (pending, then caught up by the next night's run), selection errors."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from background_pipelines.character.days import DayError, day_window, local_day
from background_pipelines.character.diaries import write_diaries
from background_pipelines.character.material import SelectionError, active_characters
from background_pipelines.llm import Gateway
from background_pipelines.store import ledger
from background_pipelines.store.character import character_day_rows
from background_pipelines.store.messages import upsert_characters
from character_world import add_session

LINES = [("user", "Hi! I adopted a puppy called Pixel today.", 2), ("character", "A puppy! Tell me everything.", 0)]


def test_day_window_is_the_local_calendar_day_in_utc():
    assert day_window("2026-10-05", "Europe/Berlin") == (datetime(2026, 10, 4, 22), datetime(2026, 10, 5, 22))
    assert day_window("2026-10-05", "Asia/Tokyo") == (datetime(2026, 10, 4, 15), datetime(2026, 10, 5, 15))
    assert day_window("2026-10-05", "America/Los_Angeles") == (datetime(2026, 10, 5, 7), datetime(2026, 10, 6, 7))
    assert day_window("2026-10-05", "UTC") == (datetime(2026, 10, 5), datetime(2026, 10, 6))


def test_the_day_daylight_saving_ends_has_25_hours():
    start, end = day_window("2026-10-25", "Europe/Berlin")
    assert end - start == timedelta(hours=25)
    assert local_day(datetime(2026, 10, 25, 22, 30), "Europe/Berlin") == "2026-10-25"  # 23:30 CET


def test_unknown_timezone_and_bad_day_are_named():
    with pytest.raises(DayError, match="character 'Zed'.*'Mars/Olympus'"):
        day_window("2026-10-05", "Mars/Olympus", owner="character 'Zed'")
    with pytest.raises(DayError, match="'2026-13-01'"):
        day_window("2026-13-01", "UTC")


def test_a_message_counts_for_the_characters_local_day_not_the_utc_day(store):
    upsert_characters(store, [dict(name="Kai", timezone="America/Los_Angeles"), dict(name="Yuki", timezone="Asia/Tokyo")])
    # 05:30 UTC on Oct 6 is 22:30 on Oct 5 in Los Angeles; 16:00 UTC on Oct 5 is 01:00 on Oct 6 in Tokyo.
    add_session(store, "kai-late", "west", "Kai", "Lou", datetime(2026, 10, 6, 5, 30), LINES, summary="Lou adopted a puppy called Pixel.")
    add_session(store, "yuki-early", "east", "Yuki", "Mei", datetime(2026, 10, 5, 16, 0), LINES, summary="Mei adopted a puppy called Pixel.")

    assert [w.name for w in active_characters(store, "2026-10-05")] == ["Kai"]
    assert [w.name for w in active_characters(store, "2026-10-06")] == ["Yuki"]

    write_diaries(store, Gateway(store), ["2026-10-05", "2026-10-06"], now=datetime(2026, 10, 8))
    rows = {(r["character"], r["day"]) for r in character_day_rows(store, "diaries")}
    assert rows == {("Kai", "2026-10-05"), ("Yuki", "2026-10-06")}


def test_a_local_day_not_over_is_pending_then_caught_up_by_the_next_nights_run(store):
    upsert_characters(store, [dict(name="Kai", timezone="America/Los_Angeles")])
    add_session(store, "kai-1", "west", "Kai", "Lou", datetime(2026, 10, 5, 20, 0), LINES, summary="Lou adopted a puppy.")
    gw = Gateway(store)

    # 03:00 UTC on Oct 6 is still Oct 5 (20:00) in Los Angeles: nothing written, the item waits.
    first = write_diaries(store, gw, ["2026-10-05"], now=datetime(2026, 10, 6, 3))
    assert (first.processed, first.pending) == (0, 1)
    (row,) = [r for r in ledger.counts(store, "diaries").items()]
    assert row == (("diaries", "pending"), 1)
    assert character_day_rows(store, "diaries") == []

    # The next night's run (partition Oct 6) picks up Oct 5 once it has ended.
    second = write_diaries(store, gw, ["2026-10-06"], now=datetime(2026, 10, 7, 3))
    assert second.extra["caught_up"] == 1
    assert [(r["character"], r["day"]) for r in character_day_rows(store, "diaries")] == [("Kai", "2026-10-05")]
    assert ledger.counts(store, "diaries") == {("diaries", "done"): 1}


def test_restricting_to_an_unknown_character_is_a_clear_error(store):
    upsert_characters(store, [dict(name="Kai", timezone="America/Los_Angeles")])
    with pytest.raises(SelectionError, match=r"unknown character\(s\) Zed .*known: Kai"):
        write_diaries(store, Gateway(store), ["2026-10-05"], characters=["Zed"])
