"""Reasons of ``flag_cluster``: several orders of one store with several kinds of trouble
within the window."""

from __future__ import annotations

from typing import Any

import polars as pl

from i18n import N_

TEMPLATES = {
    "cluster": N_("Store {store_id} had {orders_in_window:int} orders flagged within {window_hours} hours, "
                  "with {kinds_in_window:int} kinds of trouble[[ ({kinds:kinds})]][[, {critical_orders:int} of "
                  "them critical]] — the store may need help with how it orders."),
}


def choose(row: dict[str, Any], level: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    args = {k: row.get(k) for k in ("store_id", "orders_in_window", "window_hours", "kinds_in_window")}
    args["critical_orders"] = row.get("critical_orders") or None      # "0 of them critical" says nothing
    args["kinds"] = [k for k in (row.get("kinds") or "").split("、") if k]
    return "cluster", args


def exprs(c, params: dict[str, Any]):  # noqa: ANN001, ANN201 - rules.reasons.vector.Cols; (key, figures, present)
    """:func:`choose` as expressions (``rules.reasons.vector``)."""
    args = {k: c(k) for k in ("store_id", "orders_in_window", "window_hours", "kinds_in_window")}
    crit = c("critical_orders")
    args["critical_orders"] = pl.when(crit == 0).then(None).otherwise(crit)     # "0 of them critical" says nothing
    args["kinds"] = c("kinds").cast(pl.String).fill_null("").str.split("、").list.eval(
        pl.element().filter(pl.element() != ""))
    return pl.lit("cluster"), args, {}
