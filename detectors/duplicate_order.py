"""duplicate_order: the same store placing the same lines again minutes later under a new number.

An order's signature is its multiset of (sku, quantity) (a sum of line hashes).  Within a store, an order
whose signature equals the previous order's and that was created within ``window_minutes``
of it is a probable double entry (a store clicking twice, or re-keying a slow order).
History is included, so a duplicate of an order scanned yesterday is still caught.  When the
export names the buyer (``buyer_id``), two different buyers' orders are never duplicates: a
shop's customers buy the same bestseller at the same minute all the time.  Needs the SKU (or
product name): without knowing what was ordered, every order of a store would look alike.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import polars as pl

from detectors.base import DetectContext, Detector
from detectors.common import order_subject

FEATURES = {
    "minutes_since_previous": "距上一笔相同订单的分钟数",
    "previous_order_id": "上一笔相同订单号",
    "line_count": "订单行数",
    "order_qty": "订单总数量",
}
PARAMS: dict[str, Any] = {"window_minutes": 60}


def _compute(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    window = float(p["window_minutes"])
    orders = (
        ctx.orders.filter(pl.col("n_active") > 0)
        .with_columns(pl.col("n_active").alias("line_count"), pl.col("active_qty").alias("order_qty"))
        .with_columns(pl.col("buyer_id").fill_null("").alias("_buyer"))
        .sort("store_id", "_buyer", "_sig", "created_at", "order_id")
        .with_columns(
            pl.col("created_at").shift(1).over("store_id", "_buyer", "_sig").alias("_prev_at"),
            pl.col("order_id").shift(1).over("store_id", "_buyer", "_sig").alias("previous_order_id"),
        )
    )
    minutes = (pl.col("created_at") - pl.col("_prev_at")).dt.total_seconds() / 60.0
    return (
        orders.filter(pl.col("_in_batch") & pl.col("_prev_at").is_not_null())
        .with_columns(minutes.alias("minutes_since_previous"))
        .filter(pl.col("minutes_since_previous") <= window)
        .select(
            order_subject().alias("subject"), "store_id", "store_name", "order_id",
            pl.col("created_at").alias("occurred_at"), *FEATURES,
        )
    )


DETECTOR = Detector(
    name="duplicate_order",
    title_zh="疑似重复下单",
    params=PARAMS,
    features=lambda p: FEATURES,
    grain=lambda p: "order",
    compute=_compute,
    reason_zh=lambda p: ("订单{order_id}与{minutes_since_previous:.0f}分钟前的订单{previous_order_id}"
                         "商品和数量完全相同（{line_count}行，共{order_qty:g}件），疑似重复下单"),
    needs=lambda p: ("sku",),
    # the earlier order of a pair is at most window_minutes older: a state-mode scan keeps those raw
    recent=lambda p: timedelta(minutes=float(p["window_minutes"])),
    from_state=lambda p, state: True,     # the batch, its store-days and the recent minutes
)
