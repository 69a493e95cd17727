"""cancel_reorder: an order cancelled and a near-identical one placed soon after by the same
store — a store correcting a wrong order.  One informational flag on the new order, instead
of the two alarms the pair would otherwise look like (cancelled orders never count as the
first of a duplicate pair either).

Similarity is the Jaccard index of the two orders' SKU sets.  When the export names buyers,
the two orders must be the same buyer's: one customer cancelling and another ordering the
same bestseller is not a correction.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl

from detectors.base import DetectContext, Detector
from detectors.common import order_subject

FEATURES = {
    "minutes_after_cancel": "距被取消订单的分钟数",
    "cancelled_order_id": "被取消的订单号",
    "similarity": "商品重合度（Jaccard）",
    "line_count": "新订单行数",
}
PARAMS: dict[str, Any] = {"window_minutes": 60}


def _compute(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    window = float(p["window_minutes"])
    cancelled_line = pl.col("state").is_in(["cancelled", "closed"]).fill_null(False)
    orders = ctx.lines.filter(pl.col("goods").fill_null(True)).group_by("_okey").agg(
        pl.col("source", "store_id", "order_id", "store_name").first(),
        pl.col("buyer_id").first().fill_null("").alias("_buyer"),
        pl.col("created_at").min(),
        cancelled_line.all().alias("_cancelled"),
        pl.col("sku").unique().alias("_skus"),
        pl.len().alias("line_count"),
        pl.col("_in_batch").any(),
    )
    cancelled = orders.filter(pl.col("_cancelled")).select(
        "store_id", "_buyer", pl.col("order_id").alias("cancelled_order_id"), pl.col("created_at").alias("_c_at"),
        pl.col("_skus").alias("_c_skus"))
    placed = orders.filter(~pl.col("_cancelled") & pl.col("_in_batch"))
    minutes = (pl.col("created_at") - pl.col("_c_at")).dt.total_seconds() / 60.0
    inter = pl.col("_skus").list.set_intersection(pl.col("_c_skus")).list.len()
    union = pl.col("_skus").list.set_union(pl.col("_c_skus")).list.len()
    return (
        placed.join(cancelled, on=["store_id", "_buyer"], how="inner")
        .with_columns(minutes.alias("minutes_after_cancel"), (inter / union).alias("similarity"))
        .filter((pl.col("minutes_after_cancel") > 0) & (pl.col("minutes_after_cancel") <= window))
        .sort("similarity", descending=True)
        .unique(subset="_okey", keep="first")
        .select(order_subject().alias("subject"), "store_id", "store_name", "order_id",
                pl.col("created_at").alias("occurred_at"), "minutes_after_cancel", "cancelled_order_id",
                "similarity", "line_count")
    )


DETECTOR = Detector(
    name="cancel_reorder",
    title_zh="取消后重新下单（门店更正）",
    params=PARAMS,
    features=lambda p: FEATURES,
    grain=lambda p: "order",
    compute=_compute,
    reason_zh=lambda p: ("门店{store_id}取消订单{cancelled_order_id}后{minutes_after_cancel:.0f}分钟下了相似订单"
                         "{order_id}（商品重合度{similarity:.0%}），视为门店更正，仅作提示"),
    needs=lambda p: ("sku", "status"),
    # the cancelled order is at most window_minutes older: a state-mode scan keeps those raw
    recent=lambda p: timedelta(minutes=float(p["window_minutes"])),
    from_state=lambda p, state: True,     # the batch, its store-days and the recent minutes
)
