"""A store-day metric against the store's own rhythm: same weekday, net of its trend.

Elementary's volume anomalies, done robustly at the store-day grain:

- **level** — the median of the store's training days in the trailing ``level_days``: where
  the store is now.  Growth over weeks moves the level, so growth is not a surge.
- **seasonal factor** — each day's metric over the level at that day (its *seasonal index*,
  in logs); the median of the indices of the previous same-weekday training days within
  ``window_days`` is the weekday's factor (``seasonality: day_of_week``) once there are
  ``min_training_set_size`` of them; before that the level alone (recent days) is the
  expectation.  Detrending before comparing weekdays means a steady 5 %/week growth does
  not pile up against week-old Saturdays.
- **spread** — the median absolute residual (each day against its own factor) of the store's
  training days in ``window_days``, pooled over weekdays (MAD), floored at ``min_spread``
  (in logs, so "20 % either way is noise" whatever the store's size); ``z`` is the log ratio
  over 1.4826 × MAD.
- a store with fewer than ``min_history`` training days in the level window is not judged
  (its ratio is null): a store that opened last week is never compared with zero.

Only ``_train`` days teach: the caller keeps promotion days and past anomalies out.
Input: one row per store-day sorted by ``store_id, day``, with ``weekday`` and ``_train``.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

STORE = "store_id"
WEEK = ("store_id", "weekday")


@dataclass(frozen=True)
class Seasonality:
    level_days: int = 28
    window_days: int = 56
    min_training: int = 3
    min_history: int = 7
    weekly: bool = True
    min_spread: float = 0.15


def _rolling(expr: pl.Expr, days: int, how: str = "median") -> pl.Expr:
    fn = expr.rolling_median_by if how == "median" else expr.rolling_sum_by
    return fn("day", window_size=f"{days}d", closed="left")


def seasonal(daily: pl.LazyFrame, metric: str, s: Seasonality, floor: pl.Expr | None = None) -> pl.LazyFrame:
    """Add ``{metric}_expected``, ``{metric}_ratio``, ``{metric}_z``, ``{metric}_spread`` and ``{metric}_weeks``
    (same-weekday days the expectation used; 0 when it is the recent level), plus
    ``history_days`` (training days in the level window).

    ``floor``: a further floor of the spread, in logs, for this day (it may read
    ``{metric}_expected``): how noisy a day of so little evidence is bound to be — a store
    expecting two usual lines ordering six is a fluctuation of counts, not a surge.
    """
    m, train = pl.col(metric), pl.col("_train")
    taught = pl.when(train & (m > 0)).then(m)
    idx = pl.when(m > 0).then((m / pl.col("_lvl")).log())
    out = daily.with_columns(
        _rolling(taught, s.level_days).over(STORE).alias("_lvl"),
        _rolling(taught.is_not_null().cast(pl.Int32), s.level_days, "sum").over(STORE).alias("_lvl_n"),
    ).with_columns(idx.alias("_ls"))
    ls_t = pl.when(train).then(pl.col("_ls"))
    out = out.with_columns(
        _rolling(ls_t, s.window_days).over(*WEEK).alias("_wk"),
        _rolling(ls_t.is_not_null().cast(pl.Int32), s.window_days, "sum").over(*WEEK).alias("_wk_n"),
    )
    weekly = pl.lit(s.weekly) & (pl.col("_wk_n").fill_null(0) >= s.min_training)
    factor = pl.when(weekly).then(pl.col("_wk")).otherwise(0.0)
    out = out.with_columns(weekly.alias("_weekly"), factor.alias("_sf"))
    res = pl.when(train).then((pl.col("_ls") - pl.col("_sf")).abs())
    # the residuals after each day's own factor, pooled over the store's weekdays: some 20-40
    # points instead of a weekday's 3-8, so one odd Saturday does not widen or narrow the bar
    out = out.with_columns(_rolling(res, s.window_days).over(STORE).alias("_mad"))
    judged = pl.col("_lvl_n").fill_null(0) >= s.min_history
    expected = pl.when(judged).then(pl.col("_lvl") * pl.col("_sf").exp())
    spread = pl.max_horizontal(1.4826 * pl.col("_mad").fill_null(0.0), pl.lit(s.min_spread),
                               *([floor.fill_null(0.0)] if floor is not None else []))
    ratio = pl.col(f"{metric}_expected")
    return (
        out.with_columns(expected.alias(f"{metric}_expected"))
        .with_columns(
            pl.when(ratio > 0).then(m / ratio).alias(f"{metric}_ratio"),
            pl.when(pl.col("_weekly")).then(pl.col("_wk_n")).otherwise(0).alias(f"{metric}_weeks"),
            pl.col("_lvl_n").fill_null(0).alias("history_days"),
            spread.alias(f"{metric}_spread"),
        )
        .with_columns(
            pl.when(pl.col(f"{metric}_ratio") > 0).then(pl.col(f"{metric}_ratio").log() / spread)
            .alias(f"{metric}_z"),
        )
        .drop("_lvl", "_lvl_n", "_ls", "_wk", "_wk_n", "_weekly", "_sf", "_mad")
    )
