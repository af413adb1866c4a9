"""The gateway every asset calls: `Gateway.from_settings(settings, store).run(task, inputs)` answers
each input with a validated Outcome, through the offline heuristics or an OpenAI-compatible endpoint
(bounded concurrency, retries, response_format fallback, one repair, cache, accounting, daily budget).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
from dataclasses import dataclass
from typing import Any, Sequence

from background_pipelines.config import Secret, Settings, redact_url
from background_pipelines.llm import structured
from background_pipelines.llm.limits import MinuteWindow
from background_pipelines.llm.prices import cost_usd, parse_prices, price_for
from background_pipelines.llm.structured import MODES, AnswerError, parse_answer
from background_pipelines.llm.task import Outcome, Task, Usage
from background_pipelines.llm.transport import RequestFailed, Transport
from background_pipelines.store.engine import Store
from background_pipelines.store.llm_cache import cache_key, get_cached, put_cached
from background_pipelines.store.llm_usage import record_usage, spent_on

log = logging.getLogger("background_pipelines.llm")

_FORMAT_REJECTED = ("response_format", "json_schema", "json_object")


def safe_base_url(url: str | None) -> str | None:
    """The endpoint without any user:password part, for reprs and logs."""
    return redact_url(url)


def estimate_tokens(text: str) -> int:
    """~4 characters a token: the estimate used when a server reports no usage."""
    return max(1, (len(text) + 3) // 4) if text else 0


@dataclass
class _Batch:
    """Per-run state shared by the concurrent items: today's spend for the budget check."""

    spent_usd: float
    budget_logged: bool = False


def _run_sync(coro):
    """Run a coroutine to completion from sync code, even when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:  # a private loop in a worker thread
        return pool.submit(asyncio.run, coro).result()


class Gateway:
    """Answers tasks. backend "offline" (no base_url: the task's deterministic heuristic) or "openai"."""

    def __init__(
        self,
        store: Store | None,
        *,
        base_url: str | None = None,
        api_key: Secret | None = None,
        model: str = "gpt-4o-mini",
        max_concurrency: int = 8,
        timeout: float = 60.0,
        max_attempts: int = 5,
        rpm: int | None = None,
        tpm: int | None = None,
        daily_budget_usd: float | None = None,
        prices: str | dict | None = None,
        use_cache: bool = True,
        backoff_base: float = 0.5,
        backoff_cap: float = 30.0,
    ):
        self.store = store
        self.base_url = base_url.rstrip("/") if base_url else None
        self.backend = "openai" if self.base_url else "offline"
        self._api_key = api_key if isinstance(api_key, Secret) else Secret(api_key)
        self.model = model if self.base_url else "offline"
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.rpm, self.tpm = rpm, tpm
        self.daily_budget_usd = daily_budget_usd
        self.prices = prices if isinstance(prices, dict) else parse_prices(prices)
        self.use_cache = use_cache
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self._mode = 0  # index into structured.MODES; only moves down, remembered for this gateway
        self._rpm_window = MinuteWindow(rpm) if rpm else None
        self._tpm_window = MinuteWindow(tpm) if tpm else None
        if self.backend == "openai" and store is None and (use_cache or daily_budget_usd is not None):
            raise ValueError("Gateway: the cache and the daily budget need a store (pass store=, or use_cache=False)")
        if self.backend == "openai" and daily_budget_usd is not None and price_for(self.prices, self.model) is None:
            log.warning(
                "BGP_LLM_DAILY_BUDGET_USD is set but model %r has no price (add it to BGP_LLM_PRICES): its calls cost 0",
                self.model,
            )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: Store | None,
        *,
        base_url: str | None = None,
        model: str | None = None,
        use_cache: bool | None = None,
        max_concurrency: int | None = None,
        **overrides: Any,
    ) -> "Gateway":
        """The gateway the environment describes; keyword arguments override single settings."""
        return cls(
            store,
            base_url=base_url or settings.llm_base_url,
            api_key=settings.llm_api_key,
            model=model or settings.llm_model,
            max_concurrency=max_concurrency or settings.llm_max_concurrency,
            timeout=settings.llm_timeout_seconds,
            max_attempts=settings.llm_max_attempts,
            rpm=settings.llm_rpm,
            tpm=settings.llm_tpm,
            daily_budget_usd=settings.llm_daily_budget_usd,
            prices=settings.llm_prices,
            use_cache=settings.llm_cache if use_cache is None else use_cache,
            **overrides,
        )

    @property
    def response_format_mode(self) -> str:
        """json_schema, json_object or text: how far down the fallback ladder this server pushed us."""
        return MODES[self._mode]

    def __repr__(self) -> str:
        return (
            f"Gateway(backend={self.backend!r}, base_url={safe_base_url(self.base_url)!r}, model={self.model!r}, "
            f"api_key={self._api_key!r}, max_concurrency={self.max_concurrency}, use_cache={self.use_cache})"
        )

    # -- public API ------------------------------------------------------------------------------

    def run(self, task: Task, inputs: Sequence[Any], use_cache: bool = True) -> tuple[list[Outcome], Usage]:
        """One Outcome per input (input order) and the batch's Usage. Never raises for one bad item."""
        inputs = list(inputs)
        if self.backend == "offline":
            return self._run_offline(task, inputs)
        return _run_sync(self.arun(task, inputs, use_cache=use_cache))

    async def arun(self, task: Task, inputs: Sequence[Any], use_cache: bool = True) -> tuple[list[Outcome], Usage]:
        """`run` for callers already inside an event loop."""
        inputs = list(inputs)
        if self.backend == "offline":
            return self._run_offline(task, inputs)
        return await self._run_http(task, inputs, use_cache=self.use_cache and use_cache)

    # -- offline ---------------------------------------------------------------------------------

    def _run_offline(self, task: Task, inputs: list) -> tuple[list[Outcome], Usage]:
        usage = Usage(backend="offline", model="offline")
        outcomes: list[Outcome] = []
        for item in inputs:
            try:
                value = task.offline(item)
                if not isinstance(value, task.schema):
                    value = task.schema.model_validate(value)
                outcomes.append(Outcome(ok=True, value=value))
            except Exception as exc:  # a heuristic that trips on one input must not fail the batch
                outcomes.append(
                    Outcome(ok=False, error="offline_error", detail=f"{task.name} offline heuristic: {type(exc).__name__}: {exc}"[:500])
                )
                usage.failures["offline_error"] = usage.failures.get("offline_error", 0) + 1
        return outcomes, usage

    # -- HTTP ------------------------------------------------------------------------------------

    async def _run_http(self, task: Task, inputs: list, use_cache: bool) -> tuple[list[Outcome], Usage]:
        usage = Usage(backend="openai", model=self.model)
        schema_json = structured.json_schema_of(task.schema)
        outcomes: list[Outcome | None] = [None] * len(inputs)
        prepared: dict[int, tuple[list[dict], str]] = {}
        for i, item in enumerate(inputs):
            try:
                messages = task.prompt(item)
                key = cache_key(self.model, messages, task.temperature, task.max_tokens, schema_json)
                prepared[i] = (messages, key)
            except Exception as exc:
                outcomes[i] = Outcome(ok=False, error="prompt_error", detail=f"{task.name} prompt: {type(exc).__name__}: {exc}"[:500])

        if use_cache and prepared:
            hits = get_cached(self.store, [key for _, key in prepared.values()])
            for i, (_, key) in list(prepared.items()):
                hit = hits.get(key)
                if hit is None:
                    continue
                try:
                    value = task.schema.model_validate_json(hit["response"])
                except ValueError:  # an entry the schema no longer accepts: ask again
                    continue
                outcomes[i] = Outcome(
                    ok=True, value=value, cached=True, prompt_tokens=hit["prompt_tokens"], completion_tokens=hit["completion_tokens"]
                )
                usage.cache_hits += 1
                del prepared[i]

        batch = _Batch(spent_usd=spent_on(self.store) if self.daily_budget_usd is not None else 0.0)
        new_cache: list[dict] = []
        transport = Transport(
            self.base_url,
            self._api_key,
            timeout=self.timeout,
            max_attempts=self.max_attempts,
            max_concurrency=self.max_concurrency,
            rpm=self.rpm,
            tpm=self.tpm,
            backoff_base=self.backoff_base,
            backoff_cap=self.backoff_cap,
            rpm_window=self._rpm_window,
            tpm_window=self._tpm_window,
        )
        try:
            async with transport:
                order = list(prepared)
                results = await asyncio.gather(*(self._guarded(transport, task, prepared[i][0], batch) for i in order))
            for i, outcome in zip(order, results):
                outcomes[i] = outcome
                if outcome.ok and use_cache:
                    new_cache.append(
                        dict(
                            key=prepared[i][1],
                            model=self.model,
                            task=task.name,
                            response=outcome.value.model_dump_json(),
                            prompt_tokens=outcome.prompt_tokens,
                            completion_tokens=outcome.completion_tokens,
                        )
                    )
        finally:
            done = [o for o in outcomes if o is not None and not o.cached]
            usage.requests = transport.requests
            usage.retries = dict(transport.retried)
            usage.prompt_tokens = sum(o.prompt_tokens for o in done)
            usage.completion_tokens = sum(o.completion_tokens for o in done)
            usage.cost_usd = sum(o.cost_usd for o in done)
            if self.store is not None:
                put_cached(self.store, new_cache)
                record_usage(
                    self.store, task.name, self.model, usage.requests, usage.prompt_tokens, usage.completion_tokens, usage.cost_usd
                )
        for o in outcomes:
            if o is not None and not o.ok:
                usage.failures[o.error] = usage.failures.get(o.error, 0) + 1
                usage.budget_exhausted = usage.budget_exhausted or o.error == "budget_exhausted"
        return outcomes, usage  # type: ignore[return-value]

    def _budget_message(self, batch: _Batch) -> str | None:
        if self.daily_budget_usd is None or batch.spent_usd < self.daily_budget_usd:
            return None
        message = (
            f"daily LLM budget reached: ${batch.spent_usd:.4f} spent today (UTC) of BGP_LLM_DAILY_BUDGET_USD="
            f"{self.daily_budget_usd:g}; no new calls until tomorrow (UTC) or a higher budget. Items stay pending."
        )
        if not batch.budget_logged:
            batch.budget_logged = True
            log.warning(message)
        return message

    async def _guarded(self, transport: Transport, task: Task, messages: list[dict], batch: _Batch) -> Outcome:
        """_item, with anything unforeseen turned into that item's failure instead of the batch's."""
        try:
            return await self._item(transport, task, messages, batch)
        except Exception as exc:
            log.exception("%s: unexpected error answering one item", task.name)
            return Outcome(ok=False, error="internal_error", detail=transport._scrub(f"{type(exc).__name__}: {exc}")[:500])

    async def _item(self, transport: Transport, task: Task, messages: list[dict], batch: _Batch) -> Outcome:
        """One input: ask, validate, repair once; every path ends in an Outcome."""
        outcome = Outcome(ok=False)
        conversation = messages

        def gate() -> None:
            stop = self._budget_message(batch)
            if stop:
                raise RequestFailed("budget_exhausted", stop)

        for round_ in range(2):
            try:
                content, p_tok, c_tok = await self._chat(transport, task, conversation, gate)
            except RequestFailed as failure:
                outcome.error, outcome.detail = failure.kind, str(failure)[:500]
                outcome.raw_excerpt = failure.body[:300] or None
                return outcome
            cost = cost_usd(self.prices, self.model, p_tok, c_tok)
            batch.spent_usd += cost
            outcome.prompt_tokens += p_tok
            outcome.completion_tokens += c_tok
            outcome.cost_usd += cost
            try:
                outcome.value = parse_answer(content, task.schema)
                outcome.ok, outcome.error, outcome.detail, outcome.raw_excerpt = True, None, None, None
                return outcome
            except AnswerError as err:
                outcome.error, outcome.detail, outcome.raw_excerpt = err.kind, str(err)[:500], (content or "")[:300]
                if round_ == 0:
                    log.info("%s: %s; asking for a repair", task.name, err)
                    conversation = structured.repair_messages(messages, content or "", err, task.schema)
        return outcome

    async def _chat(self, transport: Transport, task: Task, messages: list[dict], gate=None) -> tuple[str, int, int]:
        """The answer text and (prompt, completion) tokens, walking down the response_format ladder."""
        while True:
            mode_index = self._mode
            mode = MODES[mode_index]
            sent = structured.with_format_hint(messages, mode, task.name, task.schema)
            payload: dict[str, Any] = {
                "model": self.model,
                "messages": sent,
                "temperature": task.temperature,
                "max_tokens": task.max_tokens,
            }
            fmt = structured.response_format(mode, task.name, task.schema)
            if fmt is not None:
                payload["response_format"] = fmt
            est_prompt = estimate_tokens(json.dumps(sent, ensure_ascii=False))
            try:
                body = await transport.post("chat/completions", payload, est_tokens=est_prompt + task.max_tokens, gate=gate)
            except RequestFailed as failure:
                rejected = failure.status in (400, 422) and any(w in failure.body.lower() for w in _FORMAT_REJECTED)
                if rejected and mode_index + 1 < len(MODES):
                    if self._mode == mode_index:  # concurrent items may have stepped down already
                        self._mode = mode_index + 1
                        log.warning("the server rejected response_format %s; falling back to %s", mode, MODES[self._mode])
                    continue
                raise
            content = _content_of(body)
            reported = body.get("usage") if isinstance(body, dict) else None
            reported = reported if isinstance(reported, dict) else {}
            p_tok = int(reported.get("prompt_tokens") or 0) or est_prompt
            c_tok = int(reported.get("completion_tokens") or 0) or estimate_tokens(content)
            return content, p_tok, c_tok


def _content_of(body: Any) -> str:
    """choices[0].message.content, or "" when the answer has none (validation then says so)."""
    try:
        content = body["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        return ""
    if isinstance(content, list):  # some servers return content parts
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content if isinstance(content, str) else ""
