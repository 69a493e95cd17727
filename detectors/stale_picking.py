"""stale_picking: confirmed (or paid) but not picked within the SLA for its goods class.

Judged against its file's clock (now, ``--as-of``, or a backfill's newest event), so an order
with no pick time becomes stale as time passes without any new data; an order picked late is
reported too.  The SLA comes from ``config.yaml`` (``sla.picking_hours``: normal 4 h, fresh
shorter); an order is fresh when any of its lines is a fresh SKU in the catalog.

Needs a start (confirmation or payment time) and something that tells fulfilment (a picking,
shipping or delivery time, or a status column).  An order whose state says it is done
(completed, cancelled, closed, returned, refunded), or that it was picked though the file
gives no time for it, is not judged: nothing is waiting for the picker.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from detectors.base import DetectContext, Detector
from contracts.schema import STATE_RANK
from detectors.common import order_subject

FEATURES = {
    "hours_waiting": "自确认（或支付）起等待拣货的小时数",
    "sla_hours": "拣货时限（小时）",
    "overdue_hours": "超出时限的小时数",
    "overdue_ratio": "等待时长 / 时限",
    "picked": "已拣货（1 是 / 0 否）",
    "fresh": "生鲜订单（1 是 / 0 否）",
}
PARAMS: dict[str, Any] = {"normal_hours": 0.0, "fresh_hours": 0.0}  # 0 = use config.yaml sla


def _compute(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    sla = ctx.config.picking_sla_hours
    normal = float(p["normal_hours"]) or sla.get("normal", 4.0)
    fresh_h = float(p["fresh_hours"]) or sla.get("fresh", normal)
    picked_untimed = (pl.col("_rank") >= STATE_RANK["picked"]).fill_null(False) & pl.col("_picked").is_null()
    orders = (ctx.orders.filter(pl.col("_in_batch") & (pl.col("n_active") > 0) & ~pl.col("_done") & ~picked_untimed)
              .rename({"_fresh": "_is_fresh"}).with_columns(ctx.clock().alias("_clock")))
    end = pl.coalesce(pl.col("_picked"), pl.col("_clock"))
    hours = (end - pl.col("_start")).dt.total_seconds() / 3600.0
    sla_h = pl.when(pl.col("_is_fresh")).then(pl.lit(fresh_h)).otherwise(pl.lit(normal))
    return (
        orders.filter(pl.col("_start").is_not_null() & (pl.col("_start") <= pl.col("_clock")))
        .with_columns(hours.alias("hours_waiting"), sla_h.alias("sla_hours"))
        .select(
            order_subject().alias("subject"), "store_id", "store_name", "order_id",
            pl.col("created_at").alias("occurred_at"),
            "hours_waiting", "sla_hours",
            (pl.col("hours_waiting") - pl.col("sla_hours")).alias("overdue_hours"),
            (pl.col("hours_waiting") / pl.col("sla_hours")).alias("overdue_ratio"),
            pl.col("_picked").is_not_null().cast(pl.Int8).alias("picked"),
            pl.col("_is_fresh").cast(pl.Int8).alias("fresh"),
        )
    )


DETECTOR = Detector(
    name="stale_picking",
    title_zh="拣货超时",
    params=PARAMS,
    features=lambda p: FEATURES,
    grain=lambda p: "order",
    compute=_compute,
    reason_zh=lambda p: ("订单{order_id}确认后已等待{hours_waiting:.1f}小时（时限{sla_hours:g}小时，"
                         "超出{overdue_hours:.1f}小时），已拣货={picked}，生鲜={fresh}"),
    time_based=True,
    needs=lambda p: (("confirmed_at", "paid_at"), ("picked_at", "shipped_at", "delivered_at", "status")),
)
