"""Small durable job state in ``job_state``: one JSON object per name, merged key by key.

Several writers share a row (``run_job`` records ``last_*`` keys, a pull keeps ``watermark``
in the same ``pull:<name>`` row), so writes merge into the stored object rather than replace
it.  The merge runs in one transaction with the row locked (``FOR UPDATE`` on PostgreSQL; on
SQLite the transaction's first statement is a write, which takes the write lock), so
concurrent merges never lose keys.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from store.models import JobState, utcnow


def get_state(engine: Engine, name: str) -> dict[str, Any]:
    """The stored object of ``name`` (an empty dict when there is none)."""
    with engine.connect() as conn:
        value = conn.execute(select(JobState.value).where(JobState.name == name)).scalar_one_or_none()
    return dict(value or {})


def get_states(engine: Engine, names: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Stored objects by name (all rows, or only ``names``)."""
    stmt = select(JobState.name, JobState.value, JobState.updated_at)
    if names is not None:
        stmt = stmt.where(JobState.name.in_(names))
    with engine.connect() as conn:
        return {r.name: dict(r.value or {}) for r in conn.execute(stmt)}


def update_state(engine: Engine, name: str, _remove: tuple[str, ...] = (), **values: Any) -> dict[str, Any]:
    """Merge ``values`` into the object of ``name`` (keys in ``_remove`` are dropped); returns it."""
    with engine.begin() as conn:
        # make sure the row exists (on SQLite this first write takes the database's write
        # lock, so the read-merge-write below cannot interleave), then lock and merge it
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(dialect.insert(JobState).values(name=name, value={}, updated_at=utcnow())
                     .on_conflict_do_nothing(index_elements=["name"]))
        stmt = select(JobState.value).where(JobState.name == name)
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        current = dict(conn.execute(stmt).scalar_one_or_none() or {})
        current.update(values)
        for key in _remove:
            current.pop(key, None)
        conn.execute(JobState.__table__.update().where(JobState.name == name)
                     .values(value=current, updated_at=utcnow()))
    return current


def iso(dt: datetime | None) -> str | None:
    return dt.isoformat(sep=" ", timespec="seconds") if dt is not None else None


def parse_iso(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


__all__ = ["get_state", "get_states", "iso", "parse_iso", "update_state"]
