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


def days_around(before: int, after: int = 0) -> dg.TimeWindowPartitionMapping:
    """A downstream day reads the upstream days `before` days back to `after` days ahead: declared so
    a backfill runs those upstream days first and the result never depends on the order days ran in.
    Days before the first partition simply do not exist (allowed)."""
    return dg.TimeWindowPartitionMapping(start_offset=-before, end_offset=after, allow_nonexistent_upstream_partitions=True)


def past_days(n: int) -> dg.TimeWindowPartitionMapping:
    """The `n` upstream days before the downstream day (not the day itself)."""
    return dg.TimeWindowPartitionMapping(start_offset=-n, end_offset=-1, allow_nonexistent_upstream_partitions=True)
