"""The acknowledgement clock of a flag: an open flag must be acknowledged within its
department's ``ack_minutes`` (config.yaml), or the escalation job raises it a level."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _

from i18n.formats import duration


def clock(flag: dict[str, Any], ack_minutes: dict[str, int], now: datetime, lang: str) -> dict[str, Any]:
    """``{"state": "left"|"overdue"|"none", "text": ..., "minutes": ...}`` for one flag row."""
    if flag.get("status") != "open" or flag.get("created_at") is None:
        return {"state": "none", "text": "", "minutes": None}
    deadline = flag["created_at"] + timedelta(minutes=int(ack_minutes.get(flag["department"], 240)))
    left = deadline - now
    minutes = int(left.total_seconds() // 60)
    if left.total_seconds() >= 0:
        return {"state": "left", "minutes": minutes, "text": _("%(time)s left", time=duration(left, lang))}
    return {"state": "overdue", "minutes": minutes, "text": _("%(time)s overdue", time=duration(left, lang))}


def ack_minutes(departments: dict[str, dict[str, Any]]) -> dict[str, int]:
    return {k: int(v.get("ack_minutes", 240)) for k, v in departments.items()}
