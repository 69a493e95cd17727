"""The raw lines a state-mode scan still reads: the batch's own store-days, and the minutes
before them that a detector declares (``Detector.recent``).

Why a slice and not nothing: a duplicate or a correction pairs an order with one placed minutes
earlier, and a store-day whose lines arrive in several scans is judged whole — no compact table
holds those.  Everything older comes from the baseline state (``DetectContext.state``).

The slice of a store is its stored lines with ``created_at`` in ``[D − recent, D + 1 day)`` for
each business day ``D`` the batch has lines of that store on: every batch line at time ``t`` on
day ``D`` then sees all stored lines of ``[t − recent, t]`` (and the rest of its day).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import polars as pl

from detectors import REGISTRY


def recent_needed(rules: Iterable) -> timedelta:
    """The longest ``recent`` any of ``rules``' detectors declares (zero: the batch's days only)."""
    out = timedelta(0)
    for r in rules:
        det = REGISTRY[r.detector]
        got = det.recent_of(r.params) if det.input == "lines" else None
        if got is not None and got > out:
            out = got
    return out


def batch_days(batch: pl.DataFrame) -> pl.DataFrame:
    """(store_id, day) of every batch line: the store-days the slice is cut around."""
    return (batch.select("store_id", pl.col("created_at").dt.date().alias("_day"))
            .drop_nulls("_day").unique())


def recent_slice(past: pl.LazyFrame, batch: pl.DataFrame, recent: timedelta) -> pl.LazyFrame:
    """The stored lines of ``past`` a state-mode context holds beside the batch (see the module).

    A line is kept when its store has batch lines on its business day, or on a later day ``D``
    and it falls within ``recent`` before ``D``'s start (a ``recent`` of more than a day reaches
    back as many days).  Stores are matched exactly (a null store matches a null store)."""
    days = batch_days(batch).lazy()
    back = max(0, -(-int(recent.total_seconds()) // 86400))      # whole days ``recent`` may reach back
    whole = pl.lit(None, dtype=pl.Datetime("us"))                 # the batch's own day: all of it
    reach = [days.select("store_id", (pl.col("_day") - pl.duration(days=k)).alias("_key"),
                         (pl.col("_day").cast(pl.Datetime("us")) - recent).alias("_from") if k else whole.alias("_from"))
             for k in range(back + 1)]
    # per stored store-day the earliest moment kept (null: the whole day)
    cut = (pl.concat(reach).group_by("store_id", "_key")
           .agg(pl.when(pl.col("_from").is_null().any()).then(None).otherwise(pl.col("_from").min()).alias("_from")))
    return (past.with_columns(pl.col("created_at").dt.date().alias("_key"))
            .join(cut, on=["store_id", "_key"], how="inner", nulls_equal=True)
            .filter(pl.col("_from").is_null() | (pl.col("created_at") >= pl.col("_from")))
            .drop("_key", "_from"))
