"""Tables of what orderwatch sends and schedules: the notification log, silences, job leases and state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from store.model_base import Base, BigId, utcnow

class Notification(Base):
    """One message to one receiver (a group of flags, a digest, a report, an escalation).

    The notification log: ``dedupe_key`` is unique, so nothing is sent twice; a failed send
    stays ``pending`` with ``attempts``, ``last_error`` and ``next_attempt_at`` (backoff) until
    it goes through.
    """

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    receiver: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))          # firing, resolved, escalation, digest, report
    group_key: Mapped[str | None] = mapped_column(String(255))
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    subject: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    flag_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="pending")   # pending, sent, silenced, dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    # the latest firing message of a routed group: when its repeat interval started (created,
    # then sent); NULL on every other row, so the due groups are one small index range
    repeat_from: Mapped[datetime | None] = mapped_column(DateTime)

    __table_args__ = (Index("ix_notifications_status_next", "status", "next_attempt_at"),
                      Index("ix_notifications_group", "receiver", "group_key", "id"),
                      Index("ix_notifications_repeat", "repeat_from",
                            postgresql_where=text("repeat_from IS NOT NULL"),
                            sqlite_where=text("repeat_from IS NOT NULL")))


class Silence(Base):
    """Matchers (label → value) and a time window in which matching flags are not sent."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    matchers: Mapped[dict[str, Any]] = mapped_column(JSON)
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(128))
    comment: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobLease(Base):
    """Who runs a scheduled job now: one row per job, taken with a conditional UPDATE/INSERT."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class JobState(Base):
    """Small durable state of a job: a pull's watermark, when a job last ran, its last error."""

    __tablename__ = "job_state"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
