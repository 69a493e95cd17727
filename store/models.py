"""SQLAlchemy 2 models: scans, stored order lines, flags, their audit trail, quarantine.

The people's tables are in ``store.models_people``, the notification log's and the jobs' in
``store.models_alerts``, the shared base in ``store.model_base``; all are importable from here.

Why these types: everything must run unchanged on the embedded SQLite file and on
PostgreSQL, so JSON is ``sqlalchemy.JSON`` and timestamps are naive ``DateTime`` (business
times are wall-clock in the configured zone; audit times are naive UTC, see ``utcnow``).
The schema itself is created by the Alembic migrations in ``store/migrations``; these
classes are the query-side mirror and the target for ``alembic revision --autogenerate``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from contracts.schema import LINE_KEY
from store.model_base import Base, BigId, utcnow

#: flag levels from least to most severe; a flag only ever moves up this list by itself
LEVELS: tuple[str, ...] = ("info", "warn", "critical")
LEVEL_RANK: dict[str, int] = {name: i for i, name in enumerate(LEVELS)}
SCAN_STATUSES: tuple[str, ...] = ("running", "done", "failed", "interrupted")
#: a flag the notification planner has not seen in its current state (partial index predicate)
UNNOTIFIED = text("notified_at IS NULL OR updated_at > notified_at")


class Scan(Base):
    """One run of the pipeline over a set of files: what it read and what it produced."""

    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    as_of: Mapped[datetime]
    files: Mapped[list[str]] = mapped_column(JSON, default=list)
    lines_read: Mapped[int] = mapped_column(default=0)
    lines_accepted: Mapped[int] = mapped_column(default=0)
    lines_quarantined: Mapped[int] = mapped_column(default=0)
    lines_new: Mapped[int] = mapped_column(default=0)
    flags_new: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="running")
    error: Mapped[str | None] = mapped_column(Text)
    # host:pid of the process running it, and when it last said it was alive: a scan whose
    # process died is marked ``interrupted`` by the next process that opens the store
    owner: Mapped[str | None] = mapped_column(String(255))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_by: Mapped[str | None] = mapped_column(String(128))   # the uploader, for uploads
    # file -> detector -> the needs it lacked: what this scan could not judge, and why
    skipped: Mapped[dict | None] = mapped_column(JSON)


class OrderLine(Base):
    """An accepted order line, stored once per LINE_KEY however often its file is re-read."""

    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id"))
    order_id: Mapped[str] = mapped_column(String)
    line_no: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String)
    store_id: Mapped[str] = mapped_column(String)
    store_name: Mapped[str | None] = mapped_column(String)
    buyer_id: Mapped[str | None] = mapped_column(String)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    picked_at: Mapped[datetime | None] = mapped_column(DateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    refund_requested_at: Mapped[datetime | None] = mapped_column(DateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime)
    ship_by: Mapped[datetime | None] = mapped_column(DateTime)
    deliver_by: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str | None] = mapped_column(String)
    payment_status: Mapped[str | None] = mapped_column(String)
    aftersale_status: Mapped[str | None] = mapped_column(String)
    state: Mapped[str | None] = mapped_column(String)
    sku: Mapped[str | None] = mapped_column(String)
    product_name: Mapped[str | None] = mapped_column(String)
    quantity: Mapped[float | None] = mapped_column(Double)
    unit_price: Mapped[float | None] = mapped_column(Double)
    line_amount: Mapped[float | None] = mapped_column(Double)
    order_amount: Mapped[float | None] = mapped_column(Double)
    paid_amount: Mapped[float | None] = mapped_column(Double)
    discount_amount: Mapped[float | None] = mapped_column(Double)
    shipping_fee: Mapped[float | None] = mapped_column(Double)
    refund_amount: Mapped[float | None] = mapped_column(Double)
    currency: Mapped[str | None] = mapped_column(String)
    payment_method: Mapped[str | None] = mapped_column(String)
    shipping_method: Mapped[str | None] = mapped_column(String)
    tracking_no: Mapped[str | None] = mapped_column(String)
    consignee: Mapped[str | None] = mapped_column(String)
    phone: Mapped[str | None] = mapped_column(String)
    province: Mapped[str | None] = mapped_column(String)
    city: Mapped[str | None] = mapped_column(String)
    district: Mapped[str | None] = mapped_column(String)
    address: Mapped[str | None] = mapped_column(String)
    postcode: Mapped[str | None] = mapped_column(String)
    country: Mapped[str | None] = mapped_column(String)
    source_file: Mapped[str | None] = mapped_column(String)
    source_line: Mapped[int | None] = mapped_column(BigInteger)
    goods: Mapped[bool | None] = mapped_column(Boolean)

    __table_args__ = (
        UniqueConstraint(*LINE_KEY, name="uq_order_lines_key"),
        Index("ix_order_lines_store_created", "store_id", "created_at"),
        Index("ix_order_lines_order_id", "order_id"),
    )


class Finding:
    """What a rule found about one subject: the columns a flag and an SLA report share."""

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    rule_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(255))
    order_id: Mapped[str | None] = mapped_column(String)
    store_id: Mapped[str | None] = mapped_column(String)
    store_name: Mapped[str | None] = mapped_column(String)
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime)
    title: Mapped[str | None] = mapped_column(String)
    reason: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # the reason as data (rules/reasons): rendered in each reader's language; NULL on old rows
    reason_id: Mapped[str | None] = mapped_column(String(96))
    reason_args: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class Flag(Finding, Base):
    """One abnormality of one subject under one rule; people work it through its status."""

    __tablename__ = "flags"

    level: Mapped[str] = mapped_column(String(16))
    # 1 info, 2 warn, 3 critical: sortable and indexable, unlike the level's name
    severity: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    status: Mapped[str] = mapped_column(String(32), default="open", server_default="open")
    resolution: Mapped[str | None] = mapped_column(String(32))
    assignee: Mapped[str | None] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime)
    notified_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id"))

    __table_args__ = (
        UniqueConstraint("rule_id", "subject", name="uq_flags_rule_subject"),
        Index("ix_flags_dept_status_id", "department", "status", "id"),
        Index("ix_flags_store_id", "store_id", "id"),
        Index("ix_flags_dept_id", "department", "id"),
        Index("ix_flags_order_id", "order_id"),
        Index("ix_flags_dept_sev_id", "department", "severity", "id"),
        # only open/acknowledged flags: the navigation counts read this small index
        Index("ix_flags_active_dept_id", "department", "id",
              postgresql_where=text("status IN ('open', 'acknowledged')"),
              sqlite_where=text("status IN ('open', 'acknowledged')")),
        # the notification planner's groups: active flags of a store
        Index("ix_flags_active_store_id", "store_id", "id",
              postgresql_where=text("status IN ('open', 'acknowledged')"),
              sqlite_where=text("status IN ('open', 'acknowledged')")),
        # what the planner has not seen yet: new, or changed since it last looked (UNNOTIFIED)
        Index("ix_flags_unnotified", "id", postgresql_where=UNNOTIFIED, sqlite_where=UNNOTIFIED),
    )


class FlagEvent(Base):
    """Audit trail of a flag: every change, who made it and when (append-only)."""

    __tablename__ = "flag_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    flag_id: Mapped[int] = mapped_column(BigId, ForeignKey("flags.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    from_level: Mapped[str | None] = mapped_column(String(16))
    to_level: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    # the scan that caused the event (None for people's actions): answers "what did scan N do"
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id"))

    __table_args__ = (
        Index("ix_flag_events_flag_id", "flag_id", "id"),
        Index("ix_flag_events_scan_id", "scan_id"),
    )


class OpenOrder(Base):
    """An order a time-based rule may still flag, and a scan whose history partition holds
    (the newest version of) some of its lines: the open set re-evaluation judges.

    Written in the scan's transaction; an order that reaches a terminal state (delivered,
    cancelled, ...) leaves it, so re-evaluation reads the open orders of its window and only
    the partitions that hold them, never all history.
    """

    __tablename__ = "open_orders"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str | None] = mapped_column(String)
    store_id: Mapped[str] = mapped_column(String)
    order_id: Mapped[str] = mapped_column(String)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (UniqueConstraint("source", "store_id", "order_id", "scan_id", name="uq_open_orders_key"),
                      Index("ix_open_orders_created", "created_at"))


class QuarantinedRow(Base):
    """A source row that could not be accepted, kept verbatim with the reason."""

    __tablename__ = "quarantined_rows"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    source_file: Mapped[str | None] = mapped_column(String)
    line: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[str | None] = mapped_column(Text)
    # sha256 of (file name, line, raw): a re-scanned row is kept once, under the latest scan
    row_key: Mapped[str | None] = mapped_column(String(64))
    store_id: Mapped[str | None] = mapped_column(String)   # when the raw row names one

    __table_args__ = (Index("ix_quarantined_rows_scan_id", "scan_id"),
                      Index("ux_quarantined_rows_key", "row_key", unique=True))


# the other tables, importable from here as before (one metadata: ``Base.metadata``)
from store.models_alerts import JobLease, JobState, Notification, Silence  # noqa: E402
from store.models_people import ROLES, ApiToken, LoginAttempt, SavedFilter, User  # noqa: E402

__all__ = ["ApiToken", "Base", "BigId", "FlagEvent", "Flag", "Finding", "JobLease", "JobState", "LEVELS",
           "LEVEL_RANK", "LoginAttempt", "Notification", "OpenOrder", "OrderLine", "QuarantinedRow", "ROLES",
           "SCAN_STATUSES", "SavedFilter", "Scan", "Silence", "UNNOTIFIED", "User", "utcnow"]
