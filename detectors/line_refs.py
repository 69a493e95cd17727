"""What ``line_qty_outlier`` (``volume_surge`` scope ``line``) compares a line with when the
store's own usual for the SKU is not known yet: the platform's usual for the SKU, scaled by the
store's size, else the platform's usual line.

Each is defined over a bounded set of lines, so that the baseline state can keep that set and a
scan on state computes exactly what a scan of the raw window does (``detectors.state_platform``'s
``sku_quantities``, ``detectors.state_tables``' ``sku_window``):

- a SKU's platform usual: the median quantity of its newest ``platform_lines`` taught lines
  (active, with a quantity; every store's, history and batch) — ``_sku_median``, ``_sku_n``;
- the platform's usual line: the median over those same lines of every SKU — a SKU counts its
  newest lines only, so a best-seller does not stand for the platform — ``_platform_median``;
- a store's size *at a line*: the median, over the store's newest ``2 × sku_window`` taught
  lines before it of SKUs it had ordered at least ``min_history`` times (that line included),
  of the line's quantity ÷ the SKU's platform usual — how much more or less than the platform
  this store orders of what it does order — once there are ``min_history`` such lines; else
  unknown (the line is judged against the platform's usual, the cohort).

Why at the line and not over the store's whole window: a size taken over every line of the
export would judge a new store's first (stocking) order against what the store shows weeks
later, and a growing store's early lines against its later size.  A daily scan knows neither;
a backfill must not either.  The store's newest lines before a line are in the state: each of
its pairs keeps its newest ``3 × sku_window`` lines (``history.state.sku_lines``), so every
line among the store's newest ``2 × sku_window`` before a batch line is kept, and its pair's
count up to it reads the same — exact while ``sku_lines`` ≥ 2 × ``sku_window`` + ``min_history``
− 1 (tighter bounds, like a pair's window, run short on the oldest lines).

A median over every line of a quarter cannot be updated without re-reading the lines; a
median over the newest lines of each SKU (of each store) can, and the same definition is used
in raw mode.  In state mode (``ctx.state``) the stored lines whose newer version
``ctx.lines`` holds are replaced by it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from contracts.schema import LINE_KEY
from detectors.base import DetectContext, Parts
from detectors.common import newest_rows

ROW = ["source", "store_id", "order_id", "line_no", "sku", "created_at", "quantity"]
#: newest first: a total order of the lines (ties of time broken by order, line, source, store)
NEWEST = ["created_at", "order_id", "line_no", "source", "store_id"]
PAIR = ["store_id", "sku"]


def taught(lines: pl.LazyFrame) -> pl.LazyFrame:
    """The lines that teach a quantity baseline: active, with a quantity."""
    return lines.filter(pl.col("active") & pl.col("quantity").is_not_null()).select(ROW)


def served(p: dict[str, Any], state: dict[str, pl.DataFrame]) -> bool:
    """True when ``state`` keeps what the line scope reads (its pairs' windows, the SKUs' lines)."""
    return p.get("scope") == "line" and "sku_window" in state and "sku_quantities" in state


def _with_stored(ctx: DetectContext, table: str) -> pl.LazyFrame:
    """``ctx``'s taught lines and, in state mode, ``table``'s stored lines inside the window
    that ``ctx.lines`` does not hold in a newer version."""
    own = taught(ctx.lines)
    if ctx.state is None:
        return own
    schema = own.collect_schema()
    past = (ctx.past_state(table).with_columns([pl.col(k).cast(schema[k]) for k in LINE_KEY])
            .join(ctx.lines.select(LINE_KEY), on=list(LINE_KEY), how="anti", nulls_equal=True))
    return pl.concat([past.select(ROW), own], how="vertical_relaxed")


def _newest(c: DetectContext, n: int) -> pl.LazyFrame:
    """Each SKU's newest ``n`` taught lines (``sku``, ``quantity`` and their order), collected
    once per context: the SKU references and the platform's usual line both part from them."""
    def build() -> pl.DataFrame:
        return newest_rows(_with_stored(c, "sku_quantities"), "quantity", NEWEST, n).collect()
    return c.shared(f"line_refs.newest|{n}", build).lazy()


def _quantities(parts: pl.LazyFrame, n: int) -> pl.LazyFrame:
    """The newest ``n`` of each SKU's parts' lines: their ``sku``, ``quantity``."""
    return newest_rows(parts, "quantity", NEWEST, n).select("sku", "quantity").drop_nulls("quantity")


def sku_refs(n: int) -> Parts:
    """sku -> ``_sku_n``, ``_sku_median``, ``_sku_step``: the SKU's platform usual and the step
    its lines show (a platform frame)."""
    def merge(parts: pl.LazyFrame) -> pl.LazyFrame:
        newest = _quantities(parts, n).collect()
        refs = newest.group_by("sku").agg(pl.len().alias("_sku_n"), pl.col("quantity").median().alias("_sku_median"))
        return refs.join(data_steps(newest), on="sku", how="left", nulls_equal=True).lazy()
    return Parts(lambda c: _newest(c, n), merge)


def data_steps(lines: pl.DataFrame) -> pl.DataFrame:
    """sku -> ``_sku_step``: the greatest common divisor of the SKU's quantities (``lines``:
    ``sku``, ``quantity``), null when one is not a whole number or all are zero.

    Why: without a catalog the order step is unknown, and a SKU sold in tens (10, 20, 30 …)
    has every line of an "extra zero" shape.  Every quantity is a multiple of this step, so a
    zero typed after a valid quantity still reads as one (10 × k steps ÷ 10 = k steps)."""
    q = lines.select("sku", pl.col("quantity").abs().alias("_q")).sort("sku")
    whole = ((pl.col("_q") - pl.col("_q").round()).abs() < 1e-9) & (pl.col("_q") < 2.0 ** 53)
    q = q.with_columns(whole.alias("_whole"), pl.when(whole).then(pl.col("_q").round()).otherwise(1.0)
                       .cast(pl.Int64).alias("_i"))
    if q.height == 0:
        return pl.DataFrame(schema={"sku": q.schema["sku"], "_sku_step": pl.Float64})
    skus = q.select("sku", pl.col("_whole").all().over("sku").alias("_all")).unique("sku", keep="first",
                                                                                   maintain_order=True)
    starts = q.select((pl.col("sku").ne_missing(pl.col("sku").shift(1)) | (pl.int_range(pl.len()) == 0))
                      .arg_true().alias("_s"))["_s"]
    gcd = np.gcd.reduceat(q["_i"].to_numpy(), starts.to_numpy())
    return skus.with_columns(pl.Series("_g", gcd, dtype=pl.Int64)).select(
        "sku", pl.when(pl.col("_all") & (pl.col("_g") > 0)).then(pl.col("_g").cast(pl.Float64)).alias("_sku_step"))


def platform_ref(n: int) -> Parts:
    """One row: ``_platform_median``, ``_platform_n`` over every SKU's newest lines (a platform frame)."""
    return Parts(lambda c: _newest(c, n), lambda parts: _quantities(parts, n).select(
        pl.col("quantity").median().alias("_platform_median"), pl.len().alias("_platform_n")))


def size_lines(p: dict[str, Any]) -> int:
    """How many of a store's newest lines its size at a line is the median of."""
    return 2 * int(p["sku_window"])


def store_sizes(ctx: DetectContext, p: dict[str, Any], sku: pl.LazyFrame) -> pl.LazyFrame:
    """``LINE_KEY`` -> ``_size``: the store's size at each line (see the module), from the lines
    before it only.  In state mode the store's earlier lines come from ``sku_window`` (every pair
    of the context's stores) and ``ctx.lines``."""
    m, min_h = size_lines(p), max(int(p["min_history"]), 1)
    rows = pl.int_range(pl.len(), dtype=pl.Int64)
    # the pair's count of lines up to this one: one sort by pair and the row of the pair's start
    # (a window per pair costs several times more: most pairs are a few lines)
    starts = pl.col("store_id").ne_missing(pl.col("store_id").shift(1)) | pl.col("sku").ne_missing(pl.col("sku").shift(1))
    counted = (_with_stored(ctx, "sku_window").sort(*PAIR, *NEWEST[:4], nulls_last=True)
               .with_columns((rows - pl.when(starts.fill_null(True)).then(rows).forward_fill() + 1).alias("_k"))
               .join(sku, on="sku", how="left", nulls_equal=True)
               .with_columns(pl.when((pl.col("_k") >= min_h) & (pl.col("_sku_median") > 0))
                             .then(pl.col("quantity") / pl.col("_sku_median")).alias("_r")))
    # the store's lines in time order, numbered by the known lines before each (and ``m`` + 1
    # more at every store), so the ``m`` index units before a line are its store's last ``m``
    new_store = pl.col("store_id").ne_missing(pl.col("store_id").shift(1)).fill_null(True)
    known = pl.col("_r").is_not_null().cast(pl.Int64)
    index = known.cum_sum() - known + new_store.cast(pl.Int64).cum_sum() * (m + 1)
    return (counted.sort("store_id", *NEWEST[:4], nulls_last=True)
            .with_columns(pl.col("_r").rolling_median_by(index, window_size=f"{m}i", closed="left",
                                                         min_samples=min_h).alias("_size"))
            .select(*LINE_KEY, "_size"))


__all__ = ["NEWEST", "ROW", "data_steps", "platform_ref", "served", "size_lines", "sku_refs", "store_sizes", "taught"]
