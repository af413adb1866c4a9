"""score_messages: importance 0..1 from content, author activity, recency and topic factors, a
significance 0..3 (3 = life events), and auto-pins of significant memories for the characters
present. On an HTTP backend the content judgement comes from the LLM, many messages per call."""

from __future__ import annotations

import functools
import math
from datetime import datetime, timedelta
from typing import Sequence

from pydantic import BaseModel, Field

from background_pipelines.cognition import text as tx
from background_pipelines.cognition.result import StageResult, as_days, md_table, one_line, per_day, record_unanswered
from background_pipelines.config import Settings
from background_pipelines.llm.task import Outcome, Task, Usage
from background_pipelines.store import ledger
from background_pipelines.store.engine import Store
from background_pipelines.store.facts import topic_tokens
from background_pipelines.store.message_views import author_counts_by_day, session_author_days
from background_pipelines.store.messages import messages_for_days
from background_pipelines.store.pins import add_auto_pins
from background_pipelines.store.scores import count_by_day, save_scores

STAGE = "score"
VERSION = "score-v1"
BATCH = 50  # messages per LLM call
WEIGHTS = {"content": 0.6, "activity": 0.1, "recency": 0.1, "topic": 0.2}
SIGNIFICANCE_BONUS = 0.1  # per significance level: a life event is a signal whatever its wording
TOPIC_DAYS = 30  # the topic factor reads the facts of this many days before a message's day


def _day_shift(day: str, n: int) -> str:
    return (datetime.strptime(day, "%Y-%m-%d") + timedelta(days=n)).strftime("%Y-%m-%d")


class ScoreItem(BaseModel):
    id: int
    importance: float = Field(ge=0, le=1, description="how much this message tells about the person or matters later")
    significance: int = Field(ge=0, le=3, description="3 = life event (death, birth, new job, breakup, diagnosis, move, promotion)")


class ScoreBatch(BaseModel):
    scores: list[ScoreItem]


def classify(importance: float) -> str:
    return "noise" if importance < 0.3 else "weak_signal" if importance < 0.7 else "signal"


@functools.lru_cache(maxsize=8192)
def content_and_significance(text: str) -> tuple[float, int]:
    """(content factor, significance) from one tokenisation and one search per lexicon. A function of
    the text alone, remembered for recent texts: summaries read it twice per message of a session
    (meaningfulness, then sentence ranking), right after scoring read it once."""
    toks = tx.tokens(text)
    if not toks:
        return 0.0, 0
    disclosure = tx.DISCLOSURE.search(text) is not None
    life = tx.LIFE_EVENTS.search(text) is not None
    n_emotion = sum(t in tx.EMOTION_WORDS for t in toks)
    length = min(1.0, math.log1p(len(toks)) / math.log1p(40))
    names = min(1.0, len(tx.named_entities(text)) / 3)
    emotion = min(1.0, n_emotion / 2)
    score = (
        0.3 * length
        + (0.1 if "?" in text else 0.0)
        + 0.2 * names
        + 0.2 * emotion
        + (0.2 if disclosure else 0.0)
        + (0.2 if life else 0.0)
    )
    content = round(min(1.0, score), 4)
    personal = disclosure or any(t in ("my", "i", "we", "our") for t in toks)
    if life and personal:
        return content, 3
    if (personal and n_emotion > 0) or content >= 0.6:
        return content, 2
    return content, 1 if content >= 0.3 else 0


def content_factor(text: str) -> float:
    """0..1 from length, questions, proper names, emotion words, disclosures and life events."""
    return content_and_significance(text)[0]


def significance_of(text: str, content: float) -> int:
    """0..3: 3 a personal life event, 2 personal and emotional (or rich content), 1 some content."""
    toks = tx.tokens(text)
    personal = bool(tx.DISCLOSURE.search(text)) or any(t in ("my", "i", "we", "our") for t in toks)
    if tx.LIFE_EVENTS.search(text) and personal:
        return 3
    emotional = any(t in tx.EMOTION_WORDS for t in toks)
    if (personal and emotional) or content >= 0.6:
        return 2
    return 1 if content >= 0.3 else 0


def _offline(batch: dict) -> ScoreBatch:
    items = []
    for m in batch["messages"]:
        c, sig = content_and_significance(m["text"])
        items.append(ScoreItem(id=m["id"], importance=c, significance=sig))
    return ScoreBatch(scores=items)


def _prompt(batch: dict) -> list[dict]:
    lines = "\n".join(f'{m["id"]}\t{m["author"]}\t{one_line(m["text"], 500)}' for m in batch["messages"])
    return [
        {
            "role": "system",
            "content": (
                "You rate chat messages for a companion character's memory. For every message give "
                "importance 0..1 (how much it reveals about the person or will matter later; greetings "
                "and filler near 0) and significance 0..3 (3 = a life event: death, birth, new job, "
                "breakup, diagnosis, move, promotion; 2 = personal and emotional; 1 = some content; 0 = "
                'filler). Answer JSON {"scores": [{"id": int, "importance": float, "significance": int}]} '
                "with one entry per message id."
            ),
        },
        {"role": "user", "content": "id\tauthor\ttext\n" + lines},
    ]


SCORE_TASK: Task[ScoreBatch] = Task(name="score_messages", schema=ScoreBatch, prompt=_prompt, offline=_offline, max_tokens=1600)


def _recency(created: datetime, day_end: datetime) -> float:
    hours = max(0.0, (day_end - created).total_seconds() / 3600)
    return round(0.5 ** (hours / 24), 4)


def _topic(text: str, known: set[str]) -> float:
    if not known:
        return 0.0
    overlap = len(set(tx.content_tokens(text)) & known)
    return round(min(1.0, overlap / 2), 4)


def _judge(gateway, settings: Settings, batches: list[dict]) -> tuple[list[Outcome], Usage]:
    # Scoring is not chat: with the chat LLM switched off it still runs, on the features alone.
    if gateway is None or not settings.chat_llm_enabled:
        return [Outcome(ok=True, value=_offline(b)) for b in batches], Usage()
    return gateway.run(SCORE_TASK, batches)


def score_messages(
    store: Store,
    gateway,
    settings: Settings,
    days: str | Sequence[str],
    *,
    force: bool = False,
    version: str = VERSION,
    run_id: str | None = None,
) -> StageResult:
    """Score the messages of `days` (one partition key or a range) the ledger says are not scored at
    `version` (all with `force`): one read of the range, one write; a result per day in `by_day`."""
    days = as_days(days)
    per = per_day(STAGE, days)
    msgs = messages_for_days(store, days, ["id", "session", "author", "author_kind", "text", "created_at"])
    # claimed for this run: a concurrent run of the same days takes the others, never the same ones
    due = set(ledger.claim(store, STAGE, version, [str(m["id"]) for m in msgs], run_id, force=force))
    todo_msgs = [m for m in msgs if str(m["id"]) in due]
    for m in msgs:
        if str(m["id"]) not in due:
            per[m["day"]].skipped += 1
    if not todo_msgs:
        for d, n in count_by_day(store, days).items():
            per[d].row_count = n
        return StageResult.total(STAGE, per)

    activity = author_counts_by_day(store, {m["day"] for m in todo_msgs})
    top_activity = {d: max(a.values()) if a else 1 for d, a in activity.items()}
    # participants as of each message's day: only data up to that day counts, whatever the range
    joined = session_author_days(store, {m["session"] for m in todo_msgs})
    # the topic factor reads the facts of the TOPIC_DAYS days before a message's day, never its own or a
    # later one: those exist or not depending on which days' facts ran first (the asset's partition
    # mapping on extracted_facts makes a backfill run them first), so a score is a function of the past
    score_days = sorted({m["day"] for m in todo_msgs})
    known = topic_tokens(store, {a for ps in joined.values() for a, k, _ in ps if k == "user"},
                         _day_shift(score_days[0], -TOPIC_DAYS), _day_shift(score_days[-1], -1))

    batches = [
        {"messages": [dict(id=m["id"], author=m["author"], text=m["text"]) for m in todo_msgs[i : i + BATCH]]}
        for i in range(0, len(todo_msgs), BATCH)
    ]
    outcomes, usage = _judge(gateway, settings, batches)
    backend = usage.backend if settings.chat_llm_enabled and gateway is not None else "offline"

    by_id = {m["id"]: m for m in todo_msgs}
    day_end = {d: datetime.strptime(d, "%Y-%m-%d") + timedelta(days=1) for d in days}
    rows, pins_wanted, done = [], [], []
    preview: dict[str, list] = {d: [] for d in days}
    now = ledger.utcnow()
    for batch, outcome in zip(batches, outcomes):
        ids = [m["id"] for m in batch["messages"]]
        if not outcome.ok:
            unanswered = StageResult(stage=STAGE)
            record_unanswered(store, unanswered, STAGE, version, [str(i) for i in ids], outcome,
                              f"messages {ids[0]}..{ids[-1]}", run_id)
            for mid in ids:  # the batch's failure (or pending) counts on each message's own day
                r = per[by_id[mid]["day"]]
                r.failed += bool(unanswered.failed)
                r.pending += bool(unanswered.pending)
                if unanswered.errors and unanswered.errors[0] not in r.errors:
                    r.errors.append(unanswered.errors[0])
            continue
        judged = {s.id: s for s in outcome.value.scores}
        for mid in ids:
            m = by_id[mid]
            day = m["day"]
            j = judged.get(mid)
            if j is None:  # the model skipped this id: fall back to the features, never drop it
                c, sig = content_and_significance(m["text"])
                j = ScoreItem(id=mid, importance=c, significance=sig)
            present = [(a, k) for a, k, first in joined.get(m["session"], []) if first <= day]
            topic_known: set[str] = set()
            lo = _day_shift(day, -TOPIC_DAYS)
            for u in ([m["author"]] if m["author_kind"] == "user" else [a for a, k in present if k == "user"]):
                for d, words in known.get(u, {}).items():
                    if lo <= d < day:
                        topic_known |= words
            factors = {
                "content": round(float(j.importance), 4),
                "activity": round(math.sqrt(activity[day].get(m["author"], 0) / top_activity[day]), 4),
                "recency": _recency(m["created_at"], day_end[day]),
                "topic": _topic(m["text"], topic_known),
            }
            importance = sum(WEIGHTS[k] * v for k, v in factors.items()) + SIGNIFICANCE_BONUS * j.significance
            importance = round(min(1.0, max(0.0, importance)), 4)
            cls = classify(importance)
            rows.append(
                dict(
                    message_id=mid,
                    importance=importance,
                    importance_class=cls,
                    content_factor=factors["content"],
                    activity_factor=factors["activity"],
                    recency_factor=factors["recency"],
                    topic_factor=factors["topic"],
                    significance=int(j.significance),
                    backend=backend,
                    version=version,
                    created_at=now,
                )
            )
            if j.significance == 3:
                for character in (a for a, k in present if k == "character"):
                    pins_wanted.append((character, mid, m["created_at"]))
            done.append(str(mid))
            r = per[day]
            r.processed += 1
            r.rows_written += 1
            r.count("signals", int(cls == "signal"))
            preview[day].append([mid, m["author"], cls, importance, j.significance, m["text"]])

    with store.begin() as conn:
        save_scores(conn, rows)
        added, evicted = add_auto_pins(conn, pins_wanted)
        ledger.mark(store, STAGE, version, done, ledger.DONE, run_id=run_id, conn=conn)
    for d, n in count_by_day(store, days).items():
        per[d].row_count = n
    pinned_day = {mid: by_id[mid]["day"] for _, mid, _ in pins_wanted}
    for d, r in per.items():
        r.extra.setdefault("signals", 0)
        r.extra["pins_wanted"] = sum(1 for day in pinned_day.values() if day == d)
        rows_d = sorted(preview[d], key=lambda x: -x[3])
        if rows_d:
            r.preview = f"**{d}**: {len(rows_d)} messages scored\n\n" + md_table(
                ["id", "author", "class", "importance", "significance", "text"], rows_d, limit=8
            )
    total = StageResult.total(STAGE, per, usage)
    # pins are capped per character across days: the eviction count belongs to the run
    total.extra.update(pins_added=added, pins_evicted=evicted)
    total.rows_written += added
    ledger.release(store, STAGE, run_id)  # claims left unsettled go back to pending
    return total
