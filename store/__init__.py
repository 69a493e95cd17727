"""Persistence for orderwatch: relational store (SQLite or PostgreSQL) and Parquet history.

``Store`` keeps scans, accepted lines, flags with their audit trail and quarantined rows;
``History`` keeps order lines as Parquet for detectors' baselines (fast columnar reads).
"""

from store.db import alembic_config, current_revision, make_engine, upgrade
from store.history import History
from store.models import LEVELS, Base, Flag, FlagEvent, OrderLine, QuarantinedRow, Scan
from store.repository import Store
from store.shadow import ShadowFlag
from store.sla_reports import SlaReport

__all__ = [
    "LEVELS",
    "Base",
    "Flag",
    "FlagEvent",
    "History",
    "OrderLine",
    "QuarantinedRow",
    "Scan",
    "ShadowFlag",
    "SlaReport",
    "Store",
    "alembic_config",
    "current_revision",
    "make_engine",
    "upgrade",
]
