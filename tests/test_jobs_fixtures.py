"""Fixtures shared by the jobs tests (imported by tests/test_jobs_*.py; holds no tests).

PostgreSQL databases come from the shared ``pg_database`` fixture (tests/conftest.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from contracts.config import Config, load_config


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
