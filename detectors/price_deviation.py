"""price_deviation: a unit price off the catalog list price.

The reference is the catalog's list price; for a SKU the catalog doesn't know (or without a
catalog) it is the platform's median unit price of that SKU over its newest ``platform_lines``
priced lines (every store's, history and batch), when at least ``min_platform_lines`` lines
price it.  The newest lines and not the whole history window: a price moves over a quarter, and
a bounded window can be kept as state (``detectors.state_platform``'s ``sku_prices``), which a
state-mode context (``ctx.state``) reads instead of the raw history, with the same result.

A price is off by a factor, so ``price_fold`` measures both ways alike: 2.5 for a price of 2.5
times the reference and for one of 1/2.5 of it (a percentage would call the first +150 % and
the second −60 %, and a floor on it would catch a price keyed too high long before one keyed
too low).
"""

from __future__ import annotations

from typing import Any

import polars as pl

from detectors.base import DetectContext, Detector, Parts
from contracts.schema import LINE_KEY
from detectors.common import newest_rows, order_subject
from detectors.state_platform import NEWEST_LINES

FEATURES = {
    "unit_price": "成交单价",
    "ref_price": "参考价（目录价或平台中位价）",
    "price_ratio": "单价 / 参考价",
    "deviation_pct": "偏离百分比（负数为低于参考价）",
    "abs_deviation_pct": "偏离百分比的绝对值",
    "ref_source": "参考价来源（catalog 目录 / platform 平台中位数）",
    "price_fold": "偏离倍数（高于或低于参考价的倍数，≥1）",
}
PARAMS: dict[str, Any] = {"min_platform_lines": 5, "platform_lines": 200}
PRICE_ROW = ["source", "store_id", "order_id", "line_no", "sku", "created_at", "unit_price"]


def _priced_rows() -> pl.Expr:
    return pl.col("active") & (pl.col("unit_price") >= 0)


def _newest_prices(c: DetectContext, n: int) -> pl.LazyFrame:
    """Each SKU's newest ``n`` priced lines (``sku``, ``unit_price`` and their order)."""
    rows = c.lines.filter(_priced_rows()).select(PRICE_ROW)
    if c.state is not None:     # stored lines the context's lines do not hold in a newer version
        past = c.past_state("sku_prices").join(c.lines.select(LINE_KEY), on=list(LINE_KEY), how="anti",
                                               nulls_equal=True)
        rows = pl.concat([past.select(PRICE_ROW), rows], how="vertical_relaxed")
    return newest_rows(rows, "unit_price", NEWEST_LINES, n)    # a selection per SKU, not a sort


def _sku_median(n: int, min_n: int) -> Parts:
    """sku -> the median unit price of its newest ``n`` priced lines (null under ``min_n``)."""
    def merge(parts: pl.LazyFrame) -> pl.LazyFrame:
        newest = pl.col("unit_price")
        return (newest_rows(parts, "unit_price", NEWEST_LINES, n).group_by("sku")
                .agg(pl.when(newest.len() >= min_n).then(newest.median()).alias("_platform")))
    return Parts(lambda c: _newest_prices(c, n), merge)


def _check(p: dict[str, Any], config: Any) -> list[tuple[str, str]]:
    if int(p["platform_lines"]) < int(p["min_platform_lines"]):
        return [("platform_lines", "must be at least min_platform_lines")]
    return []


def _compute(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    min_n, n = int(p["min_platform_lines"]), int(p["platform_lines"])
    platform = ctx.platform("sku_price", _sku_median(n, min_n))
    priced = (ctx.lines.filter(pl.col("_in_batch") & _priced_rows())
              .join(platform, on="sku", how="left", nulls_equal=True))
    if ctx.catalog is not None:
        priced = priced.join(ctx.catalog.select("sku", "list_price"), on="sku", how="left")
    else:
        priced = priced.with_columns(pl.lit(None, dtype=pl.Float64).alias("list_price"))
    ref = pl.when(pl.col("list_price") > 0).then(pl.col("list_price")).otherwise(pl.col("_platform"))
    source = pl.when(pl.col("list_price") > 0).then(pl.lit("catalog")).otherwise(pl.lit("platform"))
    return (
        priced.with_columns(ref.alias("ref_price"), source.alias("ref_source"))
        .filter(pl.col("ref_price") > 0)
        .with_columns((pl.col("unit_price") / pl.col("ref_price")).alias("price_ratio"))
        .with_columns(((pl.col("price_ratio") - 1.0) * 100.0).alias("deviation_pct"))
        .select(
            order_subject().alias("subject"), "store_id", "store_name", "order_id",
            pl.col("created_at").alias("occurred_at"), "sku", "line_no",
            "unit_price", "ref_price", "price_ratio", "deviation_pct",
            pl.col("deviation_pct").abs().alias("abs_deviation_pct"), "ref_source",
            pl.max_horizontal(pl.col("price_ratio"), 1.0 / pl.col("price_ratio")).alias("price_fold"),
        )
    )


DETECTOR = Detector(
    name="price_deviation",
    title_zh="成交价偏离目录价",
    params=PARAMS,
    features=lambda p: FEATURES,
    grain=lambda p: "line",
    compute=_compute,
    reason_zh=lambda p: ("订单{order_id}商品{sku}单价{unit_price:,.2f}，参考价{ref_price:,.2f}（{ref_source}），"
                         "偏离{deviation_pct:+.1f}%"),
    needs=lambda p: ("sku", "unit_price"),
    check=_check,
    # the platform price: sku_prices on the driver, the precomputed frame in a partition
    from_state=lambda p, state: True,
)
