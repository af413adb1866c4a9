"""Typed settings, read once from environment variables; the one place every knob and default lives.

Secrets (API keys, database passwords) are held in `Secret` and masked in every repr.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Mapping
from urllib.parse import unquote, urlsplit, urlunsplit

from sqlalchemy.engine import make_url


class Secret:
    """A string that never shows itself in repr/str/logs; call .reveal() at the point of use."""

    __slots__ = ("_value",)

    def __init__(self, value: str | None):
        self._value = value or None

    def reveal(self) -> str | None:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret(None)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


# scheme://user:password@ — the userinfo of any URL inside a text (an endpoint, an error message)
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s'\"<>]+@")


def redact_urls(text: str) -> str:
    """`text` with the user:password part of every URL in it replaced by `***`: the one redaction
    every endpoint URL passes before it reaches an error, a log line, a repr, metadata or the ledger."""
    return _USERINFO.sub(r"\g<scheme>***@", text) if text and "@" in text else text


def redact_url(url: str | None) -> str | None:
    """A URL without its user:password part (`http://***@host/v1`), safe for reprs and logs."""
    return redact_urls(url) if url else url


def split_userinfo(url: str) -> tuple[str, tuple[str, str] | None]:
    """(the URL without userinfo, (user, password) percent-decoded, or None): a client sends the
    credentials as an Authorization header, so the URL it logs and reports holds none."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), (unquote(user), unquote(password))


def mask_url(url: str) -> str:
    """A database URL with its password replaced, safe for logs and metadata."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL we can parse: show nothing of it
        return "<unparseable url>"


class ConfigError(ValueError):
    """An environment variable holds a value of the wrong shape."""


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}={raw!r}: expected true/false")


def _num(env: Mapping[str, str], name: str, default, cast):
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return cast(raw)
    except ValueError:
        form = {"int": "a whole number such as 20", "float": "a number such as 0.5"}.get(cast.__name__, f"a {cast.__name__}")
        raise ConfigError(f"{name}={raw!r}: expected {form}") from None


def _str(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    raw = env.get(name)
    return default if raw is None or raw.strip() == "" else raw.strip()


def _date(env: Mapping[str, str], name: str) -> str | None:
    raw = _str(env, name, None)
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        raise ConfigError(f"{name}={raw!r}: expected a date YYYY-MM-DD") from None


def _choice(env: Mapping[str, str], name: str, default: str, allowed: tuple[str, ...]) -> str:
    value = (_str(env, name, default) or default).lower()
    if value not in allowed:
        raise ConfigError(f"{name}={env.get(name)!r}: expected one of {', '.join(allowed)}")
    return value


@dataclass(frozen=True)
class Settings:
    # store
    home: Path
    database_url: str
    start_date: str | None  # first day partition; None: the store's earliest message day (history.py)
    # chat LLM
    llm_base_url: str | None
    llm_api_key: Secret = field(repr=True)
    llm_model: str = "gpt-4o-mini"
    llm_max_concurrency: int = 8
    llm_timeout_seconds: float = 60.0
    llm_max_attempts: int = 5
    llm_rpm: int | None = None
    llm_tpm: int | None = None
    llm_daily_budget_usd: float | None = None
    llm_prices: str | None = None  # JSON: {"model": [usd_per_1M_prompt, usd_per_1M_completion]}
    llm_cache: bool = True
    chat_llm_enabled: bool = True
    # embeddings
    embedding_backend: str = "auto"  # auto | openai | sentence-transformers | hashing
    embedding_base_url: str | None = None
    embedding_api_key: Secret = field(default_factory=lambda: Secret(None))
    embedding_model: str | None = None
    embedding_batch_size: int = 100
    embed_on_write: str = "auto"  # auto | always | never: vectors written with the message (ingest/write_index.py)
    recall_torch_threads: int = 1  # torch threads for recall's query vector: one query is tiny, a busy host is not
    recall_vector_cache_mb: int = 512  # recall's in-process turn-vector cache (recall/vector_cache.py); 0: off
    # thresholds and triggers
    summary_message_threshold: int = 20
    knowledge_extraction_threshold: int = 10
    reflection_delay_seconds: int = 60
    sensor_min_interval_seconds: int = 30
    sensor_tick_seconds: int = 5  # how often the daemon evaluates each sensor
    insight_fact_threshold: int = 10
    insight_max_hours: float = 24.0
    knowledge_max_delay_seconds: int = 10  # a waiting user message gets a knowledge run at most this late
    rerequest_after_seconds: int = 60  # work a run left undone is requested again after this (doubling)
    automation_default_status: str = "running"  # running | stopped: sensors and schedules at load
    completion_webhook_assets: tuple[str, ...] = ()
    completion_webhook_url: str | None = None  # default: the alert webhook URL
    # feature flags
    enable_runtime_fact_extraction: bool = True
    enable_character_diary: bool = True
    enable_dream_sequences: bool = True
    enable_goal_strategist: bool = True
    # schedules and alerts
    timezone: str = "UTC"
    nightly_hour: int = 3
    alert_webhook_url: str | None = None
    webhook_secret: Secret = field(default_factory=lambda: Secret(None))
    # scheduled prompts and outbound actions: the bot's webhook (signed with BGP_WEBHOOK_SECRET)
    actions_webhook_url: str | None = None
    actions_max_attempts: int = 5
    actions_diary_posts: bool = False  # diary_posts: queue a `post` action per diary entry
    # character drift: flag a day whose drift score reaches the threshold, against a baseline window
    drift_threshold: float = 0.5
    drift_baseline_days: int = 14
    # a run whose stage fails at least this share of the items it attempted is failed (and alerted)
    failure_rate_threshold: float = 0.5
    # backups
    backup_dir: Path | None = None
    snapshot_every_hours: int = 6  # snapshot_schedule: a store snapshot every N hours (a divisor of 24), keep 5
    # graph upkeep: strength = weight x factor^(days since last_seen); soft-expire below the floor
    graph_decay_factor: float = 0.97
    graph_expire_below: float = 0.1
    dagster_url: str = "http://127.0.0.1:3000"  # the UI `bgp ingest` asks to reload after older history arrives
    graph_retention_days: int = 30  # soft-expired relations are deleted this long after expiry
    # how a run executes its steps: in_process | multiprocess | celery | k8s (the last two need their extra)
    executor: str = "in_process"
    # celery executor's broker and result backend (e.g. redis://redis:6379/0); may hold a password
    celery_broker_url: Secret = field(default_factory=lambda: Secret(None))
    celery_backend_url: Secret = field(default_factory=lambda: Secret(None))
    # lore digest: chunk size of a document, chunks of each document one run digests (lore/)
    lore_chunk_chars: int = 2000
    lore_slice_chunks: int = 4
    # hub organisation: an entity with at least this many current relations is a hub (hubs.py)
    hub_degree_threshold: int = 25

    @property
    def llm_backend(self) -> str:
        """`openai` when an endpoint is configured, else the embedded `offline` backend."""
        return "openai" if self.llm_base_url else "offline"

    @property
    def safe_database_url(self) -> str:
        return mask_url(self.database_url)

    def __repr__(self) -> str:
        parts = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "database_url":
                value = self.safe_database_url
            elif isinstance(value, str):  # endpoint and webhook URLs may carry user:password
                value = redact_urls(value)
            parts.append(f"{f.name}={value!r}")
        return f"Settings({', '.join(parts)})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        home = Path(_str(env, "BGP_HOME", ".bgp")).expanduser().resolve()
        database_url = _str(env, "BGP_DATABASE_URL", None) or f"sqlite:///{home / 'store.db'}"
        nightly_hour = _num(env, "BGP_NIGHTLY_HOUR", 3, int)
        if not 0 <= nightly_hour <= 23:
            raise ConfigError(f"BGP_NIGHTLY_HOUR={nightly_hour}: expected 0..23")
        backend = _str(env, "BGP_EMBEDDING_BACKEND", "auto")
        if backend not in {"auto", "openai", "sentence-transformers", "hashing"}:
            raise ConfigError(
                f"BGP_EMBEDDING_BACKEND={backend!r}: expected auto, openai, sentence-transformers or hashing"
            )
        backup_dir = _str(env, "BGP_BACKUP_DIR", None)
        failure_rate = _num(env, "BGP_FAILURE_RATE_THRESHOLD", 0.5, float)
        snapshot_hours = _num(env, "BGP_SNAPSHOT_EVERY_HOURS", 6, int)
        actions_attempts = _num(env, "BGP_ACTIONS_MAX_ATTEMPTS", 5, int)
        if actions_attempts < 1:
            raise ConfigError(f"BGP_ACTIONS_MAX_ATTEMPTS={actions_attempts}: expected at least 1")
        if snapshot_hours not in (1, 2, 3, 4, 6, 8, 12, 24):
            raise ConfigError(f"BGP_SNAPSHOT_EVERY_HOURS={snapshot_hours}: expected a divisor of 24 (1, 2, 3, 4, 6, 8, 12 or 24)")
        if not 0 < failure_rate <= 1:
            raise ConfigError(f"BGP_FAILURE_RATE_THRESHOLD={failure_rate}: expected a share in (0, 1]")
        return cls(
            home=home,
            database_url=database_url,
            start_date=_date(env, "BGP_START_DATE"),
            dagster_url=_str(env, "BGP_DAGSTER_URL", "http://127.0.0.1:3000"),
            llm_base_url=_str(env, "BGP_LLM_BASE_URL", None),
            llm_api_key=Secret(_str(env, "BGP_LLM_API_KEY", None)),
            llm_model=_str(env, "BGP_LLM_MODEL", "gpt-4o-mini"),
            llm_max_concurrency=_num(env, "BGP_LLM_MAX_CONCURRENCY", 8, int),
            llm_timeout_seconds=_num(env, "BGP_LLM_TIMEOUT_SECONDS", 60.0, float),
            llm_max_attempts=_num(env, "BGP_LLM_MAX_ATTEMPTS", 5, int),
            llm_rpm=_num(env, "BGP_LLM_RPM", None, int),
            llm_tpm=_num(env, "BGP_LLM_TPM", None, int),
            llm_daily_budget_usd=_num(env, "BGP_LLM_DAILY_BUDGET_USD", None, float),
            llm_prices=_str(env, "BGP_LLM_PRICES", None),
            llm_cache=_bool(env, "BGP_LLM_CACHE", True),
            chat_llm_enabled=_bool(env, "BGP_CHAT_LLM_ENABLED", True),
            embedding_backend=backend,
            embedding_base_url=_str(env, "BGP_EMBEDDING_BASE_URL", None),
            embedding_api_key=Secret(_str(env, "BGP_EMBEDDING_API_KEY", None)),
            embedding_model=_str(env, "BGP_EMBEDDING_MODEL", None),
            embedding_batch_size=_num(env, "BGP_EMBEDDING_BATCH_SIZE", 100, int),
            embed_on_write=_choice(env, "BGP_EMBED_ON_WRITE", "auto", ("auto", "always", "never")),
            recall_torch_threads=_num(env, "BGP_RECALL_TORCH_THREADS", 1, int),
            recall_vector_cache_mb=_num(env, "BGP_RECALL_VECTOR_CACHE_MB", 512, int),
            summary_message_threshold=_num(env, "SUMMARY_MESSAGE_THRESHOLD", 20, int),
            knowledge_extraction_threshold=_num(env, "KNOWLEDGE_EXTRACTION_THRESHOLD", 10, int),
            reflection_delay_seconds=_num(env, "REFLECTION_DELAY_SECONDS", 60, int),
            sensor_min_interval_seconds=_num(env, "BGP_SENSOR_MIN_INTERVAL_SECONDS", 30, int),
            sensor_tick_seconds=_num(env, "BGP_SENSOR_TICK_SECONDS", 5, int),
            insight_fact_threshold=_num(env, "INSIGHT_FACT_THRESHOLD", 10, int),
            insight_max_hours=_num(env, "INSIGHT_MAX_HOURS", 24.0, float),
            knowledge_max_delay_seconds=_num(env, "KNOWLEDGE_MAX_DELAY_SECONDS", 10, int),
            rerequest_after_seconds=_num(env, "BGP_RERUN_AFTER_SECONDS", 60, int),
            automation_default_status=_choice(env, "BGP_AUTOMATION_DEFAULT_STATUS", "running", ("running", "stopped")),
            completion_webhook_assets=tuple(
                a.strip() for a in (_str(env, "BGP_COMPLETION_WEBHOOK_ASSETS", "") or "").split(",") if a.strip()
            ),
            completion_webhook_url=_str(env, "BGP_COMPLETION_WEBHOOK_URL", None),
            enable_runtime_fact_extraction=_bool(env, "ENABLE_RUNTIME_FACT_EXTRACTION", True),
            enable_character_diary=_bool(env, "ENABLE_CHARACTER_DIARY", True),
            enable_dream_sequences=_bool(env, "ENABLE_DREAM_SEQUENCES", True),
            enable_goal_strategist=_bool(env, "ENABLE_GOAL_STRATEGIST", True),
            timezone=_str(env, "BGP_TIMEZONE", "UTC"),
            nightly_hour=nightly_hour,
            alert_webhook_url=_str(env, "BGP_ALERT_WEBHOOK_URL", None),
            webhook_secret=Secret(_str(env, "BGP_WEBHOOK_SECRET", None)),
            actions_webhook_url=_str(env, "BGP_ACTIONS_WEBHOOK_URL", None),
            actions_max_attempts=actions_attempts,
            actions_diary_posts=_bool(env, "BGP_ACTIONS_DIARY_POSTS", False),
            drift_threshold=_num(env, "BGP_DRIFT_THRESHOLD", 0.5, float),
            drift_baseline_days=_num(env, "BGP_DRIFT_BASELINE_DAYS", 14, int),
            failure_rate_threshold=failure_rate,
            backup_dir=Path(backup_dir).expanduser().resolve() if backup_dir else home / "backups",
            snapshot_every_hours=snapshot_hours,
            graph_decay_factor=_num(env, "BGP_GRAPH_DECAY_FACTOR", 0.97, float),
            graph_expire_below=_num(env, "BGP_GRAPH_EXPIRE_BELOW", 0.1, float),
            graph_retention_days=_num(env, "BGP_GRAPH_RETENTION_DAYS", 30, int),
            executor=_choice(env, "BGP_EXECUTOR", "in_process", ("in_process", "multiprocess", "celery", "k8s")),
            celery_broker_url=Secret(_str(env, "BGP_CELERY_BROKER_URL", None)),
            celery_backend_url=Secret(_str(env, "BGP_CELERY_BACKEND_URL", None)),
            lore_chunk_chars=_num(env, "BGP_LORE_CHUNK_CHARS", 2000, int),
            lore_slice_chunks=_num(env, "BGP_LORE_SLICE_CHUNKS", 4, int),
            hub_degree_threshold=_num(env, "BGP_HUB_DEGREE_THRESHOLD", 25, int),
        )
