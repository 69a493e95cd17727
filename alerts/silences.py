"""Silences: label matchers and a time window in which matching flags are not sent.

A silenced flag still exists (queue, dashboard, audit trail); it just isn't notified, and it is
picked up by the next planning run once the silence ends or is expired.  Times are naive UTC,
like every audit time (see ``store.models.utcnow``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, insert, select, update

from alerts.labels import LABEL_NAMES
from store.models import Silence, utcnow


class SilenceError(ValueError):
    """A silence can't be created or changed as asked (the message says why)."""


def _validate_matchers(matchers: Mapping[str, Any]) -> dict[str, str]:
    if not isinstance(matchers, Mapping) or not matchers:
        raise SilenceError("a silence needs at least one matcher (label=value)")
    out = {}
    for k, v in matchers.items():
        if k not in LABEL_NAMES:
            raise SilenceError(f"unknown label {k!r} in matcher (labels: {', '.join(LABEL_NAMES)})")
        if v is None or isinstance(v, (dict, list)):
            raise SilenceError(f"matcher {k}: expected a single value, got {v!r}")
        out[str(k)] = str(v)
    return out


def add(engine: Engine, matchers: Mapping[str, Any], starts_at: datetime, ends_at: datetime,
        created_by: str, comment: str, *, now: datetime | None = None) -> int:
    """Create a silence; returns its id.  Comment and creator are required; ends after starts."""
    m = _validate_matchers(matchers)
    if not created_by or not str(created_by).strip():
        raise SilenceError("a silence needs its creator (--by)")
    if not comment or not str(comment).strip():
        raise SilenceError("a silence needs a comment saying why")
    if not isinstance(starts_at, datetime) or not isinstance(ends_at, datetime):
        raise SilenceError("starts_at and ends_at must be datetimes")
    if ends_at <= starts_at:
        raise SilenceError(f"a silence must end after it starts ({ends_at:%Y-%m-%d %H:%M} <= {starts_at:%Y-%m-%d %H:%M})")
    t = Silence.__table__
    with engine.begin() as conn:
        return int(conn.execute(insert(t).returning(t.c.id), {
            "matchers": m, "starts_at": starts_at, "ends_at": ends_at, "created_by": str(created_by).strip(),
            "comment": str(comment).strip(), "created_at": now or utcnow()}).scalar_one())


def list_active(engine: Engine, now: datetime) -> list[dict[str, Any]]:
    """Silences in effect at ``now`` (starts_at <= now < ends_at), oldest first."""
    t = Silence.__table__
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            select(t).where(t.c.starts_at <= now, t.c.ends_at > now).order_by(t.c.id)).mappings()]


def list_all(engine: Engine, now: datetime | None = None, include_expired: bool = True) -> list[dict[str, Any]]:
    """Every silence (or the current and future ones), newest first."""
    t = Silence.__table__
    stmt = select(t).order_by(t.c.id.desc())
    if not include_expired and now is not None:
        stmt = stmt.where(t.c.ends_at > now)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(stmt).mappings()]


def expire(engine: Engine, silence_id: int, now: datetime) -> bool:
    """End a silence at ``now``; False if it had already ended.  Unknown id: SilenceError."""
    t = Silence.__table__
    with engine.begin() as conn:
        row = conn.execute(select(t.c.starts_at, t.c.ends_at).where(t.c.id == silence_id)).first()
        if row is None:
            raise SilenceError(f"no silence {silence_id}")
        if row.ends_at <= now:
            return False
        values: dict[str, Any] = {"ends_at": now}
        if row.starts_at > now:          # not started yet: the window collapses to nothing
            values["starts_at"] = now
        conn.execute(update(t).where(t.c.id == silence_id).values(**values))
    return True


def _get(s: Any, key: str) -> Any:
    return s[key] if isinstance(s, Mapping) else getattr(s, key)


def matching(labels: Mapping[str, str], silences: Iterable[Any], now: datetime) -> list[Any]:
    """The silences (rows or dicts) in effect at ``now`` whose every matcher equals the label."""
    out = []
    for s in silences:
        if not (_get(s, "starts_at") <= now < _get(s, "ends_at")):
            continue
        m = _get(s, "matchers") or {}
        if m and all(labels.get(k, "") == str(v) for k, v in m.items()):
            out.append(s)
    return out


def is_silenced(labels: Mapping[str, str], silences: Iterable[Any], now: datetime) -> bool:
    """True when a silence in effect at ``now`` matches these labels."""
    return bool(matching(labels, silences, now))
