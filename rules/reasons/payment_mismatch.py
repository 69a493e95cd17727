"""Reasons of ``payment_mismatch``: paid more or less than the order total."""

from __future__ import annotations

from typing import Any

import polars as pl

from i18n import N_

TEMPLATES = {
    "underpaid": N_("Order {order_id}: {paid_amount:money} paid against an order total of {order_amount:money}, "
                    "{abs_gap:money} short ({gap_pct:pct} of the total)."),
    "overpaid": N_("Order {order_id}: {paid_amount:money} paid against an order total of {order_amount:money}, "
                   "{abs_gap:money} too much ({gap_pct:pct} of the total)."),
}


def choose(row: dict[str, Any], level: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    args = {k: row.get(k) for k in ("order_id", "paid_amount", "order_amount", "abs_gap", "gap_pct")}
    return ("overpaid" if (row.get("paid_gap") or 0) > 0 else "underpaid"), args


def exprs(c, params: dict[str, Any]):  # noqa: ANN001, ANN201 - rules.reasons.vector.Cols; (key, figures, present)
    """:func:`choose` as expressions (``rules.reasons.vector``)."""
    args = {k: c(k) for k in ("order_id", "paid_amount", "order_amount", "abs_gap", "gap_pct")}
    return pl.when(c.or0("paid_gap", ">", 0)).then(pl.lit("overpaid")).otherwise(pl.lit("underpaid")), args, {}
