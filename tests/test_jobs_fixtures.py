"""Fixtures shared by the jobs tests (imported by tests/test_jobs_*.py; holds no tests).

PostgreSQL (127.0.0.1:5432, trust auth, or $ORDERWATCH_TEST_PG) gets throwaway databases
``orderwatch_test_<hex>`` created on an AUTOCOMMIT connection and dropped afterwards;
PostgreSQL being down is a failure, not a skip (as in test_store.py).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from orderwatch.config import Config, load_config

PG_ADMIN_URL = os.environ.get("ORDERWATCH_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture
def pg_database() -> Iterator[Callable[[], str]]:
    """A factory of fresh PostgreSQL databases (URLs), all dropped at teardown."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        admin.dispose()
        pytest.fail(f"PostgreSQL is required by the jobs tests and {PG_ADMIN_URL} is unreachable: {exc}",
                    pytrace=False)
    created: list[str] = []

    def make() -> str:
        name = f"orderwatch_test_{uuid.uuid4().hex[:12]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    try:
        yield make
    finally:
        with admin.connect() as conn:
            for name in created:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The orderwatch database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'db' / 'orderwatch.db'}"
    return request.getfixturevalue("pg_database")()


def jobs_config(tmp_path: Path, db_url: str | None = None, **overrides: Any) -> Config:
    """Config with instance_dir in tmp_path (and the database there unless ``db_url``)."""
    raw: dict[str, Any] = {"instance_dir": str(tmp_path / "instance")}
    if db_url:
        raw["database"] = {"url": db_url}
    for key, value in overrides.items():
        raw[key] = value
    return load_config(overrides=raw)
