"""What a scan on a current baseline state reads: its stores' state rows and a bounded slice.

When the state includes every history partition (``orderwatch.baseline_state.is_current``),
a detector that can (``Detector.from_state``) reads its baselines from the state rows of the
batch's stores (``DetectContext.state``) and is given, as lines, the batch plus the raw lines
already stored for the batch's own store-days (a day spanning scans, re-exported lines: the
only raw history read, bounded by the batch's store-days).  Other detectors are given the raw
history window as before (``DetectContext.raw``, read only when one of them runs).  A stale or
missing state is read from the raw window, and the scan's state update rebuilds it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import polars as pl

from contracts.config import Config
from detectors.state_slice import recent_slice
from orderwatch import platform_state
from orderwatch.baseline_state import _bounds_meta, is_current, state_of
from store import History

#: tables read for every store (the platform's line spread), not only the batch's
PLATFORM = {"spread_days": "judged_days", "spread_bins": "day_bins"}


@dataclass
class StateView:
    """The state rows a scan (or one store partition) reads, and what that cost."""
    tables: dict[str, pl.DataFrame]
    day_slice: pl.DataFrame              # stored raw lines of the batch's store-days
    state_rows: int = 0                  # state rows read
    rows: dict[str, int] = field(default_factory=dict)   # per table

    @property
    def slice_rows(self) -> int:
        return self.day_slice.height


def current(history: History, config: Config) -> bool:
    """True when the state beside ``history`` includes every partition and today's bounds."""
    return not history.empty and is_current(state_of(history), history, config, history.partition_scan_ids())


def day_slice(history: History, batch: pl.DataFrame, recent: timedelta = timedelta(0)) -> pl.DataFrame:
    """The stored raw lines of the batch's store-days and the ``recent`` before each
    (``detectors.state_slice``: what duplicate and correction pairs need), pushed down on ``created_at``."""
    days = batch.select("store_id", pl.col("created_at").dt.date().alias("_day")).unique().drop_nulls("_day")
    if days.is_empty():
        return history.scan().head(0).collect()
    lo = datetime.combine(days.get_column("_day").min(), time()) - recent
    return recent_slice(history.scan(lo), batch, recent).collect()


def read_view(history: History, config: Config, batch: pl.DataFrame, since: datetime | None,
              platform: bool = True, recent: timedelta = timedelta(0)) -> StateView:
    """The state rows of the batch's stores (the sku windows of every pair of theirs: a store's
    size, ``detectors.line_refs``, is taken over all its pairs), the bounded
    slice (``recent``: how far before each store-day, ``detectors.state_slice.recent_needed``),
    and with ``platform`` the line spread's parts of every store and the platform tables (a driver's)."""
    st = state_of(history)
    sliced = day_slice(history, batch, recent)
    both = pl.concat([batch.select("store_id"), sliced.select("store_id")], how="vertical_relaxed")
    stores = both.get_column("store_id").unique().to_list()
    since_day = since.date() if since is not None else None
    tables = st.read(stores, tables=("sku_window", "judged_days", "store_days", "store_orders",
                                                          *platform_state.STORE_SCHEMAS), since_day=since_day)
    if platform:
        every = st.read(None, tables=tuple(PLATFORM.values()), since_day=since_day)
        tables.update({name: every[t] for name, t in PLATFORM.items()})
        tables.update(platform_state.read(st))
    tables["keys"] = pl.DataFrame({"key": _bounds_meta(config)["bounds"]["judged"]}, schema={"key": pl.String})
    return StateView(tables, sliced, st.rows_read, {t: f.height for t, f in tables.items()})


__all__ = ["StateView", "current", "day_slice", "read_view"]
