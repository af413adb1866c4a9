"""The executor every job runs on, chosen by BGP_EXECUTOR (in_process, multiprocess, celery, k8s) and
switchable per run from run config (`execution: {config: {celery: {...}}}`), without editing code."""

from __future__ import annotations

import importlib.util
from typing import Callable

import dagster as dg

from background_pipelines.config import ConfigError, Settings

# executor name -> (python module it needs, pip extra that installs it)
_OPTIONAL = {"celery": ("dagster_celery", "celery"), "k8s": ("dagster_k8s", "k8s")}


def _available(name: str) -> bool:
    module = _OPTIONAL.get(name)
    return module is None or importlib.util.find_spec(module[0]) is not None


def _choices() -> dict[str, Callable[[], dg.ExecutorDefinition]]:
    """{name: loader of the ExecutorDefinition} for every executor installed here."""
    choices: dict[str, Callable[[], dg.ExecutorDefinition]] = {
        "in_process": lambda: dg.in_process_executor,
        "multiprocess": lambda: dg.multiprocess_executor,
    }
    if _available("celery"):
        choices["celery"] = lambda: importlib.import_module("dagster_celery").celery_executor
    if _available("k8s"):
        choices["k8s"] = lambda: importlib.import_module("dagster_k8s").k8s_job_executor
    return choices


def _with_forkserver(config: dict) -> dict:
    # spawn re-imports the whole project for every step (minutes per partition under load); a
    # forkserver that preloaded the code location forks each step from a warm interpreter
    if config.get("start_method"):
        return config
    return {**config, "start_method": {"forkserver": {}}}


def _default_config(name: str, settings: Settings) -> dict:
    if name != "celery":
        return {}
    # by environment-variable name: the URL (and any password in it) never enters run config or the UI
    return {
        key: {"env": var}
        for key, var, value in (("broker", "BGP_CELERY_BROKER_URL", settings.celery_broker_url),
                                ("backend", "BGP_CELERY_BACKEND_URL", settings.celery_backend_url))
        if value
    }


def default_executor(settings: Settings) -> dg.ExecutorDefinition:
    """One executor for every job and for the UI's own asset runs: a selector over the installed
    executors whose default entry is BGP_EXECUTOR; run config picks another or configures it."""
    chosen = settings.executor
    if not _available(chosen):
        module, extra = _OPTIONAL[chosen]
        raise ConfigError(
            f"BGP_EXECUTOR={chosen}: the {module} package is not installed (pip install -e '.[{extra}]')"
        )
    choices = _choices()
    loaded = {name: load() for name, load in choices.items()}

    def requirements(config) -> list:
        name, sub = next(iter(config.items()))
        return list(loaded[name].get_requirements(sub))

    @dg.executor(
        name="bgp_executor",
        config_schema=dg.Field(
            dg.Selector({name: d.config_schema.as_field() for name, d in loaded.items()}),
            default_value={chosen: _default_config(chosen, settings)},
            description=f"Which executor runs the steps (BGP_EXECUTOR={chosen} by default) and its config.",
        ),
        requirements=requirements,
    )
    def bgp_executor(init_context: dg.InitExecutorContext):
        name, sub = next(iter(init_context.executor_config.items()))
        definition = loaded[name]
        if name == "multiprocess":
            sub = _with_forkserver(sub)
        inner = dg.InitExecutorContext(
            job=init_context.job, executor_def=definition, executor_config=sub, instance=init_context.instance
        )
        return definition.executor_creation_fn(inner)

    return bgp_executor
