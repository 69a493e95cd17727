"""Late but done: orders that finished a stage past its limit, kept for the SLA statistics.

Why apart from the flags: a flag is work for someone (queued, acknowledged, notified,
escalated); an order picked two hours late and shipped since needs nobody's minute, but it
counts against the warehouse's promise.  A rule's ``report`` level lands here, one row per
(rule, subject) like a flag, and only the SLA statistics read it (the dashboard, the weekly
and monthly reports), so no queue, alert, digest, cluster or escalation can pick it up.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import ColumnElement, Double, ForeignKey, Index, Table, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column

from store.bulk import insert_rows
from store.models import Base, Finding, utcnow

#: the figures of the stage a report row keeps as columns (the SLA statistics aggregate them)
FIGURES = ("hours", "sla_hours", "overdue_hours")


class SlaReport(Finding, Base):
    """An order that finished a stage late (a rule's ``report`` level)."""

    __tablename__ = "sla_reports"

    hours: Mapped[float | None] = mapped_column(Double)          # how long the stage took
    sla_hours: Mapped[float | None] = mapped_column(Double)      # what it was allowed
    overdue_hours: Mapped[float | None] = mapped_column(Double)  # how late it finished
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("rule_id", "subject", name="uq_sla_reports_rule_subject"),
        Index("ix_sla_reports_occurred", "occurred_at"),
        Index("ix_sla_reports_store", "store_id", "occurred_at"),
    )


COLUMNS: dict[str, pl.DataType] = {
    "rule_id": pl.String(), "kind": pl.String(), "department": pl.String(), "subject": pl.String(),
    "order_id": pl.String(), "store_id": pl.String(), "store_name": pl.String(),
    "occurred_at": pl.Datetime("us"), "title": pl.String(), "reason": pl.String(), "reason_id": pl.String(),
    "reason_args": pl.String(), "evidence": pl.String(), **{f: pl.Float64() for f in FIGURES},
}


def _figure(evidence: pl.Expr, name: str) -> pl.Expr:
    return evidence.str.json_path_match(f"$.{name}").cast(pl.Float64, strict=False).alias(name)


def report_rows(flags: pl.DataFrame) -> pl.DataFrame:
    """The flag-shaped rows of level ``report`` as report rows (figures out of the evidence)."""
    rows = flags.filter(pl.col("level") == "report").unique(["rule_id", "subject"], keep="first",
                                                            maintain_order=True)
    ev = pl.col("evidence").cast(pl.String)
    return rows.with_columns(*[_figure(ev, f) for f in FIGURES]).select(
        [pl.col(c).cast(t) if c in rows.columns or c in FIGURES else pl.lit(None, dtype=t).alias(c)
         for c, t in COLUMNS.items()])


def write(conn, scan_id: int | None, flags: pl.DataFrame, now: datetime | None = None) -> int:  # noqa: ANN001
    """Keep the ``report`` rows of ``flags``; a (rule, subject) already kept stays as it was
    (a stage that finished has fixed figures).  Returns how many rows were new."""
    rows = report_rows(flags)
    if rows.is_empty():
        return 0
    # in the unique key's order: the index B-tree is filled page by page instead of at random
    # (a scan's 75 k rows went in 1.3-1.7x faster on SQLite, measured back to back)
    rows = rows.sort("rule_id", "subject").with_columns(
        scan_id=pl.lit(scan_id, dtype=pl.Int64), created_at=pl.lit(now or utcnow()))
    return insert_rows(conn, SlaReport.__table__, rows, ignore_conflicts=True)


def frame(conn, since: datetime | None = None, until: datetime | None = None) -> pl.DataFrame:  # noqa: ANN001
    """Report rows whose order occurred in ``[since, until)`` (JSON columns as text)."""
    t = SlaReport.__table__
    stmt = select(*(t.c[c] for c in COLUMNS))
    if since is not None:
        stmt = stmt.where(t.c.occurred_at >= since)
    if until is not None:
        stmt = stmt.where(t.c.occurred_at < until)
    rows = [tuple(json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v for v in r)
            for r in conn.execute(stmt)]
    return pl.DataFrame(rows, schema=COLUMNS, orient="row")


STATS_SCHEMA: dict[str, pl.DataType] = {
    "rule_id": pl.String(), "department": pl.String(), "flagged": pl.Int64(), "still_open": pl.Int64(),
    "late_done": pl.Int64(), "mean_hours_late": pl.Float64(), "max_hours_late": pl.Float64(),
}


def stage_stats(conn, rule_ids: list[str], since: datetime, until: datetime,  # noqa: ANN001
                scope: Callable[[Table], ColumnElement[bool]] | None = None) -> pl.DataFrame:
    """Per stage rule, for the orders that occurred in ``[since, until)``: how many were flagged
    while waiting (and how many of those flags are still open), how many finished late (the
    ``report`` rows) and by how many hours on average and at most.

    ``scope(table)``: who may see what (a condition on a table's department / store_id).
    """
    if not rule_ids:
        return pl.DataFrame(schema=STATS_SCHEMA)
    from store.models import Flag

    out: dict[str, dict[str, Any]] = {}
    f, r = Flag.__table__, SlaReport.__table__
    for t, cols in ((f, [func.count(), func.count().filter(f.c.status.in_(("open", "acknowledged")))]),
                    (r, [func.count(), func.avg(r.c.overdue_hours), func.max(r.c.overdue_hours)])):
        cond = [t.c.rule_id.in_(rule_ids), t.c.occurred_at >= since, t.c.occurred_at < until]
        if scope is not None:
            cond.append(scope(t))
        for rule_id, dept, *figures in conn.execute(
                select(t.c.rule_id, t.c.department, *cols).where(*cond).group_by(t.c.rule_id, t.c.department)):
            row = out.setdefault(f"{rule_id}|{dept}", {"rule_id": rule_id, "department": dept, "flagged": 0,
                                                       "still_open": 0, "late_done": 0, "mean_hours_late": None,
                                                       "max_hours_late": None})
            if t is f:
                row["flagged"], row["still_open"] = int(figures[0]), int(figures[1])
            else:
                row["late_done"] = int(figures[0])
                row["mean_hours_late"] = float(figures[1]) if figures[1] is not None else None
                row["max_hours_late"] = float(figures[2]) if figures[2] is not None else None
    return pl.DataFrame(list(out.values()), schema=STATS_SCHEMA).sort("rule_id", "department")


__all__ = ["COLUMNS", "STATS_SCHEMA", "SlaReport", "frame", "report_rows", "stage_stats", "write"]
