"""Access to what the app holds, for the blueprints."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import Engine

from contracts.config import Config, history_dir_for
from store import Store
from store.flagged_lines import FlaggedLines


def config() -> Config:
    return current_app.extensions["orderwatch.config"]


def store() -> Store:
    return current_app.extensions["orderwatch.store"]


def engine() -> Engine:
    return store().engine


def flagged_lines() -> FlaggedLines:
    """Where the scans keep their flagged orders' lines (beside the history of this database)."""
    url = engine().url.render_as_string(hide_password=False)
    return FlaggedLines(history_dir_for(url, config()))
