"""``sku_pairs``: each store × SKU pair's kept window as ONE row, for the line rule's store size.

A store's size (``detectors.line_refs.store_sizes``) is taken over the newest ``sku_window``
lines of *every* pair of the store, so a scan on state read and sorted the whole ``sku_window``
of its stores (1.76 M rows for a one-day batch of 1,121 stores, issue 9).  This table keeps per
pair the same lines' times and quantities as two lists, oldest first in ``sku_usual``'s total
order (time, order, line, source): a scan reads one row per pair, takes the lines inside its
history window (a suffix: the lists are in time order) and their last ``sku_window`` — no sort.

Only the pairs a scan's lines can change are read from ``sku_window`` (:func:`touched_windows`:
the pairs of its lines, and of the stored lines of its orders — a re-exported line may have
moved to another SKU); the state update rewrites only the rows of pairs whose window changed.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

PAIR = ["store_id", "sku"]
ORDER = ["source", "store_id", "order_id"]
#: ``sku_usual``'s order of a pair's lines, oldest first
ORDERED = ["created_at", "order_id", "line_no", "source"]

SCHEMA: dict[str, pl.DataType] = {"store_id": pl.String(), "sku": pl.String(),
                                  "times": pl.List(pl.Datetime("us")), "qs": pl.List(pl.Float64())}


def pairs_of(window: pl.DataFrame) -> pl.DataFrame:
    """One row per pair of ``window`` (``sku_window`` rows): its times and quantities, oldest first."""
    return (window.lazy().sort([*PAIR, *ORDERED], nulls_last=True)
            .group_by(PAIR, maintain_order=True)
            .agg(pl.col("created_at").alias("times"), pl.col("quantity").alias("qs"))
            .select([pl.col(c).cast(t) for c, t in SCHEMA.items()]).collect())


def advance_pairs(stored: pl.DataFrame, window: pl.DataFrame, touched: pl.DataFrame) -> pl.DataFrame:
    """``stored`` pairs with the ``touched`` ones (``PAIR``) taken again from the new ``window``."""
    touched = touched.select([pl.col(c).cast(SCHEMA[c]) for c in PAIR]).unique()
    kept = stored.join(touched, on=PAIR, how="anti", nulls_equal=True)
    return pl.concat([kept, pairs_of(window.join(touched, on=PAIR, how="semi", nulls_equal=True))])


def touched_windows(window: pl.LazyFrame, lines: pl.LazyFrame) -> pl.LazyFrame:
    """The rows of ``window`` (``sku_window``) of every pair ``lines`` can change: their own
    pairs, and the pairs of the stored lines of their orders (a line's stored version, which
    ``lines`` replaces, may have had another SKU)."""
    keys = lines.select([pl.col(c).cast(pl.String) for c in ORDER]).unique()
    pairs = pl.concat([lines.select([pl.col(c).cast(pl.String) for c in PAIR]),
                       window.join(keys, on=ORDER, how="semi", nulls_equal=True).select(PAIR)]).unique()
    return window.join(pairs, on=PAIR, how="semi", nulls_equal=True)


def recent(pairs: pl.LazyFrame, start: datetime | None, window: int, min_lines: int) -> pl.LazyFrame:
    """(store_id, sku, ``_q``): each pair's newest ``window`` quantities from ``start`` on, of
    the pairs with at least ``min_lines`` lines from then on (``line_refs.store_sizes``' rows)."""
    times = pl.col("times")
    size = times.list.len().cast(pl.Int64)
    if start is None:       # every line, a line without a time among the newest (sorted last)
        inside, end = size, size
    else:                   # the lines from ``start`` on: a run just before those without a time
        inside = times.list.eval((pl.element() >= start).sum()).list.first().cast(pl.Int64)
        end = size - times.list.eval(pl.element().is_null().sum()).list.first().cast(pl.Int64)
    n = pl.min_horizontal(inside, pl.lit(window, pl.Int64))
    return (pairs.with_columns(n.alias("_n"), end.alias("_end"))
            .filter(pl.col("_n") >= max(min_lines, 1))
            .select(*PAIR, pl.col("qs").list.slice(pl.col("_end") - pl.col("_n"), pl.col("_n")).alias("_q"))
            .explode("_q"))


__all__ = ["SCHEMA", "advance_pairs", "pairs_of", "recent", "touched_windows"]
