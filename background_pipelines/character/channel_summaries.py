"""summarize_channels: a rolling summary per channel over fixed windows (6 h by default, aligned to UTC
midnight) of a day: each window's summary carries the previous one forward. Idempotent per
(channel, window_end); windows that have not ended yet wait for a later run."""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime, timedelta
from typing import Sequence

from pydantic import BaseModel, Field

from background_pipelines.character.days import parse_day
from background_pipelines.character.lexicon import clip, first_sentence, sentences, top_topics, topic_words
from background_pipelines.character.prompting import join_names
from background_pipelines.character.result import StepResult, add_usage, md_table
from background_pipelines.character.runner import record_outcome_failures
from background_pipelines.llm.task import Task, Usage
from background_pipelines.store import character as cstore
from background_pipelines.store.engine import Store
from background_pipelines.store.ledger import utcnow
from background_pipelines.users.identity import display_labels

STAGE = "channel_summaries"
VERSION = "channel-v1"
MAX_LINES = 80
_HEADER = re.compile(r"^\d\d:\d\d-\d\d:\d\d UTC:")


class WindowError(ValueError):
    """A window length that does not tile a day."""


class ChannelLine(BaseModel):
    author: str
    text: str


class ChannelWindow(BaseModel):
    channel: str
    window_start: str
    window_end: str
    previous: str = ""
    lines: list[ChannelLine]


class ChannelSummary(BaseModel):
    text: str = Field(min_length=1, description="what happened in the channel in this window, continuing the previous summary")


def channel_prompt(item: ChannelWindow) -> list[dict]:
    return [
        {
            "role": "system",
            "content": (
                "You keep a rolling summary of a chat channel. Given the previous summary and this window's messages, "
                "write 2-5 sentences on what happened in this window (who, which threads, any decisions or news), "
                "mentioning the previous summary only where a thread continues. JSON field: text."
            ),
        },
        {"role": "user", "content": item.model_dump_json(indent=1)},
    ]


def compose_channel_summary(item: ChannelWindow) -> ChannelSummary:
    """Offline: who spoke, the main threads (frequent content words), and the most central lines."""
    authors = Counter(line.author for line in item.lines)
    people = [a for a, _ in authors.most_common(5)]
    threads = top_topics([line.text for line in item.lines], 4, exclude=people)
    vocab = Counter(w for line in item.lines for w in set(topic_words(line.text)))
    scored = sorted(
        ((sum(vocab[w] for w in set(topic_words(s))), i, s, line.author) for i, line in enumerate(item.lines) for s in sentences(line.text)),
        key=lambda t: (-t[0], t[1]),
    )
    highlights = [f"{author}: “{clip(s, 120)}”" for score, _, s, author in scored[:2] if score > 1]
    start, end = item.window_start[11:16], item.window_end[11:16]
    parts = [f"{start}-{end} UTC: {len(item.lines)} messages from {join_names(people)}."]
    if threads:
        parts.append(f"Threads: {', '.join(threads)}.")
    if highlights:
        parts.append("Highlights: " + "; ".join(highlights))
    if item.previous:
        carried = set(topic_words(item.previous)) & set(threads)
        if carried:
            parts.append(f"Continues from before: {', '.join(sorted(carried))}.")
        else:
            earlier = [s for s in sentences(item.previous) if not _HEADER.match(s)]
            parts.append(f"Earlier: {clip(earlier[0] if earlier else first_sentence(item.previous), 140)}")
    return ChannelSummary(text=" ".join(parts))


CHANNEL_TASK: Task[ChannelSummary] = Task(
    name="channel_summary", schema=ChannelSummary, prompt=channel_prompt, offline=compose_channel_summary, max_tokens=400
)


def windows_of(day: str, hours: int) -> list[tuple[datetime, datetime]]:
    """The [start, end) windows tiling UTC `day`, `hours` long (the last one ends at midnight)."""
    if not isinstance(hours, int) or not 1 <= hours <= 24:
        raise WindowError(f"channel summary window_hours={hours!r}: expected a whole number of hours from 1 to 24")
    start = datetime.combine(parse_day(day), datetime.min.time())
    end_of_day = start + timedelta(days=1)
    out = []
    while start < end_of_day:
        out.append((start, min(start + timedelta(hours=hours), end_of_day)))
        start += timedelta(hours=hours)
    return out


def summarize_channels(
    store: Store,
    gateway,
    days: Sequence[str],
    *,
    window_hours: int = 6,
    channels: Sequence[str] | None = None,
    force: bool = False,
    run_id: str | None = None,
    now: datetime | None = None,
) -> StepResult:
    """Summarise every channel with messages in each ended window of `days`, oldest window first, so
    each summary can roll the previous one forward."""
    days = list(days)
    now = now or utcnow()
    result = StepResult(stage=STAGE, days=days, usage=Usage(backend=gateway.backend, model=gateway.model))
    result.extra["window_hours"] = window_hours
    rows_all: list[dict] = []
    for day in days:
        for start, end in windows_of(day, window_hours):
            if end > now:
                result.count("windows_not_ended")
                continue
            msgs = cstore.channel_messages(store, start, end, channels)
            by_channel: dict[str, list[dict]] = {}
            for m in msgs:
                by_channel.setdefault(m["channel"], []).append(m)
            done = set() if force else cstore.channel_windows_done(store, by_channel, end, VERSION)
            result.skipped += len(done)
            todo = sorted(c for c in by_channel if c not in done)
            if not todo:
                continue
            previous = cstore.previous_channel_summaries(store, todo, start)
            items = []
            for c in todo:
                lines = by_channel[c][-MAX_LINES:]
                label = display_labels((m["author"], m.get("author_name")) for m in lines)  # prose names; rows keep keys
                items.append(
                    ChannelWindow(
                        channel=c, window_start=start.isoformat(), window_end=end.isoformat(),
                        previous=previous[c]["text"] if c in previous else "",
                        lines=[ChannelLine(author=label[m["author"]], text=m["text"]) for m in lines],
                    )
                )
            outcomes, usage = gateway.run(CHANNEL_TASK, items)
            result.usage = add_usage(result.usage, usage)
            rows, failures = [], []
            for c, item, outcome in zip(todo, items, outcomes):
                if not outcome.ok:
                    failures.append((f"{c}/{end.isoformat()}", outcome))
                    continue
                ms = by_channel[c]
                rows.append(
                    dict(
                        channel=c, day=day, window_start=start, window_end=end, message_count=len(ms),
                        participants=sorted({m["author"] for m in ms}), text=outcome.value.text,
                        previous_id=previous[c]["id"] if c in previous else None,
                        source_message_ids=[m["id"] for m in ms], backend=gateway.backend,
                    )
                )
            record_outcome_failures(store, STAGE, VERSION, result, failures, run_id)
            # written window by window: the next window of the same run rolls this one forward
            result.rows_written += cstore.save_channel_summaries(store, rows, stage=STAGE, version=VERSION, run_id=run_id)
            rows_all.extend(rows)
    result.processed = len(rows_all)
    result.row_count = cstore.count_rows(store, STAGE, days)
    result.preview = (
        md_table(
            ["channel", "window", "messages", "summary"],
            [[r["channel"], f"{r['window_start']:%m-%d %H:%M}-{r['window_end']:%H:%M}", r["message_count"], r["text"]] for r in rows_all],
        )
        if rows_all
        else "_no ended windows with new messages_"
    )
    return result
