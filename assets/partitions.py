"""Partitions declared once: daily by message date (UTC), from the store's earliest message day (read
when the code location loads; BGP_START_DATE overrides it) to today."""

from __future__ import annotations

import dagster as dg

from background_pipelines.config import Settings
from background_pipelines.history import partition_start


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """The day partitions every daily asset, job and schedule shares. build_definitions resolves the
    start once per load (history.resolve_start); an unresolved Settings reads the store here."""
    return dg.DailyPartitionsDefinition(start_date=settings.start_date or partition_start(settings), end_offset=1)
