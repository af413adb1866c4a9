"""Forget reaches Dagster's own storage: a forgotten user's name and message texts are redacted from
the instance's event log (materialization metadata and previews, run log lines, the latest
materialization cached per asset) and from the compute logs, which the store's cascade cannot reach."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable, Sequence

import dagster as dg
from dagster_shared.serdes import deserialize_value
from sqlalchemy import select
from dagster._core.storage.event_log.schema import AssetKeyTable, SqlEventLogStorageTable
from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

REDACTED = "[forgotten]"
_TEXT_PREFIX = 24  # previews cut cells to 77 characters: a text is found by its start, then cut to its cell's end
# where a preview cell or a JSON string ends: " |" (next markdown cell), an escaped newline, a closing quote
_CELL_END = r'(?:(?= \\\\?\|)|(?=\\n)|(?=(?<!\\)"))'


def _patterns(names: Iterable[str], texts: Iterable[str]) -> list[re.Pattern]:
    """Regexes over serialized JSON text: each name as a whole word, each text from its start to the end
    of the cell or string that holds it (markdown escapes the text's pipes, JSON its quotes)."""
    out = [re.compile(rf"(?<![\w]){re.escape(json.dumps(n)[1:-1])}(?![\w])") for n in sorted(set(names)) if n and n.strip()]
    for text in sorted(set(texts)):
        flat = " ".join(text.split())
        if len(flat) < 8:  # too short to tell apart from other words; the name still goes
            continue
        start = json.dumps(flat[:_TEXT_PREFIX].replace("|", "\\|"))[1:-1]
        out.append(re.compile(re.escape(start) + r".*?" + _CELL_END, re.DOTALL))
        plain = json.dumps(flat[:_TEXT_PREFIX])[1:-1]
        if plain != start:
            out.append(re.compile(re.escape(plain) + r".*?" + _CELL_END, re.DOTALL))
    return out


def _redact(text: str, patterns: Sequence[re.Pattern]) -> str:
    for p in patterns:
        text = p.sub(REDACTED, text)
    return text


def _scrub_rows(conn, table, column: str, patterns: Sequence[re.Pattern]) -> int:
    col = table.c[column]
    changed = 0
    for row_id, value in conn.execute(select(table.c.id, col).where(col.isnot(None))).fetchall():
        new = _redact(value, patterns)
        if new != value:
            conn.execute(table.update().where(table.c.id == row_id).values({column: new}))
            changed += 1
    return changed


def redact_instance(instance: dg.DagsterInstance, names: Iterable[str], texts: Iterable[str]) -> int:
    """Redact `names` and `texts` wherever the instance stores them; returns the records changed."""
    patterns = _patterns(names, texts)
    if not patterns:
        return 0
    changed = 0
    storage = instance.event_log_storage
    if isinstance(storage, SqlEventLogStorage):
        with storage.index_connection() as conn:
            changed += _scrub_rows(conn, SqlEventLogStorageTable, "event", patterns)
            changed += _scrub_rows(conn, AssetKeyTable, "last_materialization", patterns)
        if isinstance(storage, SqliteEventLogStorage):  # one database per run besides the index
            for run_id in storage.get_all_run_ids():
                with storage.run_connection(run_id) as conn:
                    changed += _scrub_rows(conn, SqlEventLogStorageTable, "event", patterns)
    base = getattr(instance.compute_log_manager, "_base_dir", None)
    if base and Path(base).is_dir():
        for path in Path(base).rglob("*"):
            if path.is_file() and path.suffix in (".out", ".err", ".log"):
                raw = path.read_text(encoding="utf-8", errors="replace")
                new = raw
                for p in _patterns(names, ()):  # plain text, not JSON: names, then texts by their start
                    new = p.sub(REDACTED, new)
                for text in texts:
                    flat = " ".join(text.split())
                    if len(flat) >= 8:
                        new = re.sub(re.escape(flat[:_TEXT_PREFIX]) + r"[^\n|\"]*", REDACTED, new)
                if new != raw:
                    path.write_text(new, encoding="utf-8")
                    changed += 1
    return changed


def drop_partition_events(instance: dg.DagsterInstance, asset_key: dg.AssetKey, partitions: Sequence[str]) -> int:
    """Delete the events of `asset_key`'s `partitions` (materializations and the step's other events
    naming them) from the instance's event log, and its cached latest materialization when that was
    one of them: Dagster's OSS storages do not implement wipe_asset_partitions. Returns rows deleted."""
    partitions = sorted(set(partitions))
    storage = instance.event_log_storage
    if not partitions or not isinstance(storage, SqlEventLogStorage):
        return 0
    key = asset_key.to_string()
    t = SqlEventLogStorageTable
    deleted = 0
    with storage.index_connection() as conn:
        deleted += conn.execute(t.delete().where(t.c.asset_key == key, t.c.partition.in_(partitions))).rowcount or 0
        last = conn.execute(select(AssetKeyTable.c.last_materialization).where(AssetKeyTable.c.asset_key == key)).scalar()
        record = deserialize_value(last) if last else None
        entry = getattr(record, "event_log_entry", None)
        if entry is not None and entry.dagster_event and entry.dagster_event.partition in partitions:  # the cached latest
            conn.execute(AssetKeyTable.update().where(AssetKeyTable.c.asset_key == key)
                         .values(last_materialization=None, last_materialization_timestamp=None, cached_status_data=None))
    if isinstance(storage, SqliteEventLogStorage):  # one database per run besides the index
        for run_id in storage.get_all_run_ids():
            with storage.run_connection(run_id) as conn:
                deleted += conn.execute(t.delete().where(t.c.asset_key == key, t.c.partition.in_(partitions))).rowcount or 0
    return deleted
