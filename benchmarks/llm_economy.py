"""LLM economy of the message-level stages: requests and prompt tokens per 1,000 demo messages for
scores, facts, preferences and summaries, batched as the assets do it, against a per-message
baseline that calls once per task per message (as queue-based seed systems do). Both go over real
HTTP to the local OpenAI-compatible server, scripted to answer with the offline heuristics, so the
facts found are comparable; requests are counted at the server, tokens from its usage reports.

    .venv/bin/python benchmarks/llm_economy.py            # the 14-day demo world (3,232 messages)
    .venv/bin/python benchmarks/llm_economy.py --smoke    # its first 3 days
Goal: batched/baseline requests <= 0.1 for every task, with the same facts and preferences found.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from background_pipelines.cognition import extract_facts, score_messages, summarize_sessions  # noqa: E402
from background_pipelines.cognition.facts import FACT_TASK, FactBatch  # noqa: E402
from background_pipelines.cognition.replay import answer_facts, script_offline_answers  # noqa: E402
from background_pipelines.cognition.scoring import SCORE_TASK  # noqa: E402
from background_pipelines.cognition.summaries import SUMMARY_TASK  # noqa: E402
from background_pipelines.config import Secret, Settings  # noqa: E402
from background_pipelines.demo import load_demo  # noqa: E402
from background_pipelines.llm import Gateway, Task, get_embedder  # noqa: E402
from background_pipelines.llm.local_server import LocalLLMServer  # noqa: E402
from background_pipelines.store import open_store  # noqa: E402
from background_pipelines.store.facts import facts_for_day  # noqa: E402
from background_pipelines.store.messages import messages_for_day  # noqa: E402
from background_pipelines.store.summaries import summaries_for_day  # noqa: E402

GOAL = 0.1
KEY = "sk-bench-local"

# The baseline's preference pass is its own task (seed systems run a separate preference extractor).
PREF_TASK: Task[FactBatch] = Task(
    name="extract_preferences",
    schema=FactBatch,
    prompt=lambda batch: [{"role": "system", "content": "Extract how the user wants to be answered (preferences)."}, *FACT_TASK.prompt(batch)[1:]],
    offline=lambda batch: FactBatch(facts=[f for f in FACT_TASK.offline(batch).facts if f.kind == "preference"]),
)


def _prefs_only(request: dict) -> dict:
    return {"facts": [f for f in answer_facts(request)["facts"] if f["kind"] == "preference"]}


class _Tally:
    def __init__(self):
        self.requests: dict[str, int] = defaultdict(int)
        self.tokens: dict[str, int] = defaultdict(int)

    def add(self, task: str, usage, requests: int) -> None:
        self.requests[task] += requests
        self.tokens[task] += usage.prompt_tokens


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


def baseline(store, settings, gw, srv, days, tally: _Tally) -> set:
    found = set()
    for day in days:
        msgs = messages_for_day(store, day)
        users = [m for m in msgs if m["author_kind"] == "user"]
        one = lambda m: {"messages": [dict(id=m["id"], author=m["author"], text=m["text"])]}  # noqa: E731
        before = srv.stats()["total"]
        _, usage = gw.run(SCORE_TASK, [one(m) for m in msgs], use_cache=False)
        tally.add("scores", usage, _count(srv, before))
        for task, t, keep in (("facts", FACT_TASK, "fact"), ("preferences", PREF_TASK, "preference")):
            before = srv.stats()["total"]
            outcomes, usage = gw.run(t, [one(m) for m in users], use_cache=False)
            tally.add(task, usage, _count(srv, before))
            for m, o in zip(users, outcomes):
                found |= {(m["author"], f.kind, f.predicate, f.object.lower()) for f in o.value.facts if f.kind == keep}
        # rolling summaries: the seed updates a session's summary on every message of a summarised session
        summarised = {s["session"] for s in summaries_for_day(store, day)}
        inputs = [
            {"session": m["session"], "participants": [m["author"]], "previous": "the summary so far", "messages": [dict(id=m["id"], author=m["author"], text=m["text"])]}
            for m in msgs if m["session"] in summarised
        ]
        before = srv.stats()["total"]
        _, usage = gw.run(SUMMARY_TASK, inputs, use_cache=False)
        tally.add("summaries", usage, _count(srv, before))
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
        n_msgs = sum(len(messages_for_day(store, d)) for d in days)
        script_offline_answers(srv)
        srv.script(PREF_TASK.name, _prefs_only)
        gw = Gateway(store, base_url=srv.base_url, api_key=Secret(KEY), use_cache=False, max_concurrency=16, timeout=30.0)
        ours, base = _Tally(), _Tally()
        found_batched = batched(store, settings, gw, srv, days, ours)
        found_base = baseline(store, settings, gw, srv, days, base)

    per_k = 1000 / n_msgs
    print(f"\ndemo world: {n_msgs:,} messages over {len(days)} days; per 1,000 messages, counted at the local server\n")
    print("| task | baseline requests | batched requests | ratio | baseline prompt tokens | batched prompt tokens | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    rows = [
        ("scores", base.requests["scores"], ours.requests["scores"], base.tokens["scores"], ours.tokens["scores"]),
        ("facts", base.requests["facts"], None, base.tokens["facts"], None),
        ("preferences", base.requests["preferences"], None, base.tokens["preferences"], None),
        ("facts + preferences (one batched pass)", base.requests["facts"] + base.requests["preferences"], ours.requests["facts + preferences"],
         base.tokens["facts"] + base.tokens["preferences"], ours.tokens["facts + preferences"]),
        ("summaries", base.requests["summaries"], ours.requests["summaries"], base.tokens["summaries"], ours.tokens["summaries"]),
    ]
    ok = True
    for name, br, orq, bt, ot in rows:
        if orq is None:
            print(f"| {name} | {br * per_k:,.0f} | (in the pass below) | | {bt * per_k:,.0f} | | |")
            continue
        rr, tr = (orq / br if br else 0.0), (ot / bt if bt else 0.0)
        ok &= rr <= GOAL
        print(f"| {name} | {br * per_k:,.0f} | {orq * per_k:,.1f} | {rr:.3f} | {bt * per_k:,.0f} | {ot * per_k:,.0f} | {tr:.3f} |")
    tb = sum(base.requests.values())
    to = sum(ours.requests.values())
    print(f"| **all** | {tb * per_k:,.0f} | {to * per_k:,.1f} | {to / tb:.3f} | {sum(base.tokens.values()) * per_k:,.0f} | {sum(ours.tokens.values()) * per_k:,.0f} | {sum(ours.tokens.values()) / sum(base.tokens.values()):.3f} |")
    same = found_batched == found_base
    print(f"\nfacts and preferences found: batched {len(found_batched)}, baseline {len(found_base)}, identical: {'yes' if same else 'NO'}")
    if not same:
        print("only batched:", sorted(found_batched - found_base)[:10])
        print("only baseline:", sorted(found_base - found_batched)[:10])
    print(f"goal: request ratio <= {GOAL} for every task with the same facts: {'met' if ok and same else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
