"""Reasons of ``duplicate_order``: the same products and quantities minutes after another order."""

from __future__ import annotations

from typing import Any

import polars as pl

from i18n import N_

TEMPLATES = {
    "same": N_("Order {order_id} repeats order {previous_order_id} of {minutes_since_previous:int} minutes "
               "earlier: the same {line_count} lines[[, {order_qty} units in all]] — probably entered twice."),
}


def choose(row: dict[str, Any], level: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "same", {k: row.get(k) for k in ("order_id", "previous_order_id", "minutes_since_previous",
                                            "line_count", "order_qty")}


def exprs(c, params: dict[str, Any]):  # noqa: ANN001, ANN201 - rules.reasons.vector.Cols; (key, figures, present)
    """:func:`choose` as expressions (``rules.reasons.vector``)."""
    return pl.lit("same"), {k: c(k) for k in ("order_id", "previous_order_id", "minutes_since_previous",
                                              "line_count", "order_qty")}, {}
