"""Reasons of ``volume_surge``: a store's day against its usual day, a line against the usual
quantity of that product ("an extra zero" only when the ratio has that shape)."""

from __future__ import annotations

from typing import Any

from i18n import N_
from rules.reasons import near_power_of_ten

TEMPLATES = {
    "line.extra_zero": N_("Order {order_id}: {quantity} of product {sku}, {qty_ratio:ratio} times "
                          "{basis:baseline} of {usual_qty} — it looks like a zero too many was typed."),
    "line.critical": N_("Order {order_id}: {quantity} of product {sku}, {qty_ratio:ratio} times "
                        "{basis:baseline} of {usual_qty} — far beyond a normal order; check with the store "
                        "before it is picked."),
    "line.warn": N_("Order {order_id}: {quantity} of product {sku}, {qty_ratio:ratio} times "
                    "{basis:baseline} of {usual_qty}."),
    "day.critical": N_("Store {store_id} ordered {day_qty} units on {day:day} ({day_lines} lines), "
                       "{qty_ratio:ratio} times its usual day of {baseline_qty} — far above its own rhythm."),
    "day.warn": N_("Store {store_id} ordered {day_qty} units on {day:day} ({day_lines} lines), "
                   "{qty_ratio:ratio} times its usual day of {baseline_qty}."),
    "day.promo": N_("Store {store_id} ordered {day_qty} units on {day:day} ({day_lines} lines), "
                    "{qty_ratio:ratio} times its usual day of {baseline_qty}; all stores ordered "
                    "{platform_factor:ratio} times their usual that day, so net of that it is "
                    "{adj_ratio:ratio} times."),
}


def choose(row: dict[str, Any], level: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if params.get("scope") == "day":
        factor = row.get("platform_factor")
        args = {k: row.get(k) for k in ("store_id", "day_qty", "day_lines", "qty_ratio", "baseline_qty",
                                        "platform_factor", "adj_ratio")}
        args["day"] = row.get("occurred_at")
        if factor is not None and abs(factor - 1) >= 0.2:
            return "day.promo", args
        return ("day.critical" if level == "critical" else "day.warn"), args
    args = {k: row.get(k) for k in ("order_id", "sku", "quantity", "qty_ratio", "usual_qty")}
    args["basis"] = row.get("baseline")
    if near_power_of_ten(row.get("qty_ratio")):
        return "line.extra_zero", args
    return ("line.critical" if level == "critical" else "line.warn"), args
