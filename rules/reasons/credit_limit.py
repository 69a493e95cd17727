"""Reasons of ``credit_limit``: a cash-on-delivery order above the store's credit limit, or the
store's open cash-on-delivery orders together above it."""

from __future__ import annotations

from typing import Any

import polars as pl

from i18n import N_

TEMPLATES = {
    "order": N_("Order {order_id} of store {store_id} is {order_amount:money} to be paid in cash on delivery, "
                "{over_limit:money} above the store's credit limit of {credit_limit:money}."),
    "order.platform": N_("Order {order_id} of store {store_id} is {order_amount:money} to be paid in cash on "
                         "delivery, {over_limit:money} above the platform's cash-on-delivery limit of "
                         "{credit_limit:money} (the store master gives this store no limit)."),
    "exposure": N_("With order {order_id} ({order_amount:money}), store {store_id} has {open_cod_orders:int} "
                   "cash-on-delivery orders open worth {cod_exposure:money}, {exposure_over:money} above its "
                   "credit limit of {credit_limit:money}."),
    "exposure.platform": N_("With order {order_id} ({order_amount:money}), store {store_id} has "
                            "{open_cod_orders:int} cash-on-delivery orders open worth {cod_exposure:money}, "
                            "{exposure_over:money} above the platform's cash-on-delivery limit of "
                            "{credit_limit:money}."),
}
FALLBACKS = {"exposure": "order", "exposure.platform": "order.platform"}


def choose(row: dict[str, Any], level: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    args = {k: row.get(k) for k in ("order_id", "store_id", "order_amount", "credit_limit", "over_limit",
                                    "cod_exposure", "open_cod_orders", "exposure_over")}
    which = "order" if (row.get("over_limit") or 0) > 0 else "exposure"
    return which + (".platform" if row.get("limit_source") == "platform" else ""), args


def exprs(c, params: dict[str, Any]):  # noqa: ANN001, ANN201 - rules.reasons.vector.Cols; (key, figures, present)
    """:func:`choose` as expressions (``rules.reasons.vector``)."""
    args = {k: c(k) for k in ("order_id", "store_id", "order_amount", "credit_limit", "over_limit",
                              "cod_exposure", "open_cod_orders", "exposure_over")}
    which = pl.when(c.or0("over_limit", ">", 0)).then(pl.lit("order")).otherwise(pl.lit("exposure"))
    source = pl.when(c.eq("limit_source", "platform")).then(pl.lit(".platform")).otherwise(pl.lit(""))
    return pl.concat_str([which, source]), args, {}
