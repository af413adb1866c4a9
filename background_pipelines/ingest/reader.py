"""Streaming reads: a byte-counting file wrapper (progress bars, error lines), ijson events for
JSON exports in constant memory, and format detection by extension or content."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import BinaryIO, Iterator

import ijson
from ijson.common import ObjectBuilder

FORMATS = ("jsonl", "telegram", "discord")
# Real exports nest about 8 levels deep (chats > list > messages > text parts); a hostile file can nest
# 100,000 deep, and ijson's prefix strings then grow with depth per event (quadratic memory), so
# deeper input is refused while parsing, before the prefixes are built.
MAX_JSON_DEPTH = 64
MAX_LINE_BYTES = 16 * 1024 * 1024  # one JSON line (one message) read into memory at most


class IngestError(ValueError):
    """An input cannot be imported; the message names the file, the line or record, and the field."""


class IngestUsageError(IngestError):
    """The import cannot start: a missing file, an unknown format, a bad option."""


class UnknownFormatError(IngestUsageError):
    """The format of an input is neither given nor recognisable."""


class CountingReader:
    """Wraps a binary file: counts bytes and newlines read, and keeps the last two chunks so a
    parse error reported by ijson (which gives no position) can be placed on a line."""

    def __init__(self, raw: BinaryIO):
        self._raw = raw
        self.bytes_read = 0
        self._lines_before_prev = 0  # newlines before the previous chunk
        self._prev = b""
        self._last = b""

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self._lines_before_prev += self._prev.count(b"\n")
        self._prev, self._last = self._last, chunk
        self.bytes_read += len(chunk)
        return chunk

    def lines(self, path: Path | str = "", limit: int = MAX_LINE_BYTES) -> Iterator[bytes]:
        """The file's lines (buffered by the file object), counting bytes as they go; a line longer
        than `limit` bytes is refused without reading it whole (a file without newlines is one line)."""
        readline = self._raw.readline
        lineno = 0
        while True:
            line = readline(limit + 1)
            if not line:
                return
            lineno += 1
            if len(line) > limit and not line.endswith(b"\n"):
                raise IngestError(f"{path}:{lineno}: line longer than {limit:,} bytes; refused (one JSON line holds one message)")
            self.bytes_read += len(line)
            yield line

    def line_of_parse_error(self, message: str) -> int | None:
        """The 1-based line of a yajl parse error, found by matching the error's context excerpt
        (newlines shown as spaces) against the last chunks read; None when it cannot be placed."""
        lines = message.split("\n")
        caret = next((ln for ln in lines if ln.rstrip().endswith("^")), None)
        if caret is None or lines.index(caret) == 0:
            return None
        context = lines[lines.index(caret) - 1]
        offset = len(caret.rstrip()) - 1
        indent = len(context) - len(context.lstrip(" "))
        snippet = context[indent:].encode("utf-8", "replace")
        window = self._prev + self._last
        flat = window.replace(b"\n", b" ").replace(b"\r", b" ").replace(b"\t", b" ")
        at = flat.rfind(snippet) if snippet else -1
        if at < 0:
            return None
        pos = min(at + max(offset - indent, 0), len(window))
        return self._lines_before_prev + window[:pos].count(b"\n") + 1

    def approx_line(self) -> int:
        return self._lines_before_prev + self._prev.count(b"\n") + 1


def json_events(path: Path, reader: CountingReader, max_depth: int = MAX_JSON_DEPTH) -> Iterator[tuple[str, str, object]]:
    """ijson (prefix, event, value) triples; a syntax error, invalid UTF-8 or nesting deeper than
    `max_depth` becomes an IngestError naming file:line. Prefixes are built lazily from basic events,
    one at a time, so a deep file is refused after one read chunk, in constant memory."""
    depth = 0
    try:
        for prefix, event, value in ijson.parse(ijson.basic_parse(reader, use_float=True)):
            if event == "start_map" or event == "start_array":
                depth += 1
                if depth > max_depth:
                    raise IngestError(
                        f"{path}:{reader.approx_line()}: {_short_field(prefix)}: JSON nested more than {max_depth} "
                        "levels deep; refused (exports nest under 10)"
                    )
            elif event == "end_map" or event == "end_array":
                depth -= 1
            yield prefix, event, value
    except ijson.JSONError as exc:
        message = str(exc)
        line = reader.line_of_parse_error(message)
        where = f"{path}:{line}" if line else f"{path}: near line {reader.approx_line()}"
        first = message.splitlines()[0] if message else type(exc).__name__
        raise IngestError(f"{where}: malformed JSON: {first}") from None
    except UnicodeDecodeError as exc:
        raise IngestError(
            f"{path}: near line {reader.approx_line()}: invalid UTF-8 ({exc.reason} at byte {exc.start} of a string); "
            "exports are UTF-8"
        ) from None


def _short_field(prefix: str, keep: int = 4) -> str:
    """A JSON path for an error line: its first `keep` parts, then how many more follow."""
    parts = prefix.split(".") if prefix else ["<root>"]
    if len(parts) <= keep:
        return ".".join(parts)
    return ".".join(parts[:keep]) + f"...(+{len(parts) - keep} levels)"


def capture(events, values: frozenset[str], starts: frozenset[str] = frozenset()):
    """From ijson events, yield ("value", prefix, value) for every complete value (scalar or whole
    object, built one at a time) whose prefix is in `values`, and ("start", prefix, None) when a
    container in `starts` opens. Memory holds one captured value, never the document."""
    builder, depth, at = None, 0, ""
    for prefix, event, value in events:
        if builder is not None:
            builder.event(event, value)
            if event == "start_map" or event == "start_array":
                depth += 1
            elif event == "end_map" or event == "end_array":
                depth -= 1
                if depth == 0:
                    yield "value", at, builder.value
                    builder = None
            continue
        if event == "start_map" or event == "start_array":
            if prefix in starts:
                yield "start", prefix, None
            if prefix in values:
                builder, depth, at = ObjectBuilder(), 1, prefix
                builder.event(event, value)
        elif event != "map_key" and event != "end_map" and event != "end_array" and prefix in values:
            yield "value", prefix, value


# keys that open a Telegram Desktop full export (contacts can push "chats" far down the file)
_TELEGRAM_FULL_EXPORT_KEYS = {"chats", "left_chats", "personal_information", "frequent_contacts"}
_TOP_KEY = re.compile(rb'"([A-Za-z_]+)"\s*:')


def detect_format(path: Path) -> str:
    """`jsonl`, `telegram` or `discord` by extension and the first bytes of the file."""
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    with open(path, "rb") as f:
        head = f.read(64 * 1024)
    stripped = head.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not stripped.startswith(b"{"):
        raise UnknownFormatError(
            f"{path}: unknown format (not a JSON object or JSON lines); "
            "pass --format jsonl|telegram|discord"
        )
    first_line = stripped.split(b"\n", 1)[0]
    try:  # a complete object on the first line: JSON lines, whatever the extension
        obj = json.loads(first_line)
        if isinstance(obj, dict) and "external_id" in obj:
            return "jsonl"
    except (ValueError, RecursionError):  # not one object, or nested too deep for json: not JSON lines
        pass
    keys = {k.decode() for k in _TOP_KEY.findall(head)}
    if "guild" in keys and "channel" in keys:
        return "discord"
    if keys & _TELEGRAM_FULL_EXPORT_KEYS or ("messages" in keys and ("date_unixtime" in keys or "from_id" in keys)):
        return "telegram"
    if {"name", "type", "id", "messages"} <= keys:
        return "telegram"
    raise UnknownFormatError(
        f"{path}: unknown format: expected canonical JSON lines (.jsonl), a Telegram Desktop export "
        "(result.json) or a DiscordChatExporter JSON file; pass --format jsonl|telegram|discord"
    )
