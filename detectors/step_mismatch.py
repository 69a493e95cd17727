"""step_mismatch: a quantity that isn't a multiple of the SKU's order step, or under its minimum.

Needs the catalog (order_step, min_order_qty); without one it yields no rows.  Quantities
are compared with a small tolerance so weighed goods (1.5 kg steps) work in floating point.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from detectors.base import DetectContext, Detector
from detectors.common import order_subject

FEATURES = {
    "quantity": "订购数量",
    "order_step": "订货步长（箱规）",
    "min_order_qty": "最小起订量",
    "step_remainder": "数量除以步长的余数",
    "off_step": "不是步长整数倍（1 是 / 0 否）",
    "under_min": "低于最小起订量（1 是 / 0 否）",
}
PARAMS: dict[str, Any] = {"tolerance": 1e-6}


def _compute(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    if ctx.catalog is None:
        return pl.LazyFrame(schema={c: pl.Null for c in ("subject", "store_id", "store_name", "order_id",
                                                          "occurred_at", "sku", "line_no", *FEATURES)})
    tol = float(p["tolerance"])
    cat = ctx.catalog.select("sku", "order_step", "min_order_qty")
    lines = ctx.lines.filter(pl.col("_in_batch") & pl.col("active")).join(cat, on="sku", how="inner")
    step = pl.col("order_step")
    rem = pl.when(step > 0).then(pl.col("quantity") - (pl.col("quantity") / step).floor() * step)
    off = pl.when(step > 0).then(
        ((pl.col("quantity") / step) - (pl.col("quantity") / step).round()).abs() > tol
    ).otherwise(False)
    under = (pl.col("quantity") < pl.col("min_order_qty")).fill_null(False)
    return lines.select(
        order_subject().alias("subject"), "store_id", "store_name", "order_id",
        pl.col("created_at").alias("occurred_at"), "sku", "line_no",
        "quantity", "order_step", "min_order_qty",
        rem.alias("step_remainder"), off.cast(pl.Int8).alias("off_step"), under.cast(pl.Int8).alias("under_min"),
    )


DETECTOR = Detector(
    name="step_mismatch",
    title_zh="订购数量不符合步长/起订量",
    params=PARAMS,
    features=lambda p: FEATURES,
    grain=lambda p: "line",
    compute=_compute,
    reason_zh=lambda p: ("订单{order_id}商品{sku}订购{quantity:g}件，订货步长{order_step:g}、"
                         "最小起订量{min_order_qty:g}：不是步长整数倍={off_step}，低于起订量={under_min}"),
    needs=lambda p: ("sku", "quantity", "catalog"),
    from_state=lambda p, state: True,     # the batch's lines and the catalog only
)
