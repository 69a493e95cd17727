"""volume_surge: a store ordering far more than its own baseline.

Two scopes (rule parameter ``scope``):

``day``   a store's day against its own weekly rhythm (``detectors.volume_day``): the day's
          quantity index (its lines against the store's usual for each SKU, so independent of
          SKU mix and unit of sale) and line index (how big each line was against its usual),
          each against the same weekday of the last ``window`` days once there are
          ``min_training_set_size`` of them (else the recent level), detrended, with a robust
          z-score, net of the platform's factor for the day; promotion days and past
          anomalies are kept out of training; a store with under ``min_history`` ordering
          days is not judged.
``line``  a line's quantity against that store's usual quantity for that SKU (the median of
          the pair's previous ``sku_window`` quantities, outliers kept out); with too little
          store history, against the platform's median for the SKU (over its newest
          ``platform_lines`` lines) scaled by the store's size at the line (its newest lines
          before it against the platform's usuals, on the SKUs it does order), else the platform's median line over those
          lines (``detectors.line_refs``: bounded, so the baseline state serves them exactly):
          an extra zero typed shows up as a ratio of about 10, two as 100.  Its size is also given in packs (quantity ÷ the SKU's order step from the
          catalog, else units), so a floor reads "at least so many cases", not "50 units".
"""

from __future__ import annotations

from typing import Any

import polars as pl

from contracts.schema import LINE_KEY
from detectors.base import DetectContext, Detector
from detectors.baselines import line_ratio, sku_usual
from detectors.common import OKEY, order_subject
from detectors import line_refs, volume_state
from detectors.state_platform import Bounds
from detectors.volume_day import day_frame

DAY_FEATURES = {
    "day_qty": "当日订购总数量",
    "day_lines": "当日订单行数",
    "day_orders": "当日订单数",
    "day_amount": "当日订购金额",
    "qty_index": "数量指数（各行数量 ÷ 该店该商品常规量之和，折合常规行数）",
    "line_index": "行规模指数（各行数量 ÷ 常规量的中位数）",
    "baseline_qty": "门店同星期日订购量基线",
    "qty_ratio": "当日数量 / 基线",
    "expected_index": "数量指数基线（同星期、去趋势）",
    "index_ratio": "数量指数 / 基线",
    "index_z": "数量指数稳健 z 分数（MAD）",
    "expected_line_index": "行规模指数基线",
    "line_index_ratio": "行规模指数 / 基线",
    "line_index_z": "行规模指数稳健 z 分数（MAD）",
    "platform_factor": "全平台当日倍数（促销日修正）",
    "adj_ratio": "扣除全平台倍数后的激增倍数（z 较大的度量）",
    "surge_z": "激增度量的稳健 z 分数",
    "measure": "激增度量（index 数量指数 / line_index 行规模）",
    "line_surge": "由行规模判定（1 是：半数以上的行远超常规 / 0 否）",
    "excess_lines": "超出基线的常规行数",
    "same_weekdays": "基线所用同星期天数（0 为近期订货日）",
    "history_days": "近期订货天数",
    "weekday": "星期（1 周一 … 7 周日）",
    "promo_day": "促销日（1 是 / 0 否）",
}
LINE_FEATURES = {
    "quantity": "订购数量",
    "usual_qty": "该门店该商品常规数量（中位数）",
    "qty_ratio": "数量 / 常规数量",
    "history_lines": "基线所用的其他行数",
    "baseline": "基线来源（store_sku 门店商品 / store_scaled 平台商品按门店规模 / platform_sku 平台商品 / platform 平台）",
    "order_qty": "整单数量",
    "order_step": "订货步长（商品档案，无则 1）",
    "packs": "订购件数（数量 ÷ 步长）",
    "excess_packs": "超出常规的件数（（数量 − 常规）÷ 步长）",
    "zero_shape": "多输一个0的形状（数量 ÷ 10 是整数个 shape_step，1 是 / 0 否）",
    "shape_step": "判断多输0所用步长（目录步长与该商品全平台各行数量的最大公约数，取大者）",
}
PARAMS: dict[str, Any] = {
    "scope": "line",
    "seasonality": "day_of_week",  # or "none": compare with recent days only
    "window": 56,              # days back the same-weekday baseline reads (8 weeks)
    "level_days": 28,          # days of the trailing level (the trend)
    "min_training_set_size": 3,  # same-weekday days before the weekday baseline applies
    "min_history": 5,          # day: ordering days in level_days before a store is judged; line: the pair's lines
    "sensitivity": 3.0,        # robust z beyond which a past day is an anomaly (kept out of training)
    "min_change": 2.0,         # ... and only if its net ratio is at least this (small changes ignored)
    "min_spread": 0.15,        # floor of the robust spread, in log units
    "promo_factor": 1.5,       # a platform factor of at least this makes a promotion day
    "use_promotion_days": True,  # sla.promotion_days are promotion days too
    "sku_window": 8,           # recent quantities kept per store and SKU
    "sku_min_points": 2,       # ... needed before the pair's usual counts (day scope)
    "sku_outlier": 4.0,        # a line this many times its usual (or 1/this) does not teach the usual
    "min_platform_stores": 5,  # stores judged that day before a platform factor applies
    "min_platform_lines": 5,   # lines of a SKU platform-wide before its median is trusted
    "platform_lines": 200,     # ... its median over its newest this many lines (line scope)
}


def _check(p: dict[str, Any], config: Any) -> list[tuple[str, str]]:  # noqa: ANN401 - a Config
    """The line scope's platform window: at least the lines trusted, at most what the state keeps."""
    n, kept = int(p["platform_lines"]), Bounds.of(config).sku_quantities
    if p["scope"] != "line":
        return []
    if int(p["sku_window"]) < int(p["min_history"]):
        return [("sku_window", "must be at least min_history: the pair's usual is the median of that many lines")]
    if n < int(p["min_platform_lines"]):
        return [("platform_lines", "must be at least min_platform_lines")]
    if n > kept:
        return [("platform_lines", f"must be at most history.state.sku_quantities ({kept}): the state keeps "
                                   "that many lines of each SKU")]
    return []


def _features(params: dict[str, Any]) -> dict[str, str]:
    return DAY_FEATURES if params["scope"] == "day" else LINE_FEATURES


def _grain(params: dict[str, Any]) -> str:
    return "store_day" if params["scope"] == "day" else "line"


def _reason(params: dict[str, Any]) -> str:
    if params["scope"] == "day":
        return ("门店{store_id}在{occurred_at:%Y-%m-%d}订购{day_qty:g}件（{day_lines}行），"
                "折合常规{qty_index:.1f}行，扣除全平台倍数{platform_factor:.2f}后是其同期基线的{adj_ratio:.1f}倍")
    return ("订单{order_id}商品{sku}订购{quantity:g}件，是常规数量{usual_qty:g}件的{qty_ratio:.1f}倍"
            "（基线：{baseline}，{history_lines}条历史），疑似多输入了0")


def _day(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    days = day_frame(ctx, p).filter(pl.col("_in_batch"))
    return days.select(
        pl.concat_str([pl.lit("store_day:"), pl.col("store_id"), pl.lit(":"),
                       pl.col("day").cast(pl.String)]).alias("subject"),
        "store_id", "store_name", "order_id",
        pl.col("day").cast(pl.Datetime("us")).alias("occurred_at"),
        pl.col("day_qty_expected").alias("baseline_qty"), pl.col("day_qty_ratio").alias("qty_ratio"),
        pl.col("qty_index_expected").alias("expected_index"), pl.col("qty_index_ratio").alias("index_ratio"),
        pl.col("qty_index_z").alias("index_z"), pl.col("line_index_expected").alias("expected_line_index"),
        *(c for c in DAY_FEATURES if c not in ("baseline_qty", "qty_ratio", "expected_index", "index_ratio",
                                              "index_z", "expected_line_index")),
    )


def _usual(active: pl.LazyFrame, p: dict[str, Any]) -> pl.LazyFrame:
    """Each line with its store×SKU usual (``detectors.baselines.sku_usual``), in two passes so
    a past outlier (``sku_outlier`` times its usual or more, or as many times less) does not
    teach the usual of the lines after it."""
    window, min_h, out = int(p["sku_window"]), int(p["min_history"]), float(p["sku_outlier"])
    first = sku_usual(active, window, min_h)
    r = line_ratio()
    marked = first.with_columns(((r >= out) | (r <= 1.0 / out)).fill_null(False).alias("_out")).drop(
        "usual_qty", "usual_n")
    return sku_usual(marked, window, min_h, keep=~pl.col("_out"))


def _steps(ctx: DetectContext) -> pl.LazyFrame | None:
    if ctx.catalog is None:
        return None
    return (ctx.catalog.select("sku", pl.col("order_step").alias("_step"))
            .filter(pl.col("_step") > 0).unique(subset="sku", keep="first"))


def _zero_shape() -> pl.Expr:
    """1 when the quantity reads as a valid quantity with a zero typed after it: a tenth of it
    is a whole number of steps — the coarser of the catalog's order step and the step the SKU's
    platform lines show (``shape_step``: a SKU everyone orders in tens has every line of that
    shape, so the shape says nothing there)."""
    tenth = pl.col("quantity") / 10.0 / pl.col("shape_step")
    return ((pl.col("quantity") >= 10 * pl.col("shape_step")) & ((tenth - tenth.round()).abs() < 1e-6)).cast(pl.Int8)


def _line(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    min_pl, n = int(p["min_platform_lines"]), int(p["platform_lines"])
    active = (ctx.lines.filter(pl.col("active") & pl.col("quantity").is_not_null())
              .with_columns(pl.col("quantity").sum().over(OKEY).alias("order_qty")))
    if ctx.state is not None:   # the batch's store-days and their pairs' stored windows
        active = volume_state.with_windows(ctx, active)
    # the platform's usual per SKU and per line (``detectors.line_refs``), for a store with too
    # little history (platform frames: a partitioned run computes them over every store first)
    sku = ctx.platform("sku_qty", line_refs.sku_refs(n))
    everyone = ctx.platform("qty", line_refs.platform_ref(n))
    lines = (
        _usual(active, p)
        .join(sku, on="sku", how="left", nulls_equal=True)
        .join(everyone, how="cross")
        .join(line_refs.store_sizes(ctx, p, sku), on=list(LINE_KEY), how="left", nulls_equal=True)
    )
    steps = _steps(ctx)
    lines = (lines.join(steps, on="sku", how="left") if steps is not None
             else lines.with_columns(pl.lit(None, pl.Float64).alias("_step")))
    store_sku = pl.col("usual_qty")
    # a pair the store has not ordered enough of: the platform's usual for the SKU, scaled by
    # how this store's usuals compare with the platform's on the SKUs it does order (its size)
    size = pl.col("_size")
    platform_sku = pl.when(pl.col("_sku_n") >= min_pl).then(pl.col("_sku_median") * size.fill_null(1.0))
    usual = pl.coalesce(store_sku, platform_sku, pl.col("_platform_median"))
    baseline = (
        pl.when(store_sku.is_not_null()).then(pl.lit("store_sku"))
        .when(platform_sku.is_not_null() & size.is_not_null()).then(pl.lit("store_scaled"))
        .when(platform_sku.is_not_null()).then(pl.lit("platform_sku"))
        .otherwise(pl.lit("platform"))
    )
    hist = (
        pl.when(store_sku.is_not_null()).then(pl.col("usual_n"))
        .when(platform_sku.is_not_null()).then(pl.col("_sku_n"))
        .otherwise(pl.col("_platform_n"))
    )
    step = pl.col("_step").fill_null(1.0)
    # the step the SKU's lines show, trusted from as many lines as its platform usual
    shown = pl.when(pl.col("_sku_n") >= min_pl).then(pl.col("_sku_step"))
    return (
        lines.with_columns(usual.alias("_usual"), baseline.alias("baseline"),
                           hist.cast(pl.Int64).alias("history_lines"), step.alias("order_step"),
                           pl.max_horizontal(step, shown).alias("shape_step"))
        .filter(pl.col("_in_batch"))
        .with_columns(
            (pl.col("quantity") / pl.col("_usual")).alias("qty_ratio"),
            (pl.col("quantity") / pl.col("order_step")).alias("packs"),
            ((pl.col("quantity") - pl.col("_usual")) / pl.col("order_step")).alias("excess_packs"),
            _zero_shape().alias("zero_shape"),
        )
        .drop("usual_qty").rename({"_usual": "usual_qty"})
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
    choices={"scope": ("day", "line"), "seasonality": ("day_of_week", "none")},
    needs=lambda p: ("quantity",) if p["scope"] == "day" else ("sku", "quantity"),
    check=_check,
    from_state=lambda p, state: volume_state.served(p, state) or line_refs.served(p, state),
)
