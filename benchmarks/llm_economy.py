"""LLM economy of the message-level stages against the queue-based seed design, per 1,000 demo messages:
requests, prompt and completion tokens, and dollars at gpt-4o-mini prices, for scores, facts +
preferences and summaries, batched as the assets do it vs the seed's calls built as the seed builds them.
Both go over real HTTP to the local OpenAI-compatible server; requests and tokens are counted from it.

The seed, as modelled here (its rules, not a strawman):
- scores: one call per message;
- facts and preferences: one fact call and one preference call per user message, except messages under
  20 characters (its length guard: no call at all);
- summaries: on every message of a session that has reached SUMMARY_MESSAGE_THRESHOLD messages it
  enqueues `_job_id=f"summarize_{session}"`; arq drops a job whose id is still known (queued, running, or
  its result kept: keep_result 3,600 s), so a session costs one call per hour of chat, over its messages so far;
- goal analysis: one call per character reply, which the project has no counterpart for (it plans goals
  nightly): printed on its own row and left out of the compared totals.

Facts are judged by the server, not by the batching: it holds each user message's ground truth (the
offline patterns run on that message alone) and reveals it only for the message ids a request lists with
their own author and text, so a batch that drops or confuses messages loses facts.

    .venv/bin/python benchmarks/llm_economy.py            # the 14-day demo world (3,232 messages)
    .venv/bin/python benchmarks/llm_economy.py --smoke    # its first 3 days
Goals: batched/seed requests <= 0.1 for each task; dollar cost ratio of all compared tasks <= 0.5; the
batched path finds at least every ground-truth fact the seed finds.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from background_pipelines.cognition import extract_facts, score_messages, summarize_sessions  # noqa: E402
from background_pipelines.cognition.facts import FACT_TASK, FactBatch, facts_in  # noqa: E402
from background_pipelines.cognition.replay import script_offline_answers  # noqa: E402
from background_pipelines.cognition.result import one_line  # noqa: E402
from background_pipelines.cognition.scoring import SCORE_TASK  # noqa: E402
from background_pipelines.cognition.summaries import SUMMARY_TASK  # noqa: E402
from background_pipelines.config import Secret, Settings  # noqa: E402
from background_pipelines.demo import load_demo  # noqa: E402
from background_pipelines.demo.cast import CHARACTERS  # noqa: E402
from background_pipelines.llm import Gateway, Task, get_embedder  # noqa: E402
from background_pipelines.llm.local_server import LocalLLMServer  # noqa: E402
from background_pipelines.store import open_store  # noqa: E402
from background_pipelines.store.facts import facts_for_day  # noqa: E402
from background_pipelines.store.messages import messages_for_day  # noqa: E402
from benchmarks._report import Report  # noqa: E402

KEY = "sk-bench-local"
GOAL_REQUESTS = 0.1
GOAL_COST = 0.5
PRICE_IN, PRICE_OUT = 0.15, 0.60  # gpt-4o-mini, dollars per 1M prompt / completion tokens
SEED_MIN_CHARS = 20  # the seed makes no fact or preference call for a shorter message
ARQ_KEEP_RESULT_S = 3600  # arq's default keep_result: a job id stays known this long


class GoalProgress(BaseModel):
    advanced_goals: list[str]
    note: str


def _goal_prompt(inp: dict) -> list[dict]:
    return [
        {"role": "system", "content": (
            f"You are tracking the goals of the character {inp['character']}. Their goals: "
            + "; ".join(inp["goals"]) + ". Read the user's message and the character's reply and say which goals the "
            'reply advances and how, in one sentence. Answer JSON {"advanced_goals": [str], "note": str}.')},
        {"role": "user", "content": f"user: {inp['user_text']}\n{inp['character']}: {inp['reply']}"},
    ]


# The seed's per-reply goal analysis, and its preference pass as a task of its own.
GOAL_TASK: Task[GoalProgress] = Task(name="analyze_goal_progress", schema=GoalProgress, prompt=_goal_prompt,
                                     offline=lambda inp: GoalProgress(advanced_goals=[], note="none"), max_tokens=200)
PREF_TASK: Task[FactBatch] = Task(
    name="extract_preferences",
    schema=FactBatch,
    prompt=lambda batch: [{"role": "system", "content": "Extract how the user wants to be answered (preferences)."}, *FACT_TASK.prompt(batch)[1:]],
    offline=lambda batch: FactBatch(facts=[f for f in FACT_TASK.offline(batch).facts if f.kind == "preference"]),
)
_LINE = re.compile(r"^(\d+)\t([^\t]*)\t(.*)$")


class TruthServer:
    """Per-message ground truth, revealed only for the message ids a request lists with their own author and text."""

    def __init__(self, user_messages: list[dict]):
        self.truth = {m["id"]: (m["author"], one_line(m["text"], 1000)[:30], facts_in(m["text"])) for m in user_messages}
        self.requests_without_ids = 0

    def expected(self) -> set:
        return {(a, k, p, o.lower()) for a, _, fs in self.truth.values() for k, p, o, _ in fs}

    def answer(self, request: dict, kinds: tuple[str, ...]) -> dict:
        content = next((m["content"] for m in reversed(request.get("messages") or []) if m.get("role") == "user"), "")
        out, listed = [], 0
        for line in content.split("\n"):
            m = _LINE.match(line)
            if not m:
                continue
            listed += 1
            truth = self.truth.get(int(m.group(1)))
            if truth and m.group(2) == truth[0] and m.group(3).startswith(truth[1]):
                out += [dict(message_ids=[int(m.group(1))], kind=k, predicate=p, object=o, confidence=c) for k, p, o, c in truth[2] if k in kinds]
        self.requests_without_ids += listed == 0
        return {"facts": out}


class _Tally:
    def __init__(self):
        self.requests: dict[str, int] = defaultdict(int)
        self.prompt: dict[str, int] = defaultdict(int)
        self.completion: dict[str, int] = defaultdict(int)

    def add(self, task: str, usage, requests: int) -> None:
        self.requests[task] += requests
        self.prompt[task] += usage.prompt_tokens
        self.completion[task] += usage.completion_tokens

    def dollars(self, task: str) -> float:
        return (self.prompt[task] * PRICE_IN + self.completion[task] * PRICE_OUT) / 1e6


def _count(srv: LocalLLMServer, before: int) -> int:
    return srv.stats()["total"] - before


def batched(store, settings, gw, srv, days, tally: _Tally) -> set:
    embedder = get_embedder(settings)
    for day in days:
        for task, run in (
            ("scores", lambda d: score_messages(store, gw, settings, d)),
            ("facts + preferences", lambda d: extract_facts(store, gw, settings, d)),
            ("summaries", lambda d: summarize_sessions(store, gw, settings, d, embedder=embedder)),
        ):
            before = srv.stats()["total"]
            r = run(day)
            tally.add(task, r.usage, _count(srv, before))
            if r.failed:
                raise SystemExit(f"{task} {day}: {r.failed} items failed: {r.errors[:2]}")
    return {(f["user_name"], f["kind"], f["predicate"], f["object"].lower()) for d in days for f in facts_for_day(store, d)}


def _run(gw, srv, tally: _Tally, name: str, task: Task, inputs: list) -> list:
    before = srv.stats()["total"]
    outcomes, usage = gw.run(task, inputs, use_cache=False)
    tally.add(name, usage, _count(srv, before))
    if not all(o.ok for o in outcomes):
        raise SystemExit(f"seed {name}: {sum(not o.ok for o in outcomes)} calls failed")
    return outcomes


def seed(store, settings, gw, srv, days, tally: _Tally) -> set:
    found = set()
    goals = {c["name"]: c["goals"] for c in CHARACTERS}
    known_jobs: dict[str, float] = {}  # arq job id -> when it was enqueued (seconds)
    session_msgs: dict[str, list[dict]] = defaultdict(list)
    for day in days:
        msgs = messages_for_day(store, day)
        one = lambda m: {"messages": [dict(id=m["id"], author=m["author"], text=m["text"])]}  # noqa: E731
        _run(gw, srv, tally, "scores", SCORE_TASK, [one(m) for m in msgs])
        guarded = [m for m in msgs if m["author_kind"] == "user" and len(m["text"]) >= SEED_MIN_CHARS]
        for name, task, keep in (("facts", FACT_TASK, "fact"), ("preferences", PREF_TASK, "preference")):
            for m, o in zip(guarded, _run(gw, srv, tally, name, task, [one(m) for m in guarded])):
                found |= {(m["author"], f.kind, f.predicate, f.object.lower()) for f in o.value.facts if f.kind == keep and m["id"] in f.message_ids}
        jobs, last_user = [], {}
        for m in msgs:
            s = m["session"]
            session_msgs[s].append(m)
            at = m["created_at"].timestamp()
            if len(session_msgs[s]) >= settings.summary_message_threshold:
                job_id = f"summarize_{s}"
                if at - known_jobs.get(job_id, float("-inf")) >= ARQ_KEEP_RESULT_S:  # else arq drops the duplicate
                    known_jobs[job_id] = at
                    ms = session_msgs[s]
                    jobs.append({"session": s, "participants": list(dict.fromkeys(x["author"] for x in ms)), "previous": None,
                                 "messages": [dict(id=x["id"], author=x["author"], text=x["text"]) for x in ms]})
            if m["author_kind"] == "user":
                last_user[s] = m["text"]
        _run(gw, srv, tally, "summaries", SUMMARY_TASK, jobs)
        replies = [dict(character=m["author"], goals=goals.get(m["author"], ["be a good companion"]), user_text=last_user.get(m["session"], ""),
                        reply=m["text"]) for m in msgs if m["author_kind"] == "character"]
        _run(gw, srv, tally, "goal analysis", GOAL_TASK, replies)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="the first 3 demo days")
    args = parser.parse_args()
    start = date(2026, 11, 1)
    days = [(start + timedelta(days=i)).isoformat() for i in range(3 if args.smoke else 14)]
    with tempfile.TemporaryDirectory() as tmp, LocalLLMServer(api_key=KEY) as srv:
        url = f"sqlite:///{tmp}/store.db"
        os.environ.update(BGP_HOME=tmp, BGP_DATABASE_URL=url, BGP_EMBEDDING_BACKEND="hashing", BGP_START_DATE=days[0])
        settings = Settings.from_env()
        store = open_store(url)
        load_demo(store, start=start)
        all_msgs = [m for d in days for m in messages_for_day(store, d)]
        truth = TruthServer([m for m in all_msgs if m["author_kind"] == "user"])
        script_offline_answers(srv)  # scores and summaries: answered from the prompt (only their cost is compared)
        srv.script(FACT_TASK.name, lambda r: truth.answer(r, ("fact", "preference")))
        srv.script(PREF_TASK.name, lambda r: truth.answer(r, ("preference",)))
        gw = Gateway(store, base_url=srv.base_url, api_key=Secret(KEY), use_cache=False, max_concurrency=16, timeout=30.0)
        ours, base = _Tally(), _Tally()
        found_batched = batched(store, settings, gw, srv, days, ours)
        found_seed = seed(store, settings, gw, srv, days, base)
        store.engine.dispose()

    n_msgs = len(all_msgs)
    per_k = 1000 / n_msgs
    for t in (base, ours):  # the seed's facts and preferences passes against the one batched pass
        for d in (t.requests, t.prompt, t.completion):
            d["facts + preferences"] = d.get("facts + preferences", 0) + d.pop("facts", 0) + d.pop("preferences", 0)
    compared = ["scores", "facts + preferences", "summaries"]
    print(f"\ndemo world: {n_msgs:,} messages over {len(days)} days; per 1,000 messages, counted at the local server; "
          f"dollars at gpt-4o-mini prices (${PRICE_IN}/1M prompt, ${PRICE_OUT}/1M completion tokens)\n")
    print("| task | seed requests | batched requests | ratio | seed prompt tok | batched prompt tok | seed completion tok | "
          "batched completion tok | seed $ | batched $ | $ ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def row(name, br, orq, bp, op, bc, oc, bd, od):
        rr = f"{orq / br:.3f}" if br else "-"
        dr = f"{od / bd:.3f}" if bd else "-"
        print(f"| {name} | {br * per_k:,.0f} | {orq * per_k:,.1f} | {rr} | {bp * per_k:,.0f} | {op * per_k:,.0f} | {bc * per_k:,.0f} | "
              f"{oc * per_k:,.0f} | {bd * per_k:.4f} | {od * per_k:.4f} | {dr} |")

    for t in compared:
        row(t, base.requests[t], ours.requests[t], base.prompt[t], ours.prompt[t], base.completion[t], ours.completion[t], base.dollars(t), ours.dollars(t))
    tot = lambda tally, attr: sum(getattr(tally, attr)[t] for t in compared)  # noqa: E731
    tb_d, to_d = sum(base.dollars(t) for t in compared), sum(ours.dollars(t) for t in compared)
    row("**all compared**", tot(base, "requests"), tot(ours, "requests"), tot(base, "prompt"), tot(ours, "prompt"),
        tot(base, "completion"), tot(ours, "completion"), tb_d, to_d)
    g = "goal analysis"
    print(f"| goal analysis per reply (seed only; the project plans goals nightly) | {base.requests[g] * per_k:,.0f} | - | - | "
          f"{base.prompt[g] * per_k:,.0f} | - | {base.completion[g] * per_k:,.0f} | - | {base.dollars(g) * per_k:.4f} | - | - |")

    expected = truth.expected()
    got_b, got_s = found_batched & expected, found_seed & expected
    print(f"\nfacts and preferences (ground truth {len(expected)}): batched found {len(got_b)}, seed found {len(got_s)}; "
          f"not in the truth: batched {len(found_batched - expected)}, seed {len(found_seed - expected)}")
    if got_s - got_b:
        print("found by the seed only:", sorted(got_s - got_b)[:10])
    if expected - got_b:
        print("missed by batched:", sorted(expected - got_b)[:10])
    if truth.requests_without_ids:
        print(f"{truth.requests_without_ids} fact requests listed no `id<TAB>author<TAB>text` line (has the prompt format changed?)")
    report = Report("llm_economy")
    for t in compared:
        ratio = ours.requests[t] / base.requests[t] if base.requests[t] else float("inf")
        report.check(f"{t}: batched / seed requests ({ours.requests[t] * per_k:,.1f} vs {base.requests[t] * per_k:,.0f} per 1,000 messages)",
                     f"{ratio:.3f}", f"<= {GOAL_REQUESTS}", ratio <= GOAL_REQUESTS)
    report.check(f"dollar cost at gpt-4o-mini, scores + facts + summaries: batched / seed (${to_d * per_k:.4f} vs ${tb_d * per_k:.4f} per 1,000 messages; "
                 f"goal analysis left out)", f"{to_d / tb_d:.3f}", f"<= {GOAL_COST}", to_d / tb_d <= GOAL_COST)
    report.check(f"ground-truth facts found: batched vs seed (of {len(expected)}), none lost to batching",
                 f"{len(got_b)} vs {len(got_s)}", "batched >= seed, seed's all found", got_s <= got_b)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
