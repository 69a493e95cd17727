"""Reasons of ``amount_spike``: an order against the store's median order, or against the
platform's for a store without enough history."""

from __future__ import annotations

from typing import Any

from i18n import N_

TEMPLATES = {
    "store.critical": N_("Order {order_id} of store {store_id} is {order_amount:money}, {amount_ratio:ratio} times "
                         "the store's median order of {baseline_amount:money} — far above its history."),
    "store.warn": N_("Order {order_id} of store {store_id} is {order_amount:money}, {amount_ratio:ratio} times "
                     "the store's median order of {baseline_amount:money}."),
    "platform": N_("Order {order_id} of store {store_id} is {order_amount:money}; the store has only "
                   "{history_orders} earlier orders, so against the platform's median order of "
                   "{platform_amount:money} it is {platform_ratio:ratio} times."),
}


def choose(row: dict[str, Any], level: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    args = {k: row.get(k) for k in ("order_id", "store_id", "order_amount", "amount_ratio", "baseline_amount",
                                    "history_orders", "platform_amount", "platform_ratio")}
    if row.get("baseline_amount") is None:
        return "platform", args
    return ("store.critical" if level == "critical" else "store.warn"), args
