"""summarize_sessions: a summary and a meaningfulness score 1..5 for every session holding at least
SUMMARY_MESSAGE_THRESHOLD unsummarised messages. Kept (>= 3) summaries are embedded (after their rows
commit; every run embeds the day's kept summaries still without a vector, so a failed embedding is
retried, never lost); discarded ones are recorded with their score. A later summary covers only the new messages and links the previous.
Offline: extractive sentence ranking by TF-IDF centrality and importance."""

from __future__ import annotations

from collections import Counter
from itertools import groupby
from typing import Sequence

from pydantic import BaseModel, Field

from background_pipelines.cognition import text as tx
from background_pipelines.cognition.result import StageResult, as_days, md_table, one_line, per_day, record_unanswered
from background_pipelines.cognition.scoring import content_and_significance
from background_pipelines.config import Settings
from background_pipelines.llm.task import Task
from background_pipelines.store import ledger
from background_pipelines.store.embeddings import EmbeddingModelMismatch, delete_embeddings, save_embeddings
from background_pipelines.store.engine import Store
from background_pipelines.store.graph import with_retries
from background_pipelines.store.message_views import messages_by_ids, session_timelines
from background_pipelines.store.messages import messages_for_days
from background_pipelines.store.summaries import (
    chain_transaction, count_by_day, kept_without_vector_in, relink_chains, save_summary, summaries_for_days,
    summaries_of_sessions, summary_days,
)
from background_pipelines.users.identity import display_labels

STAGE = "summarize"
VERSION = "summarize-v1"
KEEP_AT = 3
MAX_MESSAGES = 200  # per summary: a longer backlog is summarised in several linked parts
MAX_CHARS = 600  # of one message in a prompt
CONTEXT_MESSAGES = 4  # messages before a segment the prompt shows for context (never its summary: see plan_segments)


class SessionSummary(BaseModel):
    summary: str = Field(min_length=1, description="3-5 sentences: who, what happened, what matters later")
    meaningfulness: int = Field(ge=1, le=5, description="1 = small talk .. 5 = life-changing disclosure")


def _importance(m: dict) -> tuple[float, int]:
    if m.get("importance") is not None:
        return float(m["importance"]), int(m.get("significance") or 0)
    return content_and_significance(m["text"])


def meaningfulness_of(msgs: list[dict]) -> int:
    """1..5 from the strongest messages' importance, significant moments and self-disclosures."""
    if not msgs:
        return 1
    imps = sorted((_importance(m) for m in msgs), key=lambda x: -x[0])
    top = imps[: max(1, len(imps) // 4)]
    t = sum(i for i, _ in top) / len(top)
    sig = sum(1 for _, s in imps if s >= 2) + 2 * sum(1 for _, s in imps if s == 3)
    disclosures = sum(1 for m in msgs if tx.DISCLOSURE.search(m["text"]))
    score = 0.45 * t + 0.35 * min(1.0, sig / 3) + 0.2 * min(1.0, disclosures / 5)
    return max(1, min(5, 1 + int(round(score * 4))))


def extractive_summary(msgs: list[dict], participants: list[str]) -> str:
    """Pick the central, important sentences (in their order) and name the main topics."""
    sents: list[tuple[int, str, str, float]] = []  # (order, author, sentence, importance)
    for m in msgs:
        imp = _importance(m)[0]
        for s in tx.sentences(m["text"]):
            if len(tx.content_tokens(s)) >= 2:
                sents.append((len(sents), m["author"], s, imp))
    names = {p.lower() for p in participants}
    words = Counter(t for m in msgs for t in tx.content_tokens(m["text"]) if t not in names)
    topics = [w for w, _ in words.most_common(3)]
    head = f"{', '.join(participants[:-1]) + ' and ' + participants[-1] if len(participants) > 1 else participants[0]} talked"
    head += f" about {', '.join(topics)}." if topics else "."
    if not sents:
        return head + f" ({len(msgs)} short messages.)"
    cent = tx.centrality([tx.content_tokens(s) for _, _, s, _ in sents])
    ranked = sorted(range(len(sents)), key=lambda i: -(0.6 * cent[i] + 0.4 * sents[i][3]))
    k = min(4, max(2, len(sents) // 8))
    picked = sorted(ranked[:k])
    return head + " " + " ".join(f'{sents[i][1]}: "{sents[i][2][:200]}"' for i in picked)


def _offline(inp: dict) -> SessionSummary:
    return SessionSummary(summary=extractive_summary(inp["messages"], inp.get("names") or inp["participants"]), meaningfulness=meaningfulness_of(inp["messages"]))


def _prompt(inp: dict) -> list[dict]:
    lines = "\n".join(f'{m["author"]}: {one_line(m["text"], MAX_CHARS)}' for m in inp["messages"])
    earlier = "\n".join(f'{m["author"]}: {one_line(m["text"], MAX_CHARS)}' for m in inp.get("earlier") or [])
    prev = f"Just before (already summarised, for context only):\n{earlier}\n\n" if earlier else ""
    return [
        {
            "role": "system",
            "content": (
                "Summarise this chat session for a character's long-term memory in 3-5 sentences: who "
                "took part, what happened, what the user revealed, what matters later. Rate its "
                "meaningfulness 1..5 (1 small talk, 3 something worth remembering, 5 life-changing). "
                'Answer JSON {"summary": str, "meaningfulness": int}.'
            ),
        },
        {"role": "user", "content": f"{prev}Session {inp['session']} (new messages):\n{lines}"},
    ]


SUMMARY_TASK: Task[SessionSummary] = Task(name="summarize_session", schema=SessionSummary, prompt=_prompt, offline=_offline, max_tokens=600)


def _input(session: str, msgs: list[dict], earlier: list[dict]) -> dict:
    participants = list(dict.fromkeys(m["author"] for m in msgs))  # user keys and character names: stored
    label = display_labels((m["author"], m.get("author_name")) for m in msgs + earlier)  # what the text calls them
    return dict(
        session=session,
        participants=participants,
        names=[label[p] for p in participants],
        earlier=[dict(author=label[m["author"]], text=m["text"]) for m in earlier],
        # importance from the text alone (not the stored scores): a summary is a function of its messages
        messages=[dict(id=m["id"], author=label[m["author"]], text=m["text"]) for m in msgs],
    )


def plan_segments(timeline: Sequence[tuple[int, str]], covered: set[int], threshold: int, through: str) -> list[tuple[str, list[int]]]:
    """The summary segments of one session still to write, as (day, message ids): walk its messages
    (`timeline`: (id, day), oldest first) day by day up to `through`, skipping those a summary holds
    already; at the end of each day a backlog of >= `threshold` messages is cut into parts of at most
    MAX_MESSAGES (a tail shorter than the threshold waits for the next day). A function of the messages
    and the summaries written, so any day's run plans the same segments the sequential runs wrote."""
    out: list[tuple[str, list[int]]] = []
    backlog: list[int] = []
    for day, group in groupby(timeline, key=lambda t: t[1]):
        if day > through:
            break
        backlog.extend(mid for mid, _ in group if mid not in covered)
        if len(backlog) < threshold:
            continue
        k = 0
        while k < len(backlog):
            part = backlog[k : k + MAX_MESSAGES]
            if len(part) < threshold and k > 0:
                break  # the tail waits for more messages
            out.append((day, part))
            k += len(part)
        backlog = backlog[k:]
    return out


def _earlier(timeline: Sequence[tuple[int, str]], first_id: int) -> list[int]:
    """Ids of the CONTEXT_MESSAGES messages before `first_id` in the session (the prompt's context)."""
    ids = [mid for mid, _ in timeline]
    at = ids.index(first_id) if first_id in ids else 0
    return ids[max(0, at - CONTEXT_MESSAGES) : at]


def summarize_sessions(
    store: Store,
    gateway,
    settings: Settings,
    days: str | Sequence[str],
    *,
    force: bool = False,
    version: str = VERSION,
    run_id: str | None = None,
    embedder=None,
) -> StageResult:
    """Summarise the sessions that crossed the threshold on each day of `days` (one partition key or
    a range). A session's segments are planned from its messages (plan_segments) up to the last day
    of the range it has messages on, so a later day's run also writes an earlier day's missing
    segment: whatever order days run in, the same segments come out; each is summarised from its own
    messages and the few before it, and the chain links are recomputed under the session's lock after
    every write. `force` rewrites the range's summaries over their own messages. A result per day in
    `by_day`."""
    days = as_days(days)
    per = per_day(STAGE, days)
    threshold = max(1, settings.summary_message_threshold)
    day_sessions: dict[str, set[str]] = {d: set() for d in days}
    for m in messages_for_days(store, days, ["session"]):
        day_sessions[m["day"]].add(m["session"])
    sessions = sorted(set().union(*day_sessions.values()))
    through = {s: max(d for d in days if s in day_sessions[d]) for s in sessions}
    home = {s: min(d for d in days if s in day_sessions[d]) for s in sessions}
    timelines = session_timelines(store, sessions, days[-1]) if sessions else {}
    written = summaries_of_sessions(store, sessions) if sessions else {}
    jobs: list[dict] = []  # {session, ids, day (the summary's), home (the range day it counts on), replace}
    if force:
        for s in summaries_for_days(store, days):
            tl = timelines.get(s["session"]) or session_timelines(store, [s["session"]], days[-1])[s["session"]]
            jobs.append(dict(session=s["session"], ids=list(s["message_ids"]), day=s["day"], home=s["day"], replace=True,
                             earlier=_earlier(tl, s["message_ids"][0]) if s["message_ids"] else []))
    for session in sessions:
        covered = {int(i) for r in written[session] for i in (r["message_ids"] or [])}
        segments = plan_segments(timelines[session], covered, threshold, through[session])
        cut_days = {d for d, _ in segments}
        for d in days:
            if session in day_sessions[d] and d not in cut_days:
                per[d].count("below_threshold")
                per[d].skipped += 1
        for d, ids in segments:
            jobs.append(dict(session=session, ids=ids, day=d, home=d if d in per else home[session], replace=False,
                             earlier=_earlier(timelines[session], ids[0])))
    items = [f"{j['session']}@{j['ids'][-1]}" for j in jobs]
    due = set(ledger.claim(store, STAGE, version, items, run_id, force=force))  # shared with a concurrent run, never paid twice
    for j, item in zip(jobs, items):
        if item not in due and not j["replace"]:
            per[j["home"]].skipped += 1
    jobs = [j for j, item in zip(jobs, items) if item in due or j["replace"]]
    if not jobs:
        _embed_kept(store, settings, embedder, days, [], [], force, per)
        for d, n in count_by_day(store, days).items():
            per[d].row_count = n
            per[d].extra.setdefault("below_threshold", 0)
        return StageResult.total(STAGE, per)
    if gateway is None:
        raise ValueError("summarize_sessions needs an LLM gateway (Gateway.from_settings); the offline backend is the default")

    rows = {m["id"]: m for m in messages_by_ids(store, [i for j in jobs for i in (*j["ids"], *j["earlier"])])}
    for j in jobs:
        j["msgs"] = [rows[i] for i in j["ids"] if i in rows]
    jobs = [j for j in jobs if j["msgs"]]  # a forced rewrite of a summary whose messages were all forgotten
    inputs = [_input(j["session"], j["msgs"], [rows[i] for i in j["earlier"] if i in rows]) for j in jobs]
    outcomes, usage = gateway.run(SUMMARY_TASK, inputs)
    kept_ids: list[int] = []
    kept_texts: list[str] = []
    discarded_ids: list[int] = []
    preview: dict[str, list] = {}

    def write() -> dict[str, StageResult]:
        """One transaction for the range, holding the chain lock of its sessions, so the links are
        recomputed from every summary committed, whichever run wrote it. Counts go to a fresh
        result per day, kept only once the transaction commits (a retry counts once)."""
        for acc in (kept_ids, kept_texts, discarded_ids):
            acc.clear()
        preview.clear()
        fresh = per_day(STAGE, days)
        touched = {j["session"] for j in jobs}
        with chain_transaction(store, touched) as conn:
            for job, inp, outcome in zip(jobs, inputs, outcomes):
                r = fresh[job["home"]]
                n_kept, n_disc = len(kept_ids), len(discarded_ids)
                r.rows_written += _save(conn, job, inp, outcome, version, usage, run_id, r,
                                        kept_ids, kept_texts, discarded_ids, preview.setdefault(job["home"], []))
                r.count("kept", len(kept_ids) - n_kept)
                r.count("discarded", len(discarded_ids) - n_disc)
            relink_chains(conn, touched)
        return fresh

    for d, r in with_retries(write).items():  # a deadlock or a busy SQLite is retried with backoff
        per[d] = per[d].merge(r)
        per[d].days = [d]
    _embed_kept(store, settings, embedder, days, kept_ids, kept_texts, force, per)
    if discarded_ids and force:
        delete_embeddings(store, "summary", discarded_ids)  # a rewrite may have demoted a kept summary
    for d, n in count_by_day(store, days).items():
        r = per[d]
        r.row_count = n
        for k in ("kept", "discarded", "below_threshold"):
            r.extra.setdefault(k, 0)
        if preview.get(d):
            r.preview = f"**{d}**: {r.extra['kept']} kept, {r.extra['discarded']} discarded\n\n" + md_table(
                ["session", "messages", "meaningfulness", "status", "summary"], preview[d], limit=8
            )
    ledger.release(store, STAGE, run_id)  # claims left unsettled go back to pending
    return StageResult.total(STAGE, per, usage)


def _embed_kept(store: Store, settings: Settings, embedder, days: list[str], ids: list[int], texts: list[str],
                force: bool, per: dict[str, StageResult]) -> None:
    """Embed the summaries just kept plus the range's kept summaries still without a vector of this
    model. A failure is counted failed on each summary's day with its reason (the summaries stay;
    the next run embeds them)."""
    if embedder is None:
        from background_pipelines.llm import get_embedder

        embedder = get_embedder(settings)
    missing = kept_without_vector_in(store, days, embedder.model_id)
    todo = dict(zip(ids, texts))
    todo.update((i, t) for i, t, _ in missing if i not in todo)
    if not todo:
        return
    day_of = {i: d for i, _, d in missing}
    day_of.update(summary_days(store, [i for i in todo if i not in day_of]))
    try:
        save_embeddings(store, "summary", list(todo), embedder.encode(list(todo.values())), embedder.model_id, force=force)
    except EmbeddingModelMismatch:  # a configuration error, not a transient one: stop (the next run embeds them)
        raise
    except Exception as exc:  # the summaries committed already: report, and leave the vectors to the next run
        reason = f"{type(exc).__name__}: {str(exc)[:300]}"
        counts: dict[str, int] = {}
        for i in todo:
            d = day_of.get(i) if day_of.get(i) in per else days[0]
            counts[d] = counts.get(d, 0) + 1
        for d, n in counts.items():
            per[d].failed += n
            per[d].count("embedding_failed", n)
            per[d].errors.append(f"embedding {n} kept summaries of {d}: {reason}")
        return
    for i in todo:
        per.get(day_of.get(i), per[days[0]]).count("embedded")


def _save(conn, job, inp, outcome, version, usage, run_id, result, kept_ids, kept_texts, discarded_ids, preview) -> int:
    """Record one session's outcome (summary row and ledger) in `conn`; returns rows written. The
    link to the previous summary is set by relink_chains after the run's rows are in."""
    item = f"{job['session']}@{job['msgs'][-1]['id']}"
    if not outcome.ok:
        record_unanswered(None, result, STAGE, version, [item], outcome, f"session {job['session']}", run_id, conn=conn)
        return 0
    out = outcome.value
    text = out.summary.strip()
    status = "kept" if out.meaningfulness >= KEEP_AT and text else "discarded"
    msgs = job["msgs"]
    row = dict(
        session=job["session"],
        channel=msgs[0]["channel"],
        day=job["day"],
        first_message_id=msgs[0]["id"],
        last_message_id=msgs[-1]["id"],
        message_ids=[m["id"] for m in msgs],
        participants=inp["participants"],
        text=text or "(empty)",
        meaningfulness=int(out.meaningfulness),
        status=status,
        previous_id=None,
        backend=usage.backend,
        version=version,
        created_at=ledger.utcnow(),
    )
    sid, wrote = save_summary(conn, row, replace=job["replace"])
    ledger.mark(None, STAGE, version, [item], ledger.DONE, run_id=run_id, conn=conn)
    (kept_ids if status == "kept" else discarded_ids).append(sid)
    if status == "kept":
        kept_texts.append(text)
    result.processed += 1
    preview.append([job["session"], len(msgs), out.meaningfulness, status, text])
    return int(wrote)
