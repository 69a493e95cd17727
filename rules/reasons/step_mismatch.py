"""Reasons of ``step_mismatch``: a quantity off the order step, under the minimum, or both."""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from i18n import N_

TEMPLATES = {
    "off_step": N_("Order {order_id}: {quantity} of product {sku} is not a whole number of its order step of "
                   "{order_step}[[ (the nearest are {lower} and {upper})]]."),
    "under_min": N_("Order {order_id}: {quantity} of product {sku} is below its minimum order of "
                    "{min_order_qty}."),
    "both": N_("Order {order_id}: {quantity} of product {sku} is below its minimum order of {min_order_qty} "
               "and not a whole number of its order step of {order_step}."),
}


def choose(row: dict[str, Any], level: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    args = {k: row.get(k) for k in ("order_id", "sku", "quantity", "order_step", "min_order_qty")}
    off, under = row.get("off_step") == 1, row.get("under_min") == 1
    step, qty = row.get("order_step"), row.get("quantity")
    if step and qty is not None and step > 0:
        args["lower"] = math.floor(qty / step) * step
        args["upper"] = args["lower"] + step
    if off and under:
        return "both", args
    return ("under_min" if under else "off_step"), args


def exprs(c, params: dict[str, Any]):  # noqa: ANN001, ANN201 - rules.reasons.vector.Cols; (key, figures, present)
    """:func:`choose` as expressions (``rules.reasons.vector``)."""
    args = {k: c(k) for k in ("order_id", "sku", "quantity", "order_step", "min_order_qty")}
    step, qty = c("order_step"), c("quantity")
    lower = (qty / step).floor() * step
    args["lower"], args["upper"] = lower, lower + step
    there = c.or0("order_step", ">", 0) & ~c.null("quantity")
    off, under = c.eq("off_step", 1), c.eq("under_min", 1)
    key = pl.when(off & under).then(pl.lit("both")).when(under).then(pl.lit("under_min")).otherwise(pl.lit("off_step"))
    return key, args, {"lower": there, "upper": there}
