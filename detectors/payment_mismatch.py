"""payment_mismatch: an online payment whose paid amount is off the order total.

Only orders paid online (a payment method that isn't cash on delivery) with a paid amount
are judged; the total is the order amount, else the sum of its lines.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from detectors.base import DetectContext, Detector
from detectors.common import order_subject

FEATURES = {
    "order_amount": "订单金额",
    "paid_amount": "实付金额",
    "paid_gap": "实付 - 订单金额",
    "abs_gap": "差额绝对值",
    "gap_pct": "差额占订单金额的百分比",
}
PARAMS: dict[str, Any] = {}


def _compute(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    orders = ctx.orders.filter(
        pl.col("_in_batch") & (pl.col("n_active") > 0) & pl.col("payment_method").is_not_null()
        & ~pl.col("is_cod") & pl.col("paid_amount").is_not_null()
    )
    gap = pl.col("paid_amount") - pl.col("order_value")
    return orders.select(
        order_subject().alias("subject"), "store_id", "store_name", "order_id",
        pl.col("created_at").alias("occurred_at"),
        pl.col("order_value").alias("order_amount"), "paid_amount",
        gap.alias("paid_gap"), gap.abs().alias("abs_gap"),
        (gap.abs() / pl.col("order_value").abs() * 100.0).alias("gap_pct"),
    )


DETECTOR = Detector(
    name="payment_mismatch",
    title_zh="实付金额与订单金额不符",
    params=PARAMS,
    features=lambda p: FEATURES,
    grain=lambda p: "order",
    compute=_compute,
    reason_zh=lambda p: ("订单{order_id}订单金额{order_amount:,.2f}，实付{paid_amount:,.2f}，"
                         "差额{paid_gap:+,.2f}（{gap_pct:.1f}%）"),
    needs=lambda p: ("paid_amount", "payment_method", ("order_amount", "line_amount", "unit_price")),
    from_state=lambda p, state: True,     # the batch's own orders only
)
