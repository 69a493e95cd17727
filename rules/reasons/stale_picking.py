"""Reasons of ``stale_picking``: still not picked past the limit, or picked late."""

from __future__ import annotations

from typing import Any

from i18n import N_

TEMPLATES = {
    "waiting.normal": N_("Order {order_id} has waited {hours_waiting:hours} hours since it was confirmed and is "
                         "not picked; the limit is {sla_hours} hours ({overdue_hours:hours} hours over)."),
    "waiting.fresh": N_("Order {order_id} with fresh goods has waited {hours_waiting:hours} hours since it was "
                        "confirmed and is not picked; the limit for fresh goods is {sla_hours} hours "
                        "({overdue_hours:hours} hours over)."),
    "late.normal": N_("Order {order_id} was picked {hours_waiting:hours} hours after it was confirmed, "
                      "{overdue_hours:hours} hours past the limit of {sla_hours} hours."),
    "late.fresh": N_("Order {order_id} with fresh goods was picked {hours_waiting:hours} hours after it was "
                     "confirmed, {overdue_hours:hours} hours past the fresh-goods limit of {sla_hours} hours."),
}


def choose(row: dict[str, Any], level: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    args = {k: row.get(k) for k in ("order_id", "hours_waiting", "sla_hours", "overdue_hours")}
    state = "late" if row.get("picked") == 1 else "waiting"
    goods = "fresh" if row.get("fresh") == 1 else "normal"
    return f"{state}.{goods}", args
