"""Reasons of ``amount_spike``: an order against the store's median order and its big orders
(its high percentile), or against the platform's median for a store without enough history."""

from __future__ import annotations

from typing import Any

import polars as pl

from i18n import N_

TEMPLATES = {
    # with the store's big orders (since issue 8): the two figures the rule judges by
    "store_high.critical": N_("Order {order_id} of store {store_id} is {order_amount:money}, {amount_ratio:ratio} "
                              "times the store's median order of {baseline_amount:money} and {high_ratio:ratio} "
                              "times its big orders of {store_high:money} — far above its history."),
    "store_high.warn": N_("Order {order_id} of store {store_id} is {order_amount:money}, {amount_ratio:ratio} "
                          "times the store's median order of {baseline_amount:money} and {high_ratio:ratio} "
                          "times its big orders of {store_high:money}."),
    # flags stored before issue 8 carry the median only
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
                                    "store_high", "high_ratio", "amount_z", "history_orders", "platform_amount",
                                    "platform_ratio", "platform_high", "platform_high_ratio")}
    if row.get("baseline_amount") is None:
        return "platform", args
    kind = "store_high" if row.get("store_high") is not None else "store"
    return f"{kind}.{'critical' if level == 'critical' else 'warn'}", args


def exprs(c, params: dict[str, Any]):  # noqa: ANN001, ANN201 - rules.reasons.vector.Cols; (key, figures, present)
    """:func:`choose` as expressions (``rules.reasons.vector``)."""
    args = {k: c(k) for k in ("order_id", "store_id", "order_amount", "amount_ratio", "baseline_amount",
                              "store_high", "high_ratio", "amount_z", "history_orders", "platform_amount",
                              "platform_ratio", "platform_high", "platform_high_ratio")}
    level = pl.when(pl.col("level") == "critical").then(pl.lit("critical")).otherwise(pl.lit("warn"))
    kind = pl.when(c.null("store_high")).then(pl.lit("store.")).otherwise(pl.lit("store_high."))
    key = pl.when(c.null("baseline_amount")).then(pl.lit("platform")).otherwise(pl.concat_str([kind, level]))
    return key, args, {}
