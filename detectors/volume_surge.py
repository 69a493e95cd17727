"""volume_surge: a store ordering far more than its own baseline.

Two scopes (rule parameter ``scope``):

``day``   a store's daily quantity and line count against its own trailing baseline — the
          median of its previous ``window`` ordering days, with the median absolute deviation
          as the robust spread — divided by the platform's factor for that day (the median of
          every store's ratio), so a promotion day when all stores order more is not a store
          anomaly.
``line``  a line's quantity against that store's usual quantity for that SKU (the median of
          its lines of the SKU in the history window and the batch; ``window`` is not used);
          with too little store history, against the platform's median for the SKU, else the
          platform's median line quantity: an extra zero typed shows up as a ratio of about
          10, two as 100.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from detectors.base import DetectContext, Detector
from detectors.common import OKEY, order_subject

DAY_FEATURES = {
    "day_qty": "当日订购总数量",
    "day_lines": "当日订单行数",
    "day_orders": "当日订单数",
    "baseline_qty": "门店日订购量基线（历史中位数）",
    "baseline_lines": "门店日订单行数基线",
    "qty_ratio": "当日数量 / 基线",
    "lines_ratio": "当日行数 / 基线",
    "qty_z": "稳健 z 分数（MAD）",
    "platform_factor": "全平台当日倍数（促销日修正）",
    "adj_ratio": "扣除全平台倍数后的数量倍数",
    "history_days": "基线所用历史天数",
}
LINE_FEATURES = {
    "quantity": "订购数量",
    "usual_qty": "该门店该商品常规数量（中位数）",
    "qty_ratio": "数量 / 常规数量",
    "history_lines": "基线所用的其他行数",
    "baseline": "基线来源（store_sku 门店商品 / platform_sku 平台商品 / platform 平台）",
    "order_qty": "整单数量",
}
PARAMS: dict[str, Any] = {
    "scope": "line",
    "window": 28,            # ordering days in the day baseline (scope day only)
    "min_history": 7,        # fewer history points: no store baseline
    "min_platform_stores": 5,  # stores ordering that day before a platform factor applies
    "min_platform_lines": 5,   # lines of a SKU platform-wide before its median is trusted
}


def _features(params: dict[str, Any]) -> dict[str, str]:
    return DAY_FEATURES if params["scope"] == "day" else LINE_FEATURES


def _grain(params: dict[str, Any]) -> str:
    return "store_day" if params["scope"] == "day" else "line"


def _reason(params: dict[str, Any]) -> str:
    if params["scope"] == "day":
        return ("门店{store_id}在{occurred_at:%Y-%m-%d}订购{day_qty:g}件（{day_lines}行），"
                "是其近期日基线{baseline_qty:g}件的{qty_ratio:.1f}倍，"
                "扣除全平台倍数{platform_factor:.2f}后为{adj_ratio:.1f}倍")
    return ("订单{order_id}商品{sku}订购{quantity:g}件，是常规数量{usual_qty:g}件的{qty_ratio:.1f}倍"
            "（基线：{baseline}，{history_lines}条历史），疑似多输入了0")


def _ratios(lines: pl.LazyFrame, p: dict[str, Any]) -> pl.LazyFrame:
    """Each store-day's quantity and lines against the store's own trailing baseline."""
    w, min_h = int(p["window"]), int(p["min_history"])
    active = lines.filter(pl.col("active"))
    daily = (
        active.group_by("store_id", "day")
        .agg(
            pl.col("quantity").sum().alias("day_qty"),
            pl.len().alias("day_lines"),
            pl.col("order_id").n_unique().alias("day_orders"),
            pl.col("_in_batch").any().alias("_in_batch"),
            pl.col("store_name").drop_nulls().last().alias("store_name"),
            # the day's largest order stands for the day in the queue
            pl.col("order_id").sort_by("quantity").last().alias("order_id"),
        )
        .sort("store_id", "day")
    )
    base = (
        daily.with_columns(
            pl.col("day_qty").shift(1).over("store_id").alias("_prev_qty"),
            pl.col("day_lines").shift(1).over("store_id").alias("_prev_lines"),
            pl.int_range(pl.len()).over("store_id").clip(upper_bound=w).alias("history_days"),
        )
        .with_columns(
            pl.col("_prev_qty").rolling_median(w, min_samples=min_h).over("store_id").alias("baseline_qty"),
            pl.col("_prev_lines").rolling_median(w, min_samples=min_h).over("store_id").alias("baseline_lines"),
        )
        .with_columns(
            (pl.col("_prev_qty") - pl.col("baseline_qty")).abs()
            .rolling_median(w, min_samples=min_h).over("store_id").alias("_mad"),
        )
    )
    scale = pl.max_horizontal(1.4826 * pl.col("_mad"), 0.1 * pl.col("baseline_qty"), pl.lit(1.0))
    return base.with_columns(
        (pl.col("day_qty") / pl.col("baseline_qty")).alias("qty_ratio"),
        (pl.col("day_lines") / pl.col("baseline_lines")).alias("lines_ratio"),
        ((pl.col("day_qty") - pl.col("baseline_qty")) / scale).alias("qty_z"),
    )


def _day(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    # the platform's factor for a day: the median of every store's ratio that day
    by_day = ctx.platform("day_factor", lambda c: _ratios(c.lines, p).group_by("day").agg(
        pl.col("qty_ratio").count().alias("_stores_that_day"), pl.col("qty_ratio").median().alias("_day_median")))
    ratios = _ratios(ctx.lines, p).join(by_day, on="day", how="left", nulls_equal=True)
    factor = (
        pl.when(pl.col("_stores_that_day") >= int(p["min_platform_stores"]))
        .then(pl.col("_day_median").clip(lower_bound=1.0))
        .otherwise(1.0)
    )
    return (
        ratios.with_columns(factor.alias("platform_factor"))
        .with_columns((pl.col("qty_ratio") / pl.col("platform_factor")).alias("adj_ratio"))
        .filter(pl.col("_in_batch"))
        .select(
            pl.concat_str([pl.lit("store_day:"), pl.col("store_id"), pl.lit(":"),
                           pl.col("day").cast(pl.String)]).alias("subject"),
            "store_id", "store_name", "order_id",
            pl.col("day").cast(pl.Datetime("us")).alias("occurred_at"),
            *DAY_FEATURES,
        )
    )


def _store_sku_usual(active: pl.LazyFrame, min_h: int) -> pl.LazyFrame:
    """(store, sku) → the median quantity of the store's lines of that SKU, and how many.

    The median over the history window (``history.days``) and the batch is robust to the
    outlier itself as long as outliers are fewer than half the lines; a pair needs more than
    ``min_h`` lines.  One hashed group-by instead of per-pair rolling windows keeps this
    linear on millions of lines with hundreds of thousands of pairs.
    """
    return (
        active.group_by("_k")
        .agg(pl.col("quantity").median().alias("_store_sku"), (pl.len() - 1).alias("_n_hist"))
        .filter(pl.col("_n_hist") >= min_h)
    )


def _line(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    min_h, min_pl = int(p["min_history"]), int(p["min_platform_lines"])
    active = ctx.lines.filter(pl.col("active")).with_columns(pl.struct("store_id", "sku").hash().alias("_k"))
    # the platform's median per SKU and over all lines, for a store with too little history
    sku = ctx.platform("sku_qty", lambda c: c.lines.filter(pl.col("active")).group_by("sku").agg(
        pl.len().alias("_sku_n"), pl.col("quantity").median().alias("_sku_median")))
    everyone = ctx.platform("qty", lambda c: c.lines.filter(pl.col("active")).select(
        pl.col("quantity").median().alias("_platform_median"), pl.len().alias("_platform_n")))
    lines = (
        active.join(_store_sku_usual(active, min_h), on="_k", how="left")
        .join(sku, on="sku", how="left", nulls_equal=True)
        .join(everyone, how="cross")
        .with_columns(pl.col("quantity").sum().over(OKEY).alias("order_qty"))
    )
    store_sku = pl.col("_store_sku")
    platform_sku = pl.when(pl.col("_sku_n") >= min_pl).then(pl.col("_sku_median"))
    usual = pl.coalesce(store_sku, platform_sku, pl.col("_platform_median"))
    baseline = (
        pl.when(store_sku.is_not_null()).then(pl.lit("store_sku"))
        .when(platform_sku.is_not_null()).then(pl.lit("platform_sku"))
        .otherwise(pl.lit("platform"))
    )
    hist = (
        pl.when(store_sku.is_not_null()).then(pl.col("_n_hist"))
        .when(platform_sku.is_not_null()).then(pl.col("_sku_n"))
        .otherwise(pl.col("_platform_n"))
    )
    return (
        lines.with_columns(usual.alias("usual_qty"), baseline.alias("baseline"),
                           hist.cast(pl.Int64).alias("history_lines"))
        .filter(pl.col("_in_batch"))
        .with_columns((pl.col("quantity") / pl.col("usual_qty")).alias("qty_ratio"))
        .select(
            order_subject().alias("subject"), "store_id", "store_name", "order_id",
            pl.col("created_at").alias("occurred_at"), "sku", "line_no", *LINE_FEATURES,
        )
    )


def _compute(ctx: DetectContext, params: dict[str, Any]) -> pl.LazyFrame:
    return _day(ctx, params) if params["scope"] == "day" else _line(ctx, params)


DETECTOR = Detector(
    name="volume_surge",
    title_zh="订购量激增",
    params=PARAMS,
    features=_features,
    grain=_grain,
    compute=_compute,
    reason_zh=_reason,
    choices={"scope": ("day", "line")},
    needs=lambda p: ("quantity",) if p["scope"] == "day" else ("sku", "quantity"),
)
