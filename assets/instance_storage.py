"""Dagster's embedded SQLite storage, created once under a file lock: two processes opening a fresh
DAGSTER_HOME at the same moment would each create the tables and stamp Alembic, leaving two heads
that break every later Dagster command. Its event log keeps one SQLAlchemy engine per database file
instead of building one per event. dagster.yaml names `LockedSqliteInstance` as instance_class."""

from __future__ import annotations

import fcntl
import os
from collections import OrderedDict
from contextlib import contextmanager
from typing import Iterator, Mapping

import dagster as dg
import yaml
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

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


class EngineCachingSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log (the same files: an index database and one per run), keeping one
    engine per database file. Dagster's own builds an engine for every connection, so each event
    (a run over a year of day partitions writes thousands) re-created the dialect and recompiled
    every statement: ~40% of the CPU of a materialization. Connections are still opened per use
    (NullPool, as Dagster does), so no file stays open and other processes see every write."""

    _MAX_ENGINES = 32  # recently used databases; an evicted engine holds no connection

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        super().__init__(base_dir, inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(self.conn_string_for_shard(shard), poolclass=NullPool,
                                   connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
            self._engines[shard] = engine
            while len(self._engines) > self._MAX_ENGINES:
                self._engines.popitem(last=False)[1].dispose()
        else:
            self._engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:  # Dagster's, with the engine kept
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                with conn.begin():
                    yield conn

    def wipe(self) -> None:
        super().wipe()
        self._drop_engines()

    def dispose(self) -> None:
        super().dispose()
        self._drop_engines()

    def _drop_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()


class LockedSqliteStorage(DagsterSqliteStorage):
    """DagsterSqliteStorage whose creation (tables, Alembic stamp and index migrations of the run,
    event log and schedule databases) runs in one process at a time; opening an initialised
    storage holds the lock only for the revision checks (milliseconds). Its event log is
    EngineCachingSqliteEventLogStorage over the same files."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        with _exclusive(base_dir):
            super().__init__(base_dir, inst_data=inst_data)
            self._event_log_storage = EngineCachingSqliteEventLogStorage(self._event_log_storage._base_dir)

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
