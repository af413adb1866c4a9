"""Partitions declared once: daily by message date (UTC), starting at BGP_START_DATE."""

from __future__ import annotations

import dagster as dg

from background_pipelines.config import Settings


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    return dg.DailyPartitionsDefinition(start_date=settings.start_date, end_offset=1)
