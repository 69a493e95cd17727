"""Columns several detectors share, computed once per scan before any detector runs."""

from __future__ import annotations

import polars as pl

from orderwatch.config import Config

ORDER_KEY = ["source", "store_id", "order_id"]


def cod_expr(config: Config) -> pl.Expr:
    """True when the payment method names cash on delivery (substring, case-insensitive)."""
    method = pl.col("payment_method").str.to_lowercase()
    hit = pl.lit(False)
    for m in config.cod_methods:
        hit = hit | method.str.contains(m, literal=True)
    return hit.fill_null(False)


def prepare(lines: pl.LazyFrame, config: Config) -> pl.LazyFrame:
    """Add the derived columns detectors share.

    ``line_value``: the line's amount, else quantity × unit price.
    ``order_value``: the order's amount, else the sum of its line values.
    ``day``: the business day of creation.  ``is_cod``: cash on delivery.
    ``active``: a goods line with a positive quantity on an order that isn't cancelled —
    returns, cancellations and fee lines don't feed volume or amount baselines.
    """
    line_value = pl.coalesce(pl.col("line_amount"), pl.col("quantity") * pl.col("unit_price"))
    cancelled = pl.col("status").fill_null("").str.to_lowercase().str.contains(
        "cancel|取消|作废|退货|退款|return|refund"
    )
    return (
        lines.with_columns(line_value.alias("line_value"), pl.col("created_at").dt.date().alias("day"))
        .with_columns(
            pl.coalesce(pl.col("order_amount"), pl.col("line_value").sum().over(ORDER_KEY)).alias("order_value"),
            cod_expr(config).alias("is_cod"),
            (pl.col("goods").fill_null(True) & (pl.col("quantity") > 0) & ~cancelled).alias("active"),
        )
    )


def order_subject() -> pl.Expr:
    return pl.concat_str([pl.lit("order:"), pl.col("source"), pl.lit(":"), pl.col("store_id"),
                          pl.lit(":"), pl.col("order_id")])


def line_subject() -> pl.Expr:
    return pl.concat_str([order_subject(), pl.lit(":"), pl.col("sku")])


def first_line_per_order(lines: pl.LazyFrame) -> pl.LazyFrame:
    """One row per order (its first line), keeping order-level columns."""
    return lines.unique(subset=ORDER_KEY, keep="first", maintain_order=True)
