"""flag_cluster: a store with several flags within a day — a correlation over flags, not lines.

Input is the recent flags (``DetectContext.flags``), not order lines: for each flag, how many
flags its store had in the ``window_hours`` before it (by business time), over how many kinds.
The store gets one flag per day, the day's largest cluster as evidence; its own kind is never
counted, so clusters don't feed themselves.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from detectors.base import DetectContext, Detector

FEATURES = {
    "flags_in_window": "窗口内该门店的异常数",
    "kinds_in_window": "窗口内的异常类型数",
    "critical_in_window": "窗口内的严重异常数",
    "window_hours": "窗口（小时）",
    "kinds": "异常类型",
}
PARAMS: dict[str, Any] = {"window_hours": 24}
EMPTY = {c: pl.Null for c in ("subject", "store_id", "store_name", "order_id", "occurred_at", *FEATURES)}


def _compute(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    if ctx.flags is None:
        return pl.LazyFrame(schema=EMPTY)
    hours = int(p["window_hours"])
    flags = (ctx.flags.filter((pl.col("kind") != "flag_cluster") & pl.col("store_id").is_not_null()
                              & pl.col("occurred_at").is_not_null())
             .sort("store_id", "occurred_at"))
    windows = flags.rolling(index_column="occurred_at", period=f"{hours}h", group_by="store_id").agg(
        pl.len().alias("flags_in_window"),
        pl.col("kind").n_unique().alias("kinds_in_window"),
        (pl.col("level") == "critical").sum().alias("critical_in_window"),
        pl.col("kind").unique().sort().str.join("、").alias("kinds"),
        pl.col("store_name").drop_nulls().last().alias("store_name"),
        pl.col("order_id").last().alias("order_id"),
    )
    return (
        windows.sort("flags_in_window", "occurred_at", descending=[True, True])
        .unique(subset=["store_id", pl.col("occurred_at").dt.date()], keep="first")
        .select(
            pl.concat_str([pl.lit("store_cluster:"), pl.col("store_id"), pl.lit(":"),
                           pl.col("occurred_at").dt.date().cast(pl.String)]).alias("subject"),
            "store_id", "store_name", "order_id", "occurred_at", "flags_in_window", "kinds_in_window",
            "critical_in_window", pl.lit(hours).alias("window_hours"), "kinds",
        )
    )


DETECTOR = Detector(
    name="flag_cluster",
    title_zh="门店短时间内多次异常",
    params=PARAMS,
    features=lambda p: FEATURES,
    grain=lambda p: "store_day",
    compute=_compute,
    reason_zh=lambda p: ("门店{store_id}在{window_hours}小时内出现{flags_in_window}个异常"
                         "（{kinds_in_window}种：{kinds}；严重{critical_in_window}个），请拓展部关注门店运营"),
    input="flags",
)
