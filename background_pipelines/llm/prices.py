"""The price table: USD per 1M prompt tokens and per 1M completion tokens, by model.

Defaults cover a few common hosted models; BGP_LLM_PRICES (JSON {"model": [prompt, completion]},
USD per 1M tokens) overrides or extends them. Unknown models cost 0 (local servers are free).
"""

from __future__ import annotations

import json

from background_pipelines.config import ConfigError

DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.00),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "text-embedding-3-small": (0.02, 0.0),
    "text-embedding-3-large": (0.13, 0.0),
}


def parse_prices(raw: str | None) -> dict[str, tuple[float, float]]:
    """The default table updated by the BGP_LLM_PRICES JSON; a malformed value is a ConfigError."""
    table = dict(DEFAULT_PRICES)
    if not raw:
        return table
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"BGP_LLM_PRICES is not valid JSON ({exc.msg} at char {exc.pos})") from None
    if not isinstance(data, dict):
        raise ConfigError('BGP_LLM_PRICES: expected {"model": [usd_per_1M_prompt, usd_per_1M_completion]}')
    for model, pair in data.items():
        if (
            not isinstance(pair, (list, tuple))
            or len(pair) != 2
            or not all(isinstance(p, (int, float)) and p >= 0 for p in pair)
        ):
            raise ConfigError(
                f"BGP_LLM_PRICES[{model!r}]={pair!r}: expected [usd_per_1M_prompt, usd_per_1M_completion], both >= 0"
            )
        table[str(model)] = (float(pair[0]), float(pair[1]))
    return table


def price_for(table: dict[str, tuple[float, float]], model: str) -> tuple[float, float] | None:
    """Prices of `model`, also trying it without a provider prefix (OpenRouter's "openai/gpt-4o-mini")."""
    if model in table:
        return table[model]
    if "/" in model and model.split("/", 1)[1] in table:
        return table[model.split("/", 1)[1]]
    return None


def cost_usd(table: dict[str, tuple[float, float]], model: str, prompt_tokens: int, completion_tokens: int) -> float:
    prices = price_for(table, model)
    if prices is None:
        return 0.0
    return (prompt_tokens * prices[0] + completion_tokens * prices[1]) / 1_000_000
