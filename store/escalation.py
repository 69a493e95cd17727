"""SLA escalation: a flag nobody acknowledged within its department's ``ack_minutes`` rises a
level (info → warn → critical; a critical one stays critical) once, with an audit event.

Only ``open`` flags escalate: one acknowledged, resolved or dismissed before the deadline never
does.  The UPDATE is guarded by the flag's version and ``escalated_at IS NULL``, so two runners
can't escalate the same flag twice.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, insert, or_, select, update

from store.models import LEVELS, Flag, FlagEvent

F = Flag.__table__


def escalate(engine: Engine, ack_minutes: dict[str, int], now: datetime,
             actor: str = "orderwatch:escalation") -> list[dict[str, Any]]:
    """Escalate every overdue open flag; returns them (after the change). ``now`` is naive UTC."""
    if not ack_minutes:
        return []
    overdue = or_(*[and_(F.c.department == dept, F.c.created_at < now - timedelta(minutes=int(minutes)))
                    for dept, minutes in ack_minutes.items()])
    out: list[dict[str, Any]] = []
    with engine.begin() as conn:
        rows = conn.execute(select(F).where(F.c.status == "open", F.c.escalated_at.is_(None), overdue)
                            .order_by(F.c.id)).mappings().all()
        for row in rows:
            old = row["level"]
            new = LEVELS[min(LEVELS.index(old) + 1, len(LEVELS) - 1)]
            res = conn.execute(update(F).where(F.c.id == row["id"], F.c.version == row["version"],
                                               F.c.escalated_at.is_(None), F.c.status == "open")
                               .values(level=new, severity=LEVELS.index(new) + 1, escalated_at=now,
                                       version=F.c.version + 1, updated_at=now))
            if res.rowcount != 1:
                continue  # someone acted on it meanwhile
            minutes = ack_minutes[row["department"]]
            conn.execute(insert(FlagEvent), {
                "flag_id": row["id"], "at": now, "actor": actor, "action": "escalated",
                "from_status": "open", "to_status": "open", "from_level": old, "to_level": new,
                "note": f"{minutes} 分钟内未确认 (not acknowledged within {minutes} min)",
            })
            out.append({**row, "level": new, "escalated_at": now, "version": row["version"] + 1,
                        "from_level": old})
    return out
