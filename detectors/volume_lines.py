"""The line-level part of ``volume_surge``'s day passes, run one store group at a time.

Each pass gives every line its store×SKU usual (``detectors.baselines.sku_usual``: a sort and
a rolling window) and sums the lines into store-days (``store_days``); both are per store.  What
spans stores — the line spread, each pass's day factors — is computed from the store-day frames
(``detectors.volume_day``), which are small: one row per store-day.  So a scan of more than
:data:`GROUP_LINES` lines runs the line passes on groups of whole stores and keeps only each
group's store-days, and its peak is one group's sorted lines, not the whole batch's (a 10 M-line
scan held the whole batch's sorted lines twice).  A smaller scan is one group, and its pass-one
lines are kept for pass two instead of being recomputed.

Only the narrow columns the passes read (:data:`DAY_COLUMNS`) are selected, before any sort.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from detectors.base import DetectContext
from detectors.baselines import line_ratio, sku_usual, store_days
from detectors.common import ordered_sum
from detectors import volume_state

#: what the day passes read of a line: selected before the first sort, so the passes sort and
#: keep these few columns, not the canonical line's fifty (1 M lines: ~0.8 GiB less)
DAY_COLUMNS = ("store_id", "sku", "created_at", "order_id", "line_no", "quantity", "day", "line_value",
               "store_name", "_in_batch", "_past")

#: the most lines one store group of the line passes holds (a store is never split)
GROUP_LINES = 1_000_000

#: the line spread's 99th percentile is read from the clipped log ratios rounded up to
#: 1 / ``SPREAD_STEPS`` (0.001 % of a ratio; up, so a tail of exactly 2 still holds a day of
#: exactly 2): their counts are mergeable, so the baseline state keeps them per store-day and a
#: scan on state computes exactly what a scan of the raw lines does
SPREAD_STEPS = 100_000

DAY = ["store_id", "day"]


def log_ratio(p: dict[str, Any]) -> pl.Expr:
    """A line's log ratio to its usual, clipped at ``sku_outlier`` either way (null: no usual)."""
    out = float(p["sku_outlier"])
    return line_ratio().clip(1.0 / out, out).log()


def spread_parts(lines: pl.LazyFrame, p: dict[str, Any]) -> tuple[pl.LazyFrame, pl.LazyFrame]:
    """Per store-day: (``lr_n, lr_s1, lr_s2``: count, sum and sum of squares of the lines' log
    ratios; ``bin, n``: their histogram) — what ``volume_day.spread_of`` adds up.  ``lines`` carry
    their pass-one usual (``sku_usual`` with ``sku_min_points``)."""
    logr = pl.col("_lr")
    with_lr = lines.with_columns(log_ratio(p).alias("_lr")).filter(logr.is_not_null())
    # summed in the order of the values, not of the rows: the same store-day gives the same
    # float sums however the rows arrived (one piece, store groups, partitions, Ray tasks)
    sums = with_lr.group_by(DAY).agg(
        pl.len().cast(pl.Int64).alias("lr_n"), ordered_sum(logr).alias("lr_s1"),
        ordered_sum(logr * logr, by=logr).alias("lr_s2"))
    binned = (logr * SPREAD_STEPS).ceil().cast(pl.Int32)
    bins = with_lr.group_by(*DAY, binned.alias("bin")).agg(pl.len().cast(pl.Int64).alias("n"))
    return sums, bins


def active_lines(ctx: DetectContext) -> pl.LazyFrame:
    return ctx.lines.filter(pl.col("active") & pl.col("quantity").is_not_null())


def day_lines(ctx: DetectContext) -> pl.LazyFrame:
    """The active lines of ``ctx`` (``_past`` false) and, on state, the stored windows of
    their store×SKU pairs (``_past`` true: they teach usuals, their days come from state)."""
    active = active_lines(ctx).with_columns(pl.lit(False).alias("_past"))
    lines = active if ctx.state is None else volume_state.with_windows(ctx, active)
    return lines.select(DAY_COLUMNS)


def store_groups(ctx: DetectContext, limit: int | None = None) -> list[pl.Expr | None]:
    """Filters of ``ctx``'s lines by store, each group of whole stores holding about ``limit``
    (:data:`GROUP_LINES`) active lines; ``[None]`` (every line at once) for a smaller scan."""
    limit = limit or GROUP_LINES
    sizes = active_lines(ctx).group_by("store_id").len().sort("store_id", nulls_last=True).collect()
    if sizes.get_column("len").sum() <= limit:
        return [None]
    groups: list[list[Any]] = [[]]
    n = 0
    for store, k in sizes.iter_rows():
        if n and n + k > limit:
            groups.append([])
            n = 0
        groups[-1].append(store)
        n += k
    return [_of(g) for g in groups]


def _of(stores: list[Any]) -> pl.Expr:
    named = [s for s in stores if s is not None]
    keep = pl.col("store_id").is_in(named)
    return keep | pl.col("store_id").is_null() if len(named) < len(stores) else keep


def _usual1(ctx: DetectContext, p: dict[str, Any], keep: pl.Expr | None) -> pl.DataFrame:
    """One store group's lines with their pass-one usual (every line teaches)."""
    lines = day_lines(ctx) if keep is None else day_lines(ctx).filter(keep)
    return sku_usual(lines, int(p["sku_window"]), int(p["sku_min_points"])).collect()


def pass_one(ctx: DetectContext, p: dict[str, Any], groups: list[pl.Expr | None]) -> dict[str, Any]:
    """Pass one per store group: ``days`` (``store_days`` of the lines with their usual, every
    line teaching), ``sums`` and ``bins`` (:func:`spread_parts` of ``ctx``'s own lines) and,
    for one group, ``lines`` (the lines with their usual, for pass two)."""
    out: dict[str, list[pl.DataFrame]] = {"days": [], "sums": [], "bins": []}
    lines = None
    for keep in groups:
        lines = _usual1(ctx, p, keep)
        own = lines.lazy().filter(~pl.col("_past"))
        days, sums, bins = pl.collect_all([store_days(own), *spread_parts(own, p)])
        out["days"].append(days)
        out["sums"].append(sums)
        out["bins"].append(bins)
    got: dict[str, Any] = {k: pl.concat(v) for k, v in out.items()}
    got["lines"] = lines if len(groups) == 1 else None
    return got


def pass_two(ctx: DetectContext, p: dict[str, Any], groups: list[pl.Expr | None], bad: pl.DataFrame,
             lines1: pl.DataFrame | None) -> pl.DataFrame:
    """Pass two's store-days per store group: pass one's outlying lines (``sku_outlier`` times
    their usual or more, or as many times less) and the lines of ``bad`` days teach nothing.
    ``lines1``: pass one's lines of the only group (else each group's are recomputed)."""
    out, r = float(p["sku_outlier"]), line_ratio()
    days = []
    for keep in groups:
        lines = lines1 if lines1 is not None else _usual1(ctx, p, keep)
        marked = (lines.lazy().with_columns(((r >= out) | (r <= 1.0 / out)).fill_null(False).alias("_out"))
                  .drop("usual_qty", "usual_n")
                  .join(bad.lazy(), on=DAY, how="left", maintain_order="left"))
        taught = ~(pl.col("_out") | pl.col("_bad").fill_null(False))
        # pass one's lines, row for row: already in the total order the windows read
        lines2 = sku_usual(marked, int(p["sku_window"]), int(p["sku_min_points"]), taught, ordered=True)
        days.append(store_days(lines2.filter(~pl.col("_past"))).collect())
    return pl.concat(days)


__all__ = ["DAY_COLUMNS", "GROUP_LINES", "SPREAD_STEPS", "active_lines", "day_lines", "log_ratio",
           "pass_one", "pass_two", "spread_parts", "store_groups"]
