"""Getting conversations in: canonical JSON lines, Telegram and Discord exports, and
`record_messages` for chat apps, all through one validated, idempotent, streaming write path."""

from background_pipelines.ingest.model import DEFAULT_PLATFORM, CanonicalMessage
from background_pipelines.ingest.reader import FORMATS, IngestError, IngestUsageError, UnknownFormatError, detect_format
from background_pipelines.ingest.writer import IngestReport, RecordResult, ingest_file, record_messages

__all__ = [
    "DEFAULT_PLATFORM",
    "FORMATS",
    "CanonicalMessage",
    "IngestError",
    "IngestReport",
    "IngestUsageError",
    "RecordResult",
    "UnknownFormatError",
    "detect_format",
    "ingest_file",
    "record_messages",
]
