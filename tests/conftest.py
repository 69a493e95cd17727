"""Shared fixtures: an isolated config (instance dir and SQLite database under tmp_path)."""

from pathlib import Path

import pytest
import yaml

from orderwatch.config import load_config

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


@pytest.fixture
def site_config(tmp_path, monkeypatch):
    """A site config.yaml in tmp_path: instance dir there, so nothing touches the checkout."""
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"instance_dir": str(tmp_path / "instance")}), encoding="utf-8")
    monkeypatch.setenv("ORDERWATCH_CONFIG", str(path))
    return load_config()


from tests.web_fixtures import _world_template, client_for, world  # noqa: E402,F401  (web test fixtures)
