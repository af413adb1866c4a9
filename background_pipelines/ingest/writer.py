"""The one write path for messages: validate, batch, insert-or-ignore inside one transaction.

`ingest_file` streams an export (constant memory: batches are flushed inside the transaction) and
rolls the whole file back on the first invalid record unless `skip_invalid`; `record_messages` is
the same path for chat apps that hand over messages directly.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable

from pydantic import BaseModel, ValidationError
from tqdm import tqdm

from background_pipelines.ingest.discord import DiscordSource
from background_pipelines.ingest.jsonl import JsonlSource
from background_pipelines.ingest.model import DEFAULT_PLATFORM, CanonicalMessage, Problem, problems_from
from background_pipelines.ingest.reader import (
    FORMATS, CountingReader, IngestError, IngestUsageError, UnknownFormatError, detect_format,
)
from background_pipelines.ingest.sources import DEFAULT_SESSION_GAP, Record, Skip, where
from background_pipelines.ingest.telegram import TelegramSource
from background_pipelines.ingest.write_index import index_new_messages, max_message_id
from background_pipelines.store import Store, open_store
from background_pipelines.store.ledger import utcnow
from background_pipelines.store.messages import bulk_insert, insert_message_values

BATCH_SIZE = 5000
_KEPT_PROBLEMS = 1000  # problems kept on the result; all are counted and passed to on_problem
_SOURCES = {"jsonl": JsonlSource, "telegram": TelegramSource, "discord": DiscordSource}


@dataclass
class RecordResult:
    """What a write did: every record read is inserted, a duplicate, rejected or skipped."""

    read: int = 0
    inserted: int = 0
    duplicates: int = 0
    rejected: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        line = f"read {self.read}, inserted {self.inserted}, duplicates {self.duplicates}, rejected {self.rejected}"
        if self.skipped:
            detail = ", ".join(f"{reason} {n}" for reason, n in sorted(self.skipped.items()))
            line += f", skipped {self.skipped_total} ({detail})"
        return line


@dataclass
class IngestReport(RecordResult):
    path: str = ""
    format: str = ""
    seconds: float = 0.0


def describe(problems: list[Problem]) -> str:
    """One line for one invalid record: where, then every bad field with its reason."""
    head = problems[0].where
    parts = [f"field '{p.field}': {p.reason}" if p.field else p.reason for p in problems]
    return f"{head}: " + "; ".join(parts)


class _Batcher:
    """Validates records into store tuples and flushes full batches into the open transaction."""

    def __init__(self, conn, result: RecordResult, *, platform: str, skip_invalid: bool,
                 on_problem: Callable[[str], None] | None, batch_size: int, abort_hint: str):
        self.conn, self.result = conn, result
        self.platform, self.skip_invalid = platform, skip_invalid
        self.on_problem, self.batch_size, self.abort_hint = on_problem, batch_size, abort_hint
        self.batch: list[tuple] = []
        self.now = utcnow()

    def add(self, message: CanonicalMessage) -> None:
        created = message.created_at
        platform = message.platform or self.platform
        # a user is the account (platform, author_id); the name it posted under is an attribute
        author = (f"{platform}:{message.author_id if message.author_id is not None else message.author}"
                  if message.author_kind == "user" else message.author)
        self.batch.append((
            platform, message.external_id, message.channel, message.session,
            author, message.author_kind, message.role, message.text,
            created, created.date().isoformat(), self.now, message.author,
        ))
        if len(self.batch) >= self.batch_size:
            self.flush()

    def reject(self, problems: list[Problem]) -> None:
        line = describe(problems)
        if not self.skip_invalid:
            raise IngestError(f"{line}; {self.abort_hint}")
        self.result.rejected += 1
        if len(self.result.problems) < _KEPT_PROBLEMS:
            self.result.problems.append(line)
        if self.on_problem:
            self.on_problem(line)

    def skip(self, reason: str) -> None:
        self.result.skipped[reason] = self.result.skipped.get(reason, 0) + 1

    def flush(self) -> None:
        if self.batch:
            self.result.inserted += insert_message_values(self.conn, self.batch)
            self.batch = []

    def finish(self) -> None:
        self.flush()
        r = self.result
        r.duplicates = r.read - r.inserted - r.rejected - r.skipped_total


def _check_platform(platform: str) -> None:
    if not isinstance(platform, str) or not 1 <= len(platform) <= 32:
        raise IngestUsageError(f"platform {platform!r}: expected 1 to 32 characters")


def _progress_bar(path: Path, total: int, progress: bool | None):
    # disable=None lets tqdm switch itself off when stderr is not a terminal
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=path.name,
                file=sys.stderr, disable=None if progress is None else not progress, leave=False)


def ingest_file(
    path: str | Path,
    store: Store | None = None,
    *,
    format: str | None = None,
    skip_invalid: bool = False,
    platform: str = DEFAULT_PLATFORM,
    characters: Iterable[str] = (),
    session_gap: timedelta = DEFAULT_SESSION_GAP,
    on_problem: Callable[[str], None] | None = None,
    progress: bool | None = None,
    batch_size: int = BATCH_SIZE,
) -> IngestReport:
    """Import one export file in one transaction. Raises IngestError (nothing written) on the first
    invalid record, unless `skip_invalid`: then invalid records go to `on_problem` and are counted."""
    path = Path(path)
    _check_platform(platform)
    if not path.is_file():
        raise IngestUsageError(f"{path}: no such file")
    fmt = format or detect_format(path)
    if fmt not in _SOURCES:
        raise UnknownFormatError(f"{path}: unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    store = store or default_store()
    report = IngestReport(path=str(path), format=fmt)
    started = time.perf_counter()
    validate_json = CanonicalMessage.model_validate_json
    validate = CanonicalMessage.model_validate
    with open(path, "rb") as raw, _progress_bar(path, path.stat().st_size, progress) as bar:
        reader = CountingReader(raw)
        source = _SOURCES[fmt](path, reader, characters=frozenset(characters), session_gap=session_gap)
        with store.begin() as conn, bulk_insert(conn):
            before = max_message_id(conn)
            out = _Batcher(conn, report, platform=platform, skip_invalid=skip_invalid, on_problem=on_problem,
                           batch_size=batch_size,
                           abort_hint=f"nothing from {path} was written (fix the record or pass --skip-invalid)")
            for item in source:
                report.read += 1
                if type(item) is Record:
                    payload = item.payload
                    try:
                        message = validate_json(payload) if type(payload) is bytes else validate(payload)
                    except ValidationError as exc:
                        out.reject(problems_from(exc, where(path, item.label)))
                        continue
                    out.add(message)
                    if not out.batch:  # just flushed
                        bar.update(source.bytes_read - bar.n)
                elif type(item) is Skip:
                    out.skip(item.reason)
                else:
                    out.reject([item])
            out.finish()
        bar.update(source.bytes_read - bar.n)
    if report.inserted:
        index_new_messages(store, before)
    report.seconds = time.perf_counter() - started
    return report


def record_messages(
    messages: Iterable[dict | BaseModel],
    store: Store | None = None,
    *,
    platform: str = "app",
    skip_invalid: bool = False,
    batch_size: int = BATCH_SIZE,
) -> RecordResult:
    """Write messages from a chat app (canonical dicts or CanonicalMessage instances; `platform`
    fills in a missing platform). Same validation and dedup as `bgp ingest`: an invalid message
    raises IngestError and nothing is written, unless `skip_invalid`. Re-recording adds nothing."""
    _check_platform(platform)
    store = store or default_store()
    result = RecordResult()
    with store.begin() as conn:
        before = max_message_id(conn)
        out = _Batcher(conn, result, platform=platform, skip_invalid=skip_invalid, on_problem=None,
                       batch_size=batch_size, abort_hint="nothing was written")
        for index, item in enumerate(messages):
            result.read += 1
            if isinstance(item, CanonicalMessage):
                out.add(item)
                continue
            try:
                data = item.model_dump() if isinstance(item, BaseModel) else item
                out.add(CanonicalMessage.model_validate(data))
            except ValidationError as exc:
                out.reject(problems_from(exc, f"record {index}"))
        out.finish()
    if result.inserted:  # after the commit: recallable on return, and the write never waits on a model
        index_new_messages(store, before)
    return result


@lru_cache(maxsize=4)
def _store_for(url: str) -> Store:
    return open_store(url)


def default_store() -> Store:
    """The store named by the environment (BGP_DATABASE_URL or $BGP_HOME/store.db), opened once."""
    from background_pipelines.config import Settings

    return _store_for(Settings.from_env().database_url)
