"""Shared fixtures: a fresh store on SQLite and, when BGP_TEST_DATABASE_URL is set, on PostgreSQL.

PostgreSQL tests get a throwaway database per test session (dropped at the end) and every table is
emptied after each test. An unreachable BGP_TEST_DATABASE_URL fails the run; it never skips.
"""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from background_pipelines.store import open_store
from background_pipelines.store.schema import metadata

PG_URL = os.environ.get("BGP_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


def _pg_admin_engine():
    url = make_url(PG_URL)
    return create_engine(url, isolation_level="AUTOCOMMIT"), url


@pytest.fixture(scope="session")
def pg_database_url():
    """A new PostgreSQL database for this test session; dropped afterwards."""
    if not PG_URL:
        pytest.skip("BGP_TEST_DATABASE_URL is not set")
    admin, url = _pg_admin_engine()
    name = f"bgp_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # fail loudly: a configured database must be reachable
        pytest.fail(f"BGP_TEST_DATABASE_URL is set but PostgreSQL is unreachable: {type(exc).__name__}: {exc}")
    test_url = url.set(database=name).render_as_string(hide_password=False)
    yield test_url
    with admin.connect() as conn:
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
            {"n": name},
        )
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _truncate_all(store) -> None:
    names = [t.name for t in reversed(metadata.sorted_tables)]
    with store.begin() as conn:
        if store.dialect == "postgresql":
            existing = {r[0] for r in conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname='public'"))}
            names = [n for n in names if n in existing] + sorted(
                n for n in existing if n not in names and n != "alembic_version"
            )
            if names:
                conn.execute(text("TRUNCATE " + ", ".join(f'"{n}"' for n in names) + " RESTART IDENTITY CASCADE"))


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path):
    """The URL of an empty, migrated store: SQLite in tmp_path, or the session's PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    url = request.getfixturevalue("pg_database_url")
    store = open_store(url)
    _truncate_all(store)
    yield url
    _truncate_all(store)
    store.engine.dispose()


@pytest.fixture
def store(db_url):
    s = open_store(db_url)
    yield s
    s.engine.dispose()


@pytest.fixture
def bgp_env(db_url, tmp_path, monkeypatch):
    """Environment pointing the engine (and Dagster resources) at the test store and a temp home."""
    monkeypatch.setenv("BGP_HOME", str(tmp_path / "bgp_home"))
    monkeypatch.setenv("BGP_DATABASE_URL", db_url)
    for name in ("BGP_LLM_BASE_URL", "BGP_LLM_API_KEY", "BGP_EMBEDDING_BASE_URL", "BGP_EMBEDDING_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BGP_EMBEDDING_BACKEND", "hashing")
    return db_url


@pytest.fixture
def pg_dagster_instance(tmp_path, monkeypatch):
    """A Dagster instance stored in its own new PostgreSQL database, configured by the shipped
    deploy/postgres/dagster.yaml (dagster-postgres + QueuedRunCoordinator)."""
    import shutil
    from pathlib import Path

    import dagster as dg

    if not PG_URL:
        pytest.skip("BGP_TEST_DATABASE_URL is not set")
    admin, url = _pg_admin_engine()
    name = f"bgp_dagster_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(Path(__file__).resolve().parents[1] / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    for var, value in (("HOST", url.host or "127.0.0.1"), ("PORT", str(url.port or 5432)),
                       ("USER", url.username or "postgres"), ("PASSWORD", url.password or ""), ("DB", name)):
        monkeypatch.setenv(f"DAGSTER_PG_{var}", value)
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        yield instance
    finally:
        instance.dispose()
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
