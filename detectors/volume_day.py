"""The store-day scope of ``volume_surge``: a store's day against its own weekly rhythm.

The day is measured three ways (``detectors.baselines.store_days``): raw units (what the
reason quotes), the quantity index (the day in usual lines, independent of SKU mix and unit
of sale) and the line index (how big each line was against its usual).  The index and the
line index are each compared with the store's own expectation (``detectors.seasonal``: same
weekday, detrended, MAD spread), then divided by the platform's factor for that day (the
median of every judged store's ratio), so a promotion when every store orders more is not one
store's surge.  The surge is told by the measure with the larger z (``measure`` says which).

Two passes keep past anomalies out of training.  The first judges every day against
everything before it; its anomalies — a day judged against its own weekday whose net ratio is
at least ``min_change`` and whose z is at least ``sensitivity`` — its promotion days (a platform factor of at least
``promo_factor``, or a configured ``sla.promotion_days`` day) and its outlying lines (a line
``sku_outlier`` times its usual or more) then teach nothing in the second pass, which gives
the features.  So last week's surge does not raise the bar for this week's.

A store with fewer than ``min_history`` ordering days in the last ``level_days`` is not
judged at all (its ratios are null): a store that opened last week is never compared with
zero, nor with stores it may not resemble; its extra-zero lines are still caught line by
line against the platform's usual for the SKU.
"""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from detectors.base import DetectContext, Parts
from detectors.common import ordered_sum
from detectors import volume_lines, volume_state
from detectors.volume_lines import SPREAD_STEPS
from detectors.seasonal import Seasonality, seasonal

#: the two measures a surge is judged by: metric column -> name in the features
MEASURES = {"qty_index": "index", "line_index": "line_index"}


def seasonality(p: dict[str, Any]) -> Seasonality:
    return Seasonality(level_days=int(p["level_days"]), window_days=int(p["window"]),
                       min_training=int(p["min_training_set_size"]), min_history=int(p["min_history"]),
                       weekly=p["seasonality"] == "day_of_week", min_spread=float(p["min_spread"]))


def _ratios(days: pl.LazyFrame, p: dict[str, Any]) -> pl.LazyFrame:
    """Each store-day's measures against the store's own expectation (per store only)."""
    s = seasonality(p)
    # a count of usual lines is Poisson-like: its spread floor is the one that makes the log
    # ratio's z the variance-stabilised 2(sqrt(x) - sqrt(expected)) (1/sqrt(n) near the
    # expectation); a median of n line ratios is as noisy as one line over sqrt(n)
    days = seasonal(days, "day_qty", s)
    days = seasonal(days, "line_index", s, pl.col("_line_noise") / pl.col("indexed_lines").sqrt())
    x, e = pl.col("qty_index"), pl.col("qty_index_expected")
    poisson = pl.when(x > e * 1.01).then((x / e).log() / (2 * (x.sqrt() - e.sqrt()))).otherwise(1.0 / e.sqrt())
    days = seasonal(days, "qty_index", s, poisson)
    within_tail = ~(pl.col("line_index") > pl.col("_line_tail")).fill_null(False)
    return days.with_columns(pl.when(within_tail).then(None).otherwise(pl.col(c)).alias(c)
                             for c in ("line_index_ratio", "line_index_z"))


def _factors(ratios: pl.LazyFrame, p: dict[str, Any]) -> pl.LazyFrame:
    """Per day and measure: the platform's factor (the median of the judged stores' ratios,
    at least 1, once ``min_platform_stores`` are judged) and how far stores scatter around
    it (1.4826 × MAD of their log ratios) — a platform frame, over every store."""
    n_min, aggs = int(p["min_platform_stores"]), []
    for m in MEASURES:
        r = pl.col(f"{m}_ratio")
        enough = r.count() >= n_min
        logr = r.log()
        aggs += [pl.when(enough).then(r.median().clip(lower_bound=1.0)).otherwise(1.0).alias(f"_{m}_factor"),
                 pl.when(enough).then(1.4826 * (logr - logr.median()).abs().median()).alias(f"_{m}_scatter")]
    return ratios.group_by("day").agg(aggs)


def _judge(days: pl.LazyFrame, factors: pl.LazyFrame, p: dict[str, Any], promo_days: list) -> pl.LazyFrame:
    """The net ratio of every measure, its z, and the measure that speaks for the day."""
    promo = float(p["promo_factor"])
    days = days.join(factors, on="day", how="left").with_columns(
        pl.col(f"_{m}_factor").fill_null(1.0) for m in MEASURES)
    cols = []
    for m in MEASURES:
        adj = pl.col(f"{m}_ratio") / pl.col(f"_{m}_factor")
        # on a promotion day a store is compared with the other stores' response too
        on_promo = pl.col(f"_{m}_factor") >= promo
        spread = pl.when(on_promo).then(pl.max_horizontal(f"{m}_spread", pl.col(f"_{m}_scatter").fill_null(0.0)))
        cols += [adj.alias(f"_{m}_adj"), (adj.log() / spread.otherwise(pl.col(f"{m}_spread"))).alias(f"_{m}_zadj")]
    days = days.with_columns(cols)
    # the measure that stands out more (the larger z) speaks for the day
    by_lines = pl.col("_line_index_zadj").fill_null(-1e9) > pl.col("_qty_index_zadj").fill_null(-1e9)
    pick = lambda a, b: pl.when(by_lines).then(pl.col(b)).otherwise(pl.col(a))  # noqa: E731
    excess = pl.when(by_lines).then(
        (pl.col("line_index_ratio") - 1.0) * pl.col("line_index_expected") * pl.col("indexed_lines"),
    ).otherwise(pl.col("qty_index") - pl.col("qty_index_expected"))
    configured = pl.col("day").is_in(promo_days) if promo_days else pl.lit(False)
    return days.with_columns(
        pick("_qty_index_adj", "_line_index_adj").alias("adj_ratio"),
        pick("_qty_index_zadj", "_line_index_zadj").alias("surge_z"),
        pick("_qty_index_factor", "_line_index_factor").alias("platform_factor"),
        pl.when(by_lines).then(pl.lit("line_index")).otherwise(pl.lit("index")).alias("measure"),
        by_lines.cast(pl.Int8).alias("line_surge"),
        excess.alias("excess_lines"),
        pick("qty_index_weeks", "line_index_weeks").alias("same_weekdays"),
        (configured | (pl.max_horizontal("_qty_index_factor", "_line_index_factor") >= promo))
        .cast(pl.Int8).alias("promo_day"),
    )


def _anomalous(p: dict[str, Any]) -> pl.Expr:
    """A past day kept out of training: beyond the sensitivity — judged against its own
    weekday (a day judged only against recent days may be a weekday the store always orders
    more on: keeping it out would keep the weekly rhythm from ever being learnt)."""
    basis = pl.lit(True) if p["seasonality"] != "day_of_week" else pl.col("same_weekdays") > 0
    return ((pl.col("adj_ratio") >= float(p["min_change"])) & (pl.col("surge_z") >= float(p["sensitivity"]))
            & basis).fill_null(False)


def spread_of(sums: pl.LazyFrame, bins: pl.LazyFrame, p: dict[str, Any]) -> pl.LazyFrame:
    """One line's noise (std of its log ratio to its usual) and the tail a normal line reaches
    (the 99th percentile of the ratios, to 0.001 %): a day whose
    typical line is within that tail — three pieces where one is usual, in a shop selling one,
    two or three — is not a day of huge lines.  A platform frame (one row)."""
    # summed in store-day order: the same bits however the store-days came (one piece, groups' parts)
    by = pl.struct("store_id", "day")
    n, s1, s2 = pl.col("lr_n").sum(), ordered_sum("lr_s1", by), ordered_sum("lr_s2", by)
    var = pl.when(n >= 2).then(((s2 - s1 * s1 / n) / (n - 1)).clip(lower_bound=0.0))
    noise = sums.select(var.sqrt().alias("_line_noise"))
    hist = bins.group_by("bin").agg(pl.col("n").sum()).sort("bin")
    # the rank polars' ``quantile(0.99)`` (interpolation "nearest") reads
    rank = ((pl.col("n").sum() - 1) * 0.99 + 0.5).floor() + 1
    edge = pl.col("bin").cast(pl.Float64) / SPREAD_STEPS
    tail = hist.select(edge.filter(pl.col("n").cum_sum() >= rank).first().exp().alias("_line_tail"))
    return noise.join(tail, how="cross")


def _spread_parts(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    """The line spread's parts of ``ctx``'s store-days (sums and bins in one frame, ``_sums``
    telling which); on state, the stored store-days' parts too (``detectors.volume_state``)."""
    one = _one(ctx, p)
    sums, bins = one["sums"].lazy(), one["bins"].lazy()
    if ctx.state is not None:
        stored_sums, stored_bins = volume_state.stored_spread(ctx, p)
        sums = pl.concat([stored_sums, sums], how="vertical_relaxed")
        bins = pl.concat([stored_bins, bins], how="vertical_relaxed")
    return pl.concat([sums.with_columns(pl.lit(True).alias("_sums")),
                      bins.with_columns(pl.lit(False).alias("_sums"))], how="diagonal_relaxed")


def _line_spread(p: dict[str, Any]) -> Parts:
    """The line spread over every store's lines (:func:`spread_of` of every store-day's parts)."""
    def merge(parts: pl.LazyFrame) -> pl.LazyFrame:
        sums = parts.filter(pl.col("_sums")).select("store_id", "day", "lr_n", "lr_s1", "lr_s2")
        return spread_of(sums, parts.filter(~pl.col("_sums")).select("store_id", "day", "bin", "n"), p)
    return Parts(lambda c: _spread_parts(c, p), merge)


def _factors_of(p: dict[str, Any], days: Any) -> Parts:  # noqa: ANN401 - a pass: ctx -> (days, ...)
    """A pass's day factors (:func:`_factors`) from every store-day's ratios."""
    ratios = [f"{m}_ratio" for m in MEASURES]
    return Parts(lambda c: days(c, p)[0].select("day", *ratios), lambda parts: _factors(parts, p))


def _groups(ctx: DetectContext, p: dict[str, Any]) -> list[pl.Expr | None]:
    return _once(ctx, "groups", p, lambda: volume_lines.store_groups(ctx))


def _one(ctx: DetectContext, p: dict[str, Any]) -> dict[str, Any]:
    """Pass one's line part (``volume_lines.pass_one``), once per context: the line spread,
    pass one's days, pass two and the state's parts all read it."""
    return _once(ctx, "one", p, lambda: volume_lines.pass_one(ctx, p, _groups(ctx, p)))


def _days(days: pl.LazyFrame, spread: pl.LazyFrame, p: dict[str, Any], train: pl.LazyFrame,
          stored: pl.LazyFrame | None) -> pl.LazyFrame:
    """Store-days (``store_days`` of one pass's lines) with ``_train`` and their ratios;
    ``stored``: past store-days of this pass from the baseline state (their lines are not here)."""
    days = days.join(train, on=["store_id", "day"], how="left").with_columns(pl.col("_train").fill_null(True))
    if stored is not None:
        days = pl.concat([days, stored], how="diagonal_relaxed")
    return _ratios(days.join(spread, how="cross").sort("store_id", "day"), p)


def _once(ctx: DetectContext, name: str, p: dict[str, Any], build: Any) -> Any:  # noqa: ANN401
    """``build()`` collected once per context and params: each pass is read by the day
    factors (a platform frame) and by the features; without this every reader recomputed
    it over the whole history (issue 9: a day's batch on months of history)."""
    return ctx.shared(f"volume_day.{name}:" + json.dumps(p, sort_keys=True, default=str), build)


def _promo_days(ctx: DetectContext, p: dict[str, Any]) -> list:
    return sorted(ctx.config.sla.promotion_days) if p["use_promotion_days"] else []


def _first(ctx: DetectContext, p: dict[str, Any]) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Pass one: (store-day ratios, the line spread) with only the configured promotion days
    kept out of training (computed once per context)."""
    def build() -> tuple[pl.LazyFrame, pl.LazyFrame]:
        raw = _one(ctx, p)["days"].lazy()
        configured = (pl.DataFrame({"day": _promo_days(ctx, p)}, schema={"day": pl.Date}).lazy()
                      .join(raw.select("store_id", "day"), on="day")
                      .with_columns(pl.lit(False).alias("_train")))
        spread = ctx.platform("line_spread", _line_spread(p))
        stored = None if ctx.state is None else volume_state.stored_days(ctx, p, 1)
        days, spread = pl.collect_all([_days(raw, spread, p, configured, stored), spread])
        return days.lazy(), spread.lazy()
    return _once(ctx, "first", p, build)


def _bad_days(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    """Store-days kept out of pass two's training: pass one's anomalies and promotion days
    (a stored past day: as it was judged when its lines were scanned)."""
    days1 = _first(ctx, p)[0]
    factors1 = ctx.platform("day_factors_1", _factors_of(p, _first))
    judged1 = _judge(days1, factors1, p, _promo_days(ctx, p))
    fresh = ~pl.col("_stored").fill_null(False) if ctx.state is not None else pl.lit(True)
    bad = judged1.filter(fresh & (_anomalous(p) | (pl.col("promo_day") == 1))).select("store_id", "day")
    if ctx.state is not None:
        bad = pl.concat([bad, volume_state.stored_bad(ctx, p)])
    return bad.with_columns(pl.lit(True).alias("_bad"))


def _second(ctx: DetectContext, p: dict[str, Any]) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Pass two: (store-day ratios, the days kept out of its training) with pass one's
    anomalies, promotion days and outlying lines kept out (computed once per context)."""
    def build() -> tuple[pl.LazyFrame, pl.LazyFrame]:
        bad = _bad_days(ctx, p).collect()
        raw = volume_lines.pass_two(ctx, p, _groups(ctx, p), bad, _one(ctx, p)["lines"])
        train = bad.lazy().select("store_id", "day", pl.lit(False).alias("_train"))
        stored = None if ctx.state is None else volume_state.stored_days(ctx, p, 2)
        days = _days(raw.lazy(), _first(ctx, p)[1], p, train, stored).collect()
        return days.lazy(), bad.lazy()
    return _once(ctx, "second", p, build)


def day_frame(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    """Every store-day of history and batch with its features (both passes).  What is compared
    across stores — the line spread and each pass's day factors — comes through
    ``ctx.platform``, so a partitioned run judges a store group exactly as one piece.  What
    the baseline state keeps of the batch's days is handed to ``ctx.kept``."""
    factors2 = ctx.platform("day_factors_2", _factors_of(p, _second))
    days2, bad = _second(ctx, p)
    one = _one(ctx, p)
    volume_state.keep_days(ctx, p, _first(ctx, p)[0], bad, days2, one["sums"].lazy(), one["bins"].lazy())
    return _judge(days2, factors2, p, _promo_days(ctx, p))
