"""Reasons of ``delivery_overdue``: shipped and not delivered past the limit, or delivered late."""

from __future__ import annotations

from typing import Any

from i18n import N_

TEMPLATES = {
    "in_transit": N_("Order {order_id} was shipped {hours_in_transit:hours} hours ago and is not delivered; "
                     "the limit is {sla_hours} hours ({overdue_hours:hours} hours over)."),
    "late": N_("Order {order_id} was delivered {hours_in_transit:hours} hours after shipping, "
               "{overdue_hours:hours} hours past the limit of {sla_hours} hours."),
}


def choose(row: dict[str, Any], level: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    args = {k: row.get(k) for k in ("order_id", "hours_in_transit", "sla_hours", "overdue_hours")}
    return ("late" if row.get("delivered") == 1 else "in_transit"), args
