"""Shadow flags: what rules in ``mode: shadow`` raise, kept in their own table.

Why a table of their own rather than a column on ``flags``: every queue, count, export, digest
and the notification planner read ``flags``; a shadow flag must never reach any of them, and a
separate table makes that true by construction instead of by a filter each reader must
remember.  Like a flag, a shadow flag is one per (rule, subject) and only ever goes up a level;
``job_state`` keeps, per shadow rule, the scans that evaluated it (its page says since when).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl
from sqlalchemy import Connection, Engine, ForeignKey, Index, Integer, String, UniqueConstraint, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from contracts.schema import FLAG_SCHEMA
from store.models import LEVEL_RANK, Base, Finding, JobState, utcnow

RUN_PREFIX = "shadow:"
SHADOW_FRAME = {**FLAG_SCHEMA, "scan_id": pl.Int64(), "created_at": pl.Datetime("us")}


class ShadowFlag(Finding, Base):
    """A flag a shadow rule would have raised: never queued, never notified."""

    __tablename__ = "shadow_flags"

    level: Mapped[str] = mapped_column(String(16))
    severity: Mapped[int] = mapped_column(Integer)
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("rule_id", "subject", name="uq_shadow_flags_rule_subject"),
                      Index("ix_shadow_flags_rule_occurred", "rule_id", "occurred_at"))


T = ShadowFlag.__table__
_UPDATED = ("level", "severity", "title", "reason", "evidence", "reason_id", "reason_args", "scan_id", "updated_at")


def _json(v: str | None) -> Any:
    return None if v is None else json.loads(v)


def write(conn: Connection, scan_id: int | None, flags: pl.DataFrame, now: datetime | None = None) -> int:
    """Insert new shadow flags and raise known ones to a more severe level; returns rows written."""
    if flags.is_empty():
        return 0
    now = now or utcnow()
    rank = {k: v + 1 for k, v in LEVEL_RANK.items()}
    flags = (flags.with_columns(pl.col("level").replace_strict(rank, return_dtype=pl.Int32).alias("severity"))
             .sort("severity", descending=True).unique(subset=["rule_id", "subject"], keep="first"))
    rows = [{**{k: r[k] for k in FLAG_SCHEMA if k not in ("evidence", "reason_args")},
             "evidence": _json(r["evidence"]), "reason_args": _json(r["reason_args"]), "severity": r["severity"],
             "scan_id": scan_id, "created_at": now, "updated_at": now}
            for r in flags.iter_rows(named=True)]
    ins = (postgresql.insert(T) if conn.dialect.name == "postgresql" else sqlite.insert(T))
    stmt = ins.on_conflict_do_update(index_elements=["rule_id", "subject"],
                                     set_={c: ins.excluded[c] for c in _UPDATED},
                                     where=ins.excluded.severity > T.c.severity)
    conn.execute(stmt, rows)
    return len(rows)


def note_run(conn: Connection, rule_ids: list[str], scan_id: int, now: datetime | None = None) -> None:
    """Record that a scan evaluated these shadow rules (first and last scan, how many)."""
    now = now or utcnow()
    j = JobState.__table__
    for rid in rule_ids:
        name = RUN_PREFIX + rid
        old = conn.execute(select(j.c.value).where(j.c.name == name)).scalar_one_or_none()
        if old is None:
            conn.execute(j.insert(), {"name": name, "updated_at": now, "value": {
                "first_scan": scan_id, "first_at": now.isoformat(), "last_scan": scan_id,
                "last_at": now.isoformat(), "scans": 1}})
        else:
            value = {**old, "last_scan": scan_id, "last_at": now.isoformat(), "scans": int(old.get("scans", 0)) + 1}
            conn.execute(j.update().where(j.c.name == name).values(value=value, updated_at=now))


def runs(engine: Engine, rule_id: str) -> dict[str, Any] | None:
    """Since when (UTC) and in how many scans a shadow rule was evaluated; None: never."""
    j = JobState.__table__
    with engine.connect() as conn:
        value = conn.execute(select(j.c.value).where(j.c.name == RUN_PREFIX + rule_id)).scalar_one_or_none()
    if not value:
        return None
    return {**value, "first_at": datetime.fromisoformat(value["first_at"]),
            "last_at": datetime.fromisoformat(value["last_at"])}


def frame(engine: Engine, rule_ids: list[str], since: date | None = None, until: date | None = None) -> pl.DataFrame:
    """The shadow flags of these rules that occurred in [since, until] (SHADOW_FRAME)."""
    cols = [T.c[c] for c in SHADOW_FRAME]
    stmt = select(*cols).where(T.c.rule_id.in_(rule_ids)).order_by(T.c.id)
    if since is not None:
        stmt = stmt.where(T.c.occurred_at >= datetime.combine(since, datetime.min.time()))
    if until is not None:
        stmt = stmt.where(T.c.occurred_at < datetime.combine(until + timedelta(days=1), datetime.min.time()))
    text = {"evidence", "reason_args"}
    with engine.connect() as conn:
        rows = [{k: (json.dumps(v, ensure_ascii=False) if k in text and v is not None else v)
                 for k, v in r.items()} for r in conn.execute(stmt).mappings()]
    return pl.DataFrame(rows, schema=SHADOW_FRAME) if rows else pl.DataFrame(schema=SHADOW_FRAME)


__all__ = ["SHADOW_FRAME", "ShadowFlag", "frame", "note_run", "runs", "write"]
