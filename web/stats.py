"""Dashboard figures: flags per day by occurrence time, backlog and overdue per department
against its acknowledgement SLA, top stores, and per-rule rates with their counts and a 95 %
Wilson interval ("too few" below ``MIN_RESOLUTIONS``, where a rate says nothing yet).
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select

from store.lifecycle import CLOSED
from store.models import Flag, utcnow
from store.users import Principal
from web.access import flag_scope

F = Flag.__table__
MIN_RESOLUTIONS = 5
Z95 = 1.959964


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """95 % Wilson score interval of a proportion (sound for small n and for 0 % or 100 %)."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def _period(start: date, end: date) -> list[Any]:
    return [F.c.occurred_at >= datetime.combine(start, datetime.min.time()),
            F.c.occurred_at < datetime.combine(end + timedelta(days=1), datetime.min.time())]


def latest_occurrence(engine: Engine, p: Principal) -> date | None:
    with engine.connect() as conn:
        v = conn.execute(select(func.max(F.c.occurred_at)).where(flag_scope(p))).scalar()
    if v is None:
        return None
    return v.date() if isinstance(v, datetime) else datetime.fromisoformat(str(v)).date()


def flags_per_day(engine: Engine, p: Principal, start: date, end: date) -> list[tuple[date, str, int]]:
    """(day of occurrence, kind, flags) within [start, end]."""
    day = func.date(F.c.occurred_at)
    stmt = (select(day, F.c.kind, func.count()).where(flag_scope(p), *_period(start, end))
            .group_by(day, F.c.kind).order_by(day))
    with engine.connect() as conn:
        return [(d if isinstance(d, date) else date.fromisoformat(str(d)), kind, n)
                for d, kind, n in conn.execute(stmt)]


def backlog(engine: Engine, p: Principal, ack_minutes: dict[str, int]) -> list[dict[str, Any]]:
    """Per department: open, acknowledged, open past the department's acknowledgement SLA, and
    the age of the oldest open flag."""
    now = utcnow()
    out: dict[str, dict[str, Any]] = {}
    with engine.connect() as conn:
        rows = conn.execute(select(F.c.department, F.c.status, func.count(), func.min(F.c.created_at))
                            .where(flag_scope(p), F.c.status.in_(("open", "acknowledged")))
                            .group_by(F.c.department, F.c.status)).all()
        for dept, status, n, oldest in rows:
            d = out.setdefault(dept, {"department": dept, "open": 0, "acknowledged": 0, "overdue": 0,
                                      "oldest_open": None, "sla_minutes": int(ack_minutes.get(dept, 240))})
            d[status] = n
            if status == "open":
                d["oldest_open"] = now - oldest if isinstance(oldest, datetime) else None
        for dept, d in out.items():
            limit = now - timedelta(minutes=d["sla_minutes"])
            d["overdue"] = conn.execute(select(func.count()).where(
                flag_scope(p), F.c.department == dept, F.c.status == "open", F.c.created_at < limit)).scalar_one()
    return sorted(out.values(), key=lambda d: d["department"])


def top_stores(engine: Engine, p: Principal, start: date, end: date, limit: int = 10) -> list[tuple]:
    """Stores with the most flags that occurred in the period: (store, name, flags, still active)."""
    active = F.c.status.in_(("open", "acknowledged"))
    stmt = (select(F.c.store_id, func.max(F.c.store_name), func.count(), func.count().filter(active))
            .where(flag_scope(p), F.c.store_id.is_not(None), *_period(start, end)).group_by(F.c.store_id)
            .order_by(func.count().desc(), F.c.store_id).limit(limit))
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(stmt)]


def rule_stats(engine: Engine, p: Principal, start: date | None = None, end: date | None = None
               ) -> dict[str, dict[str, Any]]:
    """Per rule: hits, resolutions, false positives, the false-positive rate among resolutions
    with its 95 % interval, and whether there are too few resolutions to judge."""
    closed = F.c.status.in_(CLOSED)
    fp = F.c.resolution == "false_positive"
    cond = [flag_scope(p)] + (_period(start, end) if start and end else [])
    stmt = (select(F.c.rule_id, func.count(), func.count().filter(closed & F.c.resolution.is_not(None)),
                   func.count().filter(fp)).where(*cond).group_by(F.c.rule_id))
    out = {}
    with engine.connect() as conn:
        for rule_id, hits, resolved, fps in conn.execute(stmt):
            out[rule_id] = {"hits": hits, "resolved": resolved, "false_positives": fps,
                            "fp_rate": (fps / resolved) if resolved else None,
                            "ci": wilson(fps, resolved), "too_few": resolved < MIN_RESOLUTIONS}
    return out
