"""Reasons of ``cancel_reorder``: an order cancelled and a near-identical one placed soon after."""

from __future__ import annotations

from typing import Any

import polars as pl

from i18n import N_

TEMPLATES = {
    "corrected": N_("Store {store_id} cancelled order {cancelled_order_id} and placed the similar order "
                    "{order_id} {minutes_after_cancel:int} minutes later ({similarity:share} of the products "
                    "in common): a correction by the store, for information only."),
}


def choose(row: dict[str, Any], level: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "corrected", {k: row.get(k) for k in ("store_id", "cancelled_order_id", "order_id",
                                                 "minutes_after_cancel", "similarity")}


def exprs(c, params: dict[str, Any]):  # noqa: ANN001, ANN201 - rules.reasons.vector.Cols; (key, figures, present)
    """:func:`choose` as expressions (``rules.reasons.vector``)."""
    return pl.lit("corrected"), {k: c(k) for k in ("store_id", "cancelled_order_id", "order_id",
                                                   "minutes_after_cancel", "similarity")}, {}
