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
- a store's size: the median, over the newest ``sku_window`` taught lines of each of the store's
  SKUs with at least ``min_history`` of them, of the line's quantity ÷ the SKU's platform usual —
  how much more or less than the platform this store orders of what it does order.

A median over every line of a quarter cannot be updated without re-reading the lines; a
median over the newest lines of each SKU (of each pair) can, and the same definition is used
in raw mode.  In state mode (``ctx.state``) the stored lines whose newer version
``ctx.lines`` holds are replaced by it.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from contracts.schema import LINE_KEY
from detectors.base import DetectContext

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


def _newest(c: DetectContext, n: int) -> pl.DataFrame:
    """Each SKU's newest ``n`` taught lines' quantities (``sku``, ``quantity``), collected once
    per context: the SKU references and the platform's usual line are both taken over them."""
    def build() -> pl.DataFrame:
        lines = _with_stored(c, "sku_quantities")
        return (lines.group_by("sku").agg(pl.col("quantity").top_k_by(NEWEST, k=n))
                .explode("quantity").drop_nulls("quantity").collect())
    return c.shared(f"line_refs.newest|{n}", build)


def sku_refs(c: DetectContext, n: int) -> pl.LazyFrame:
    """sku -> ``_sku_n``, ``_sku_median``: the SKU's platform usual (a platform frame)."""
    return _newest(c, n).lazy().group_by("sku").agg(pl.len().alias("_sku_n"),
                                                     pl.col("quantity").median().alias("_sku_median"))


def platform_ref(c: DetectContext, n: int) -> pl.LazyFrame:
    """One row: ``_platform_median``, ``_platform_n`` over every SKU's newest lines (a platform frame)."""
    return _newest(c, n).lazy().select(pl.col("quantity").median().alias("_platform_median"),
                                       pl.len().alias("_platform_n"))


def store_sizes(ctx: DetectContext, p: dict[str, Any], sku: pl.LazyFrame) -> pl.LazyFrame:
    """store_id -> ``_size``: the median, over the newest ``sku_window`` lines of each of the
    store's pairs with at least ``min_history`` lines, of the line's quantity ÷ its SKU's
    platform usual (see the module: a pair weighs as many lines as its usual reads, so the SKUs
    a store orders often weigh more than one it tried a few times).  In state mode the pairs'
    newest lines come from ``sku_window`` (every pair of the context's stores) and ``ctx.lines``."""
    window, min_h = int(p["sku_window"]), int(p["min_history"])
    newest = pl.col("quantity").tail(window)    # a group keeps the rows' order: oldest to newest
    # one sort and a tail per pair: several times faster than a top_k_by per pair (many small groups)
    pairs = (_with_stored(ctx, "sku_window").sort(*PAIR, *NEWEST[:4], nulls_last=True)
             .group_by(PAIR).agg(newest.alias("_q"))
             .filter(pl.col("_q").list.len() >= max(min_h, 1)).explode("_q"))
    return (pairs.join(sku, on="sku", how="inner", nulls_equal=True)
            .filter(pl.col("_sku_median") > 0)
            .group_by("store_id").agg((pl.col("_q") / pl.col("_sku_median")).median().alias("_size")))


__all__ = ["NEWEST", "ROW", "platform_ref", "served", "sku_refs", "store_sizes", "taught"]
