"""Canonical JSON lines: one object per line (schema in ingest/model.py); blank lines are ignored."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from background_pipelines.ingest.reader import CountingReader
from background_pipelines.ingest.sources import Record


class JsonlSource:
    """Yields each non-blank line as raw JSON bytes with its 1-based line number; pydantic parses
    and validates it in one step (faster than json.loads, and it reports the bad field)."""

    def __init__(self, path: Path, reader: CountingReader, **_options):
        self.path, self.reader = path, reader

    @property
    def bytes_read(self) -> int:
        return self.reader.bytes_read

    def __iter__(self) -> Iterator[Record]:
        lineno = 0
        for line in self.reader.lines(self.path):
            lineno += 1
            if lineno == 1 and line.startswith(b"\xef\xbb\xbf"):  # UTF-8 BOM written by some editors
                line = line[3:]
            if line.strip():
                yield Record(lineno, line)
