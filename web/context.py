"""Access to what the app holds, for the blueprints."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import Engine

from contracts.config import Config
from store import Store


def config() -> Config:
    return current_app.extensions["orderwatch.config"]


def store() -> Store:
    return current_app.extensions["orderwatch.store"]


def engine() -> Engine:
    return store().engine
