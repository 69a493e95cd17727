"""Shared fixtures: an isolated config (instance dir and SQLite database under tmp_path), and
throwaway PostgreSQL databases (127.0.0.1:5432 as on these machines, or $ORDERWATCH_TEST_PG)."""

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
import yaml
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from contracts.config import load_config

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
        pytest.fail(f"PostgreSQL is required by these tests and {PG_ADMIN_URL} is unreachable: {exc}",
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


@pytest.fixture
def site_config(tmp_path, monkeypatch):
    """A site config.yaml in tmp_path: instance dir there, so nothing touches the checkout."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"instance_dir": str(tmp_path / "instance")}), encoding="utf-8")
    monkeypatch.setenv("ORDERWATCH_CONFIG", str(path))
    return load_config()


from tests.web_fixtures import _world_template, client_for, world  # noqa: E402,F401  # pyflakes: ignore (fixtures)
from tests.browser_support import chromium_browser, new_page, site  # noqa: E402,F401  # pyflakes: ignore (fixtures)
