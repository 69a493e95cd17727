"""Reasons of ``price_deviation``: a unit price above or below the catalog (or platform) price."""

from __future__ import annotations

from typing import Any

import polars as pl

from i18n import N_

TEMPLATES = {
    "above": N_("Order {order_id}: product {sku} sold at {unit_price:money}, {abs_deviation_pct:pct} above "
                "the {source:ref_source} of {ref_price:money}."),
    "below": N_("Order {order_id}: product {sku} sold at {unit_price:money}, {abs_deviation_pct:pct} below "
                "the {source:ref_source} of {ref_price:money}."),
}


def choose(row: dict[str, Any], level: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    args = {k: row.get(k) for k in ("order_id", "sku", "unit_price", "abs_deviation_pct", "ref_price")}
    args["source"] = row.get("ref_source")
    return ("above" if (row.get("deviation_pct") or 0) > 0 else "below"), args


def exprs(c, params: dict[str, Any]):  # noqa: ANN001, ANN201 - rules.reasons.vector.Cols; (key, figures, present)
    """:func:`choose` as expressions (``rules.reasons.vector``)."""
    args = {k: c(k) for k in ("order_id", "sku", "unit_price", "abs_deviation_pct", "ref_price")}
    args["source"] = c("ref_source")
    return pl.when(c.or0("deviation_pct", ">", 0)).then(pl.lit("above")).otherwise(pl.lit("below")), args, {}
