"""Dagster's embedded SQLite storage, created once under a file lock: two processes opening a fresh
DAGSTER_HOME at the same moment would each create the tables and stamp Alembic, leaving two heads
that break every later Dagster command. dagster.yaml names `LockedSqliteInstance` as instance_class."""

from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from typing import Iterator, Mapping

import dagster as dg
import yaml
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClassData

LOCK_NAME = ".storage-init.lock"


@contextmanager
def _exclusive(base_dir: str) -> Iterator[None]:
    """An exclusive flock on base_dir/LOCK_NAME (released when the process dies, so never stale)."""
    os.makedirs(base_dir, exist_ok=True)
    fd = os.open(os.path.join(base_dir, LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class LockedSqliteStorage(DagsterSqliteStorage):
    """DagsterSqliteStorage whose creation (tables, Alembic stamp and index migrations of the run,
    event log and schedule databases) runs in one process at a time; opening an initialised
    storage holds the lock only for the revision checks (milliseconds)."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        with _exclusive(base_dir):
            super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value) -> "LockedSqliteStorage":
        return cls.from_local(inst_data=inst_data, **config_value)  # the parent builds its own class


class LockedSqliteInstance(dg.DagsterInstance):
    """The instance of the embedded default: Dagster's defaults with LockedSqliteStorage as storage
    (a dagster.yaml `storage:` block, e.g. PostgreSQL, still wins)."""

    @classmethod
    def config_schema(cls) -> dict:
        return {}

    @staticmethod
    def config_defaults(base_dir: str) -> Mapping[str, ConfigurableClassData | None]:
        defaults = dict(InstanceRef.config_defaults(base_dir))
        defaults["storage"] = ConfigurableClassData(
            __name__, LockedSqliteStorage.__name__, yaml.dump({"base_dir": base_dir}, default_flow_style=False)
        )
        return defaults
