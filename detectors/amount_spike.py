"""amount_spike: an order's amount far above the store's own history.

The store's baseline is the median amount of its previous ``window`` orders (at least
``min_history`` of them).  A store with no history is still compared with the platform's
median order amount, so a first order of a fortune is not waved through.  What a
cash-on-delivery order may reach is a limit per store (``detectors.credit_limit``), not here.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from detectors.base import DetectContext, Detector
from detectors.common import order_subject

FEATURES = {
    "order_amount": "订单金额",
    "baseline_amount": "门店历史订单金额中位数",
    "amount_ratio": "订单金额 / 门店基线",
    "history_orders": "基线所用历史订单数",
    "platform_amount": "全平台订单金额中位数",
    "platform_ratio": "订单金额 / 全平台中位数",
    "comparison": "与基线比较的文字说明",
}
PARAMS: dict[str, Any] = {"window": 30, "min_history": 5}


def _compute(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    w, min_h = int(p["window"]), int(p["min_history"])
    orders = (
        ctx.orders.filter(pl.col("n_active") > 0)
        .with_columns(pl.col("order_value").alias("order_amount"))
        .sort("store_id", "created_at", "order_id")
        .with_columns(pl.col("order_amount").shift(1).over("store_id").alias("_prev"))
        .with_columns(
            pl.col("_prev").rolling_median(w, min_samples=min_h).over("store_id").alias("baseline_amount"),
            pl.int_range(pl.len()).over("store_id").clip(upper_bound=w).alias("history_orders"),
        )
        .join(ctx.platform("order_amount", lambda c: c.orders.filter(pl.col("n_active") > 0)
                           .select(pl.col("order_value").median().alias("platform_amount"))), how="cross")
    )
    store_part = pl.format("是门店历史中位数{}的{}倍", pl.col("baseline_amount").round(2),
                           (pl.col("order_amount") / pl.col("baseline_amount")).round(1))
    platform_part = pl.format("全平台订单金额中位数{}的{}倍", pl.col("platform_amount").round(2),
                              (pl.col("order_amount") / pl.col("platform_amount")).round(1))
    comparison = (
        pl.when(pl.col("baseline_amount").is_not_null())
        .then(pl.concat_str([store_part, platform_part], separator="，"))
        .otherwise(pl.concat_str([pl.lit("门店历史不足"), platform_part], separator="，"))
    )
    return orders.filter(pl.col("_in_batch")).select(
        order_subject().alias("subject"), "store_id", "store_name", "order_id",
        pl.col("created_at").alias("occurred_at"),
        "order_amount", "baseline_amount",
        (pl.col("order_amount") / pl.col("baseline_amount")).alias("amount_ratio"),
        "history_orders", "platform_amount",
        (pl.col("order_amount") / pl.col("platform_amount")).alias("platform_ratio"),
        comparison.alias("comparison"),
    )


DETECTOR = Detector(
    name="amount_spike",
    title_zh="订单金额异常",
    params=PARAMS,
    features=lambda p: FEATURES,
    grain=lambda p: "order",
    compute=_compute,
    reason_zh=lambda p: "门店{store_id}订单{order_id}金额{order_amount:,.2f}，{comparison}",
    needs=lambda p: (("order_amount", "line_amount", "unit_price"),),
)
