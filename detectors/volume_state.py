"""The store-day scope of ``volume_surge`` on the baseline state instead of the raw history.

A store-day is judged once, when its lines are scanned; what later days need of it is kept
as one row (``judged_days``): its totals, its quantity and line index and indexed lines of
both passes, whether it taught pass one (``train1``: not a configured promotion day) and
whether pass one found it anomalous or a promotion day (``bad1``: it teaches nothing in pass
two), and the parts of the platform's line spread (count, sum, sum of squares of its lines'
clipped log ratios, and their histogram in ``day_bins``).  A scan on state then recomputes
only the batch's store-days — from the batch, the raw lines already stored for those same
store-days (a bounded read) and each store×SKU pair's stored window of recent lines
(``sku_window``), which teach the lines' usuals — and reads every other day from its row.

The rows are keyed by the day rule's parameters (:func:`params_key`): a rule with other
parameters has no rows until ``orderwatch history rebuild`` (the scan rebuilds a state kept
for other rules by itself, ``orderwatch.baseline_state``).

*Exact, and where bounded:* the features of a batch's store-days equal those of the raw
history window when the store's history lies within that window and arrives in time order;
they may differ when a re-export changes a line that earlier store-days or later lines'
usuals were judged with (that day's row is as it was judged; ``history rebuild`` recomputes
every row), when more than half of a pair's kept lines are outliers or on anomalous days (a
window of ``history.state.sku_lines`` — 3 × ``sku_window`` — then runs short), and on the
window's oldest day (raw lines from the moment ``history.days`` back, state rows from that
day); a day's platform factor counts the stores of the scans that judged it.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import polars as pl

from contracts.schema import LINE_KEY
from detectors.base import DetectContext

PAIR = ["store_id", "sku"]
DAY = ["store_id", "day"]

JUDGED_DAYS: dict[str, pl.DataType] = {
    "key": pl.String(), "store_id": pl.String(), "day": pl.Date(), "day_qty": pl.Float64(),
    "day_lines": pl.Int64(), "qty_index1": pl.Float64(), "line_index1": pl.Float64(), "indexed1": pl.Int64(),
    "train1": pl.Boolean(), "bad1": pl.Boolean(), "qty_index2": pl.Float64(), "line_index2": pl.Float64(),
    "indexed2": pl.Int64(), "lr_n": pl.Int64(), "lr_s1": pl.Float64(), "lr_s2": pl.Float64(),
}
DAY_BINS: dict[str, pl.DataType] = {"key": pl.String(), "store_id": pl.String(), "day": pl.Date(),
                                    "bin": pl.Int32(), "n": pl.Int64()}
SCHEMAS = {"judged_days": JUDGED_DAYS, "day_bins": DAY_BINS}

#: the parameters a judged store-day depends on
KEY_PARAMS = ("seasonality", "window", "level_days", "min_training_set_size", "min_history", "sensitivity",
              "min_change", "min_spread", "promo_factor", "use_promotion_days", "sku_window",
              "sku_min_points", "sku_outlier", "min_platform_stores")


def params_key(p: dict[str, Any]) -> str:
    """The state rows' key of a day rule's parameters (stable across processes)."""
    text = json.dumps({k: p.get(k) for k in KEY_PARAMS}, sort_keys=True, default=str)
    return f"{zlib.crc32(text.encode('utf-8')):08x}"


def served(p: dict[str, Any], state: dict[str, pl.DataFrame]) -> bool:
    """True when the state keeps judged store-days for these parameters (``state['keys']``)."""
    keys = state.get("keys")
    return p.get("scope") == "day" and keys is not None and params_key(p) in keys.get_column("key").to_list()


def _batch_days(ctx: DetectContext) -> pl.LazyFrame:
    """The store-days the batch has lines on: recomputed from the batch and their stored lines
    (which ``ctx.lines`` holds whole); every other store-day is read from its stored row."""
    return ctx.lines.filter(pl.col("_in_batch")).select("store_id", "day").unique()


def own_lines(ctx: DetectContext, active: pl.LazyFrame) -> pl.LazyFrame:
    """``active`` lines of the batch's store-days only: a slice may also hold the minutes before
    them that another detector asks for (``Detector.recent``), whose days are stored rows."""
    return active.join(_batch_days(ctx), on=DAY, how="semi", nulls_equal=True)


def _judged(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    """This rule's stored store-days of the context's stores, the recomputed ones left out."""
    rows = ctx.state["judged_days"].lazy().filter(pl.col("key") == params_key(p))
    if ctx.since is not None:
        rows = rows.filter(pl.col("day") >= ctx.since.date())
    return rows.join(_batch_days(ctx), on=DAY, how="anti", nulls_equal=True)


def with_windows(ctx: DetectContext, active: pl.LazyFrame) -> pl.LazyFrame:
    """``active`` (``_past`` false) and the stored windows of its store×SKU pairs (``_past``
    true), less the stored versions of lines ``ctx`` holds (the batch's replace them)."""
    active = own_lines(ctx, active)
    schema = active.collect_schema()
    window = ctx.state["sku_window"].lazy()
    if ctx.since is not None:
        window = window.filter(pl.col("created_at") >= ctx.since)
    keys = [pl.col(k).cast(schema[k]) for k in LINE_KEY]
    window = (window.with_columns(keys)
              .join(active.select(PAIR).unique(), on=PAIR, how="semi", nulls_equal=True)
              .join(active.select(LINE_KEY), on=list(LINE_KEY), how="anti", nulls_equal=True)
              .join(ctx.lines.filter(pl.col("_in_batch")).select(LINE_KEY), on=list(LINE_KEY), how="anti",
                    nulls_equal=True)
              .with_columns(pl.col("created_at").dt.date().alias("day"), pl.lit(True).alias("_past"),
                            pl.lit(False).alias("_in_batch"), pl.lit(True).alias("active")))
    return pl.concat([active, window.select([c for c in window.collect_schema() if c in schema])],
                     how="diagonal_relaxed")


def stored_days(ctx: DetectContext, p: dict[str, Any], n: int) -> pl.LazyFrame:
    """Pass ``n``'s past store-days as ``detectors.baselines.store_days`` gives them, with
    their ``_train`` (pass one: ``train1``; pass two: not ``bad1``) and ``_stored``."""
    train = pl.col("train1") if n == 1 else ~pl.col("bad1")
    return _judged(ctx, p).select(
        "store_id", "day", "day_qty", "day_lines",
        pl.col(f"qty_index{n}").alias("qty_index"), pl.col(f"line_index{n}").alias("line_index"),
        pl.col(f"indexed{n}").alias("indexed_lines"), pl.col("day").dt.weekday().alias("weekday"),
        train.alias("_train"), pl.lit(False).alias("_in_batch"), pl.lit(True).alias("_stored"))


def stored_bad(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    """Past store-days pass one kept out of pass two's training, as judged then."""
    return _judged(ctx, p).filter(pl.col("bad1")).select("store_id", "day")


def stored_spread(ctx: DetectContext, p: dict[str, Any]) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Every store's stored parts of the line spread (``state['spread_days']``,
    ``state['spread_bins']``: all stores, not only the context's), the recomputed days left out."""
    key, out = params_key(p), []
    for name, cols in (("spread_days", ("lr_n", "lr_s1", "lr_s2")), ("spread_bins", ("bin", "n"))):
        rows = ctx.state[name].lazy().filter(pl.col("key") == key)
        if ctx.since is not None:
            rows = rows.filter(pl.col("day") >= ctx.since.date())
        out.append(rows.join(_batch_days(ctx), on=DAY, how="anti", nulls_equal=True).select(*DAY, *cols))
    return out[0], out[1]


def keep_days(ctx: DetectContext, p: dict[str, Any], days1: pl.LazyFrame, bad: pl.LazyFrame,
              days2: pl.LazyFrame, sums: pl.LazyFrame, bins: pl.LazyFrame) -> None:
    """Hand the batch's judged store-days to ``ctx.kept`` (the scan stores them after its commit)."""
    key = params_key(p)
    fresh = pl.col("_in_batch")
    if "_stored" in days1.collect_schema():
        fresh = fresh & ~pl.col("_stored").fill_null(False)
    two = days2.filter(fresh).select(*DAY, pl.col("qty_index").alias("qty_index2"),
                                     pl.col("line_index").alias("line_index2"),
                                     pl.col("indexed_lines").alias("indexed2"))
    rows = (days1.filter(fresh)
            .select(*DAY, "day_qty", "day_lines", pl.col("qty_index").alias("qty_index1"),
                    pl.col("line_index").alias("line_index1"), pl.col("indexed_lines").alias("indexed1"),
                    pl.col("_train").alias("train1"))
            .join(bad.select(*DAY, "_bad"), on=DAY, how="left", nulls_equal=True)
            .join(two, on=DAY, how="left", nulls_equal=True)
            .join(sums, on=DAY, how="left", nulls_equal=True)
            .with_columns(pl.lit(key).alias("key"), pl.col("_bad").fill_null(False).alias("bad1"),
                          pl.col("lr_n").fill_null(0), pl.col("lr_s1", "lr_s2").fill_null(0.0)))
    ctx.kept[f"judged_days|{key}"] = rows.select([pl.col(c).cast(t) for c, t in JUDGED_DAYS.items()])
    ctx.kept[f"day_bins|{key}"] = (bins.join(rows.select(DAY), on=DAY, how="semi", nulls_equal=True)
                                   .with_columns(pl.lit(key).alias("key"))
                                   .select([pl.col(c).cast(t) for c, t in DAY_BINS.items()]))


__all__ = ["DAY_BINS", "JUDGED_DAYS", "SCHEMAS", "keep_days", "params_key", "served", "stored_bad",
           "stored_days", "stored_spread", "with_windows"]
