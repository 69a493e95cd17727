"""Compact aggregates volume baselines are computed from: a store×SKU window of recent
quantities, and one row per store-day.

Why aggregates and not scans of raw lines: both frames are small and bounded (a store×SKU
pair keeps its last ``window`` quantities; a store-day is one row), so they can later be kept
as incremental state instead of re-read from history on every scan.  Every function here is
LazyFrame → LazyFrame and reads only the columns named in its docstring.

The *quantity index* measures a day independent of SKU mix and unit of sale: each line's
quantity divided by the store's usual quantity of that SKU (the median of the pair's previous
quantities), summed over the day.  A normal day of n lines is about n "usual lines" whatever
was ordered, in cases, bottles or kilograms; ``line_index`` (the day's median line ratio) says
how big each line was against its usual, so a day of a few lines each five times the usual is
as visible as a day of many lines.
"""

from __future__ import annotations

import polars as pl

PAIR = ("store_id", "sku")


def sku_usual(lines: pl.LazyFrame, window: int, min_points: int,
              keep: pl.Expr | None = None, ordered: bool = False) -> pl.LazyFrame:
    """Add ``usual_qty`` and ``usual_n`` to each line: the median of the store×SKU pair's
    previous ``window`` quantities (lines before it in time), and how many there were.

    ``keep``: which lines may teach the baseline (a line outside it — a past outlier, the
    line of an anomalous day — is not in any later line's window); default every line.
    Reads ``store_id, sku, created_at, order_id, line_no, quantity``.  ``usual_qty`` is null under ``min_points``.
    ``ordered``: ``lines`` are already in that total order (an earlier ``sku_usual``'s output,
    row for row): not sorted again.

    Why one rolling window over the whole sorted frame and not ``over`` the pairs: most pairs
    hold one or two lines (a 1 M-line export has ~560 k of them), and a window per group cost
    four times the sort.  :func:`pair_rows` numbers the rows so that the previous ``window``
    rows of a pair are exactly the rows within ``window`` before it (a new pair jumps further).
    """
    taught = pl.col("quantity") if keep is None else pl.when(keep).then(pl.col("quantity"))
    size = f"{window}i"
    # a total order (ties of time broken by order and line): the windows, and the sums of
    # the store-days after them, must not depend on the order history was read in
    if not ordered:
        lines = lines.sort(*PAIR, "created_at", "order_id", "line_no", nulls_last=True)
    return (
        lines.with_columns(pair_rows(window).alias("_pair_row"))
        .with_columns(
            taught.rolling_median_by("_pair_row", window_size=size, closed="left",
                                     min_samples=max(min_points, 1)).alias("usual_qty"),
            taught.is_not_null().cast(pl.Int32).rolling_sum_by("_pair_row", window_size=size, closed="left")
            .fill_null(0).alias("usual_n"),
        )
        .drop("_pair_row")
    )


def pair_rows(window: int) -> pl.Expr:
    """On lines sorted by pair: the row number plus ``window`` for every pair that starts before
    it — ascending, 1 apart within a pair and more than ``window`` apart across pairs, so a
    window of ``window`` index units before a row never reaches another pair (nulls are a pair)."""
    starts = pl.lit(False)
    for c in PAIR:
        starts = starts | pl.col(c).ne_missing(pl.col(c).shift(1))
    return pl.int_range(pl.len(), dtype=pl.Int64) + starts.fill_null(False).cast(pl.Int64).cum_sum() * (window + 1)


def line_ratio() -> pl.Expr:
    """A line's quantity over its usual (null when the pair has no usual yet)."""
    return pl.when(pl.col("usual_qty") > 0).then(pl.col("quantity") / pl.col("usual_qty"))


def store_days(lines: pl.LazyFrame) -> pl.LazyFrame:
    """One row per store and business day: ``day_qty, day_lines, day_orders, day_amount,
    qty_index, line_index, indexed_lines`` (see the module docstring), ``weekday`` (1 = Monday), ``_in_batch``.

    A line whose pair has no usual yet counts as one usual line in ``qty_index`` (a new SKU is
    a line like another) and is left out of ``line_index``.  Reads the columns of
    :func:`sku_usual`'s output plus ``day, order_id, store_name, line_value, _in_batch``.
    """
    ratio = line_ratio()
    return (
        lines.with_columns(ratio.alias("_ratio"))
        .group_by("store_id", "day")
        .agg(
            pl.col("quantity").sum().alias("day_qty"),
            pl.len().alias("day_lines"),
            pl.col("order_id").n_unique().alias("day_orders"),
            pl.col("line_value").sum().alias("day_amount"),
            pl.col("_ratio").fill_null(1.0).sum().alias("qty_index"),
            pl.col("_ratio").median().alias("line_index"),
            pl.col("_ratio").is_not_null().sum().alias("indexed_lines"),
            pl.col("_in_batch").any().alias("_in_batch"),
            pl.col("store_name").drop_nulls().last().alias("store_name"),
            # the day's largest order stands for the day in the queue
            pl.col("order_id").sort_by("quantity", "order_id").last().alias("order_id"),
        )
        # one line's size is that line's own matter (line_qty_outlier), not the day's
        .with_columns(pl.col("day").dt.weekday().alias("weekday"),
                      pl.when((pl.col("day_lines") >= 2) & (pl.col("indexed_lines") >= 1))
                      .then(pl.col("line_index")).alias("line_index"))
        .sort("store_id", "day")
    )
