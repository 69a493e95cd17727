"""The declarative base every table class of ``store`` shares, its id type and audit clock.

Apart from the tables so that each group of them (orders and flags, people, alerts and jobs)
can live in its own module without importing the others.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.orm import DeclarativeBase

# 64-bit ids on PostgreSQL; SQLite only auto-increments a plain INTEGER PRIMARY KEY
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """Naive UTC "now" for audit columns (naive so SQLite and PostgreSQL agree)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Declarative base; its metadata is the autogenerate target of the migrations."""

    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, datetime: DateTime()}
