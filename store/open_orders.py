"""The open set: orders a time-based rule may still flag, and where their lines are.

Why a table: re-evaluation runs every few minutes and used to re-read the whole history
window (every partition's footer, every line of the week) to judge the few orders still
waiting at some stage (review, picking, hand-over, shipment, delivery, refund).  Each scan now
records, in its own transaction, which of its orders are open (``(order, scan)``: the scan's
history partition holds the order's newest lines) and drops the orders whose every begun stage
finished or closed; re-evaluation reads the open orders of its window through
``ix_open_orders_created`` and opens only their partitions.

Whether an order is open is decided by the caller (``orderwatch.open_orders``: the time-based
rules' own detectors say which stages still wait); this module only stores and reads the set.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import Connection, and_, delete, select, true
from sqlalchemy.dialects import postgresql, sqlite

from store.models import JobState, OpenOrder, utcnow
from store.staging import staged

ORDER_KEY = ["source", "store_id", "order_id"]
#: job_state row saying whether the set is complete (a database from before it was kept is not)
STATE = "store:open_orders"
STATES_SCHEMA = {"source": pl.String, "store_id": pl.String, "order_id": pl.String,
                 "created_at": pl.Datetime("us"), "open": pl.Boolean}
OPEN_SCHEMA = {"source": pl.String, "store_id": pl.String, "order_id": pl.String, "scan_id": pl.Int64}


def track(conn: Connection, scan_id: int, states: pl.DataFrame) -> tuple[int, int]:
    """Record a scan's orders: open ones with this scan, closed ones dropped (every scan).

    ``states``: one row per order of the scan's new history lines (STATES_SCHEMA).  Returns
    (open orders recorded, closed orders dropped).
    """
    if states.is_empty():
        return 0, 0
    t = OpenOrder.__table__
    closed = states.filter(~pl.col("open")).select(ORDER_KEY).unique()
    dropped = 0
    if closed.height:
        with staged(conn, closed, like=t) as k:
            ids = select(t.c.id).select_from(k.join(t, and_(*(t.c[c] == k.c[c] for c in ORDER_KEY))))
            dropped = conn.execute(delete(t).where(t.c.id.in_(ids))).rowcount or 0
    rows = (states.filter(pl.col("open")).unique(ORDER_KEY)
            .select(*ORDER_KEY, pl.lit(scan_id, dtype=pl.Int64).alias("scan_id"), "created_at"))
    if rows.height:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        with staged(conn, rows, like=t) as s:
            cols = list(rows.columns)
            # WHERE true: SQLite would read ON CONFLICT as a join constraint of the SELECT
            conn.execute(dialect.insert(t).from_select(cols, select(*(s.c[c] for c in cols)).where(true()))
                         .on_conflict_do_nothing())
    return rows.height, dropped


def read(conn: Connection, since: datetime, until: datetime | None = None) -> pl.DataFrame:
    """The open orders created in ``[since, until]``, one row per (order, partition)."""
    t = OpenOrder.__table__
    stmt = select(*(t.c[c] for c in OPEN_SCHEMA)).where(t.c.created_at >= since)
    if until is not None:
        stmt = stmt.where(t.c.created_at <= until)
    return pl.DataFrame(conn.execute(stmt).all(), schema=OPEN_SCHEMA, orient="row")


def prune(conn: Connection, before: datetime) -> int:
    """Forget open orders created before ``before`` (past every window that reads them)."""
    t = OpenOrder.__table__
    return conn.execute(delete(t).where(t.c.created_at < before)).rowcount or 0


def complete(conn: Connection) -> bool:
    """True once the set holds every open order of the history (see ``mark_complete``)."""
    value = conn.execute(select(JobState.value).where(JobState.name == STATE)).scalar_one_or_none()
    return bool((value or {}).get("complete", True))


def mark_complete(conn: Connection) -> None:
    """Record that the set was rebuilt from history (re-evaluation does it once, after upgrade)."""
    t = JobState.__table__
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(t).values(name=STATE, value={"complete": True}, updated_at=utcnow())
    conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"value": {"complete": True},
                                                                             "updated_at": utcnow()}))


__all__ = ["ORDER_KEY", "STATE", "STATES_SCHEMA", "complete", "mark_complete", "prune", "read", "track"]
