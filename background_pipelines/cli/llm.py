"""`bgp llm ...`: today's LLM usage and cost, and a check that the configured endpoint answers."""

from __future__ import annotations

import time

from pydantic import BaseModel

from background_pipelines.config import Settings
from background_pipelines.llm import Gateway, Task, get_embedder
from background_pipelines.llm.gateway import safe_base_url
from background_pipelines.store import open_store
from background_pipelines.store.llm_cache import cache_size
from background_pipelines.store.llm_usage import spent_on, today, usage_by_day


def register(sub) -> None:
    llm = sub.add_parser("llm", help="LLM gateway: usage, cost, endpoint check")
    llmsub = llm.add_subparsers(dest="llm_command", metavar="ACTION")
    llmsub.required = True
    usage = llmsub.add_parser("usage", help="requests, tokens and cost per day, task and model")
    usage.add_argument("--days", type=int, default=1, help="how many UTC days back, today included (default 1)")
    usage.set_defaults(func=_usage)
    check = llmsub.add_parser("check", help="send one small request to the configured endpoint and embed one text")
    check.set_defaults(func=_check)


def _usage(args) -> int:
    from datetime import date, timedelta

    settings = Settings.from_env()
    store = open_store(settings.database_url)
    since = (date.fromisoformat(today()) - timedelta(days=max(args.days, 1) - 1)).isoformat()
    rows = usage_by_day(store, since)
    print(f"LLM usage since {since} (UTC), store {settings.safe_database_url}")
    if not rows:
        print("  no LLM requests recorded")
    else:
        print(f"  {'day':<10}  {'task':<24}  {'model':<28}  {'requests':>8}  {'prompt tok':>10}  {'compl tok':>10}  {'cost USD':>10}")
        for r in rows:
            print(
                f"  {r['day']:<10}  {r['task'][:24]:<24}  {r['model'][:28]:<28}  {r['requests']:>8}  "
                f"{r['prompt_tokens']:>10}  {r['completion_tokens']:>10}  {r['cost_usd']:>10.4f}"
            )
    spent = spent_on(store)
    budget = settings.llm_daily_budget_usd
    print(f"today: ${spent:.4f} spent" + (f" of a ${budget:g} daily budget" if budget is not None else " (no daily budget set)"))
    print(f"cache: {cache_size(store)} answers")
    return 0


class _Pong(BaseModel):
    ok: bool


_PING = Task(
    name="ping",
    schema=_Pong,
    prompt=lambda _: [{"role": "user", "content": 'Reply with the JSON object {"ok": true}.'}],
    offline=lambda _: _Pong(ok=True),
    max_tokens=20,
    temperature=0.0,
)


def _check(args) -> int:
    settings = Settings.from_env()
    store = open_store(settings.database_url)
    gw = Gateway.from_settings(settings, store, use_cache=False)
    print(f"chat: backend {gw.backend}, endpoint {safe_base_url(gw.base_url) or '(none: offline heuristics)'}, model {gw.model}")
    started = time.monotonic()
    (outcome,), usage = gw.run(_PING, [None])
    elapsed = time.monotonic() - started
    status = 0
    if outcome.ok:
        mode = f"; response_format {gw.response_format_mode}" if gw.backend == "openai" else ""
        print(
            f"  ok in {elapsed:.2f}s{mode}; {usage.requests} request(s), "
            f"{usage.prompt_tokens}+{usage.completion_tokens} tokens, ${usage.cost_usd:.6f}"
        )
    else:
        print(f"  FAILED: {outcome.error}: {outcome.detail or ''}")
        status = 1
    try:
        emb = get_embedder(settings)
        vector = emb.encode(["a short test sentence"])
        print(f"embeddings: backend {emb.backend}, model {emb.model_id}, dim {vector.shape[1]}: ok")
    except Exception as exc:  # report, don't trace: messages here never carry the key
        print(f"embeddings: FAILED: {type(exc).__name__}: {exc}")
        status = 1
    return status
