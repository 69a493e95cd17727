"""delivery_overdue: shipped but not delivered within ``sla.delivery_hours``.

Judged against its file's clock like stale picking, so a parcel that never arrives becomes
overdue as time passes; one delivered late is reported too.  Needs a shipping time and
something that tells delivery (a delivery time or a status column); an order whose state is
done, or delivered though the file gives no time for it, is not judged.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from detectors.base import DetectContext, Detector
from contracts.schema import DONE_STATES, STATE_RANK
from detectors.common import order_subject

FEATURES = {
    "hours_in_transit": "自发货起的小时数",
    "sla_hours": "配送时限（小时）",
    "overdue_hours": "超出时限的小时数",
    "delivered": "已签收（1 是 / 0 否）",
}
PARAMS: dict[str, Any] = {"hours": 0.0}  # 0 = config.yaml sla.delivery_hours


def _compute(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    sla = float(p["hours"]) or ctx.config.delivery_sla_hours
    rank = pl.col("state").replace_strict(STATE_RANK, default=None, return_dtype=pl.Int8)
    orders = ctx.lines.filter(pl.col("_in_batch") & pl.col("active")).group_by("_okey").agg(
        pl.col("source", "store_id", "order_id", "store_name", "source_file").first(),
        pl.col("created_at").min(),
        pl.col("shipped_at").min().alias("_shipped"),
        pl.col("delivered_at").min().alias("_delivered"),
        pl.col("state").is_in(DONE_STATES).fill_null(False).all().alias("_done"),
        rank.max().alias("_rank"),
    ).with_columns(ctx.clock().alias("_clock"))
    delivered_untimed = (pl.col("_rank") >= STATE_RANK["delivered"]).fill_null(False) & pl.col("_delivered").is_null()
    end = pl.coalesce(pl.col("_delivered"), pl.col("_clock"))
    hours = (end - pl.col("_shipped")).dt.total_seconds() / 3600.0
    return (
        orders.filter(pl.col("_shipped").is_not_null() & (pl.col("_shipped") <= pl.col("_clock"))
                      & ~pl.col("_done") & ~delivered_untimed)
        .with_columns(hours.alias("hours_in_transit"))
        .select(
            order_subject().alias("subject"), "store_id", "store_name", "order_id",
            pl.col("created_at").alias("occurred_at"), "hours_in_transit",
            pl.lit(sla).alias("sla_hours"), (pl.col("hours_in_transit") - sla).alias("overdue_hours"),
            pl.col("_delivered").is_not_null().cast(pl.Int8).alias("delivered"),
        )
    )


DETECTOR = Detector(
    name="delivery_overdue",
    title_zh="配送超时",
    params=PARAMS,
    features=lambda p: FEATURES,
    grain=lambda p: "order",
    compute=_compute,
    reason_zh=lambda p: ("订单{order_id}发货后已{hours_in_transit:.1f}小时（时限{sla_hours:g}小时，"
                         "超出{overdue_hours:.1f}小时），已签收={delivered}"),
    time_based=True,
    needs=lambda p: ("shipped_at", ("delivered_at", "status")),
)
