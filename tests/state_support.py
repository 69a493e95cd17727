"""Raw mode against state mode: the same history and batch, two contexts, one detector's output.

Raw mode is today's scan: the history window (``history.days`` before the batch's first line)
joined to the batch (``orderwatch.runner.partition.combined``), prepared by
``detectors.common.prepare``.  State mode is what a scan with a current baseline state hands a
detector: ``ctx.state`` holds the state tables built from the same history
(``detectors.state_tables.build`` and the other builders in :data:`BUILDERS`) — per-store
tables cut to the batch's stores, platform tables whole — and ``ctx.lines`` holds the batch and
only the stored lines of :func:`detectors.state_slice.recent_slice` (the batch's store-days and
the minutes before them the detector declares in ``Detector.recent``).

A detector is ready for state mode when :func:`assert_same_output` holds for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from contracts.config import Config
from contracts.schema import LINE_KEY
from detectors import REGISTRY, DetectContext
from detectors import state_platform, state_tables
from detectors.common import prepare
from detectors.state_slice import recent_slice
from orderwatch.runner.partition import combined, since_of
from store import History

#: history lines -> state tables; every table a state-mode context is given
BUILDERS: list[Callable[[pl.DataFrame, Config], dict[str, pl.DataFrame]]] = [state_tables.build, state_platform.build]
#: the tables read for the batch's stores only (the others, platform references, are read whole)
PER_STORE = (*state_tables.TABLES, *state_platform.STORE_TABLES)


@dataclass
class Given:
    """What both contexts are built from besides the lines."""
    config: Config
    as_of: datetime
    catalog: pl.DataFrame | None = None
    limits: pl.DataFrame | None = None      # store_id -> credit_limit
    cod_cap: float | None = None


def _window(history: pl.DataFrame, batch: pl.DataFrame, config: Config) -> pl.DataFrame:
    """The stored lines raw mode reads: the history window, one version of each line."""
    since = since_of(batch, config)
    if since is None or history.is_empty():
        return history
    return history.filter(pl.col("created_at") >= since)


def _context(lines: pl.LazyFrame, g: Given, state: dict[str, pl.DataFrame] | None) -> DetectContext:
    return DetectContext(lines=prepare(lines, g.config).collect().lazy(),
                         catalog=g.catalog.lazy() if g.catalog is not None else None,
                         as_of=g.as_of, config=g.config, state=state,
                         limits=g.limits.lazy() if g.limits is not None else None, cod_cap=g.cod_cap)


def raw_context(history: pl.DataFrame, batch: pl.DataFrame, g: Given) -> DetectContext:
    """Today's context: the history window ∪ the batch (batch rows replace their stored copies)."""
    past = _window(history, batch, g.config)
    return _context(combined(batch, past.lazy() if past.height else None), g, None)


def state_tables_of(history: pl.DataFrame, batch: pl.DataFrame, config: Config) -> dict[str, pl.DataFrame]:
    """Every builder's tables from ``history`` (as a rebuild makes them); the per-store ones
    cut to the batch's stores, as the scan reads only their buckets."""
    stores = batch.get_column("store_id").unique().to_list()
    named = [s for s in stores if s is not None]
    out: dict[str, pl.DataFrame] = {}
    for build in BUILDERS:
        for name, table in build(history, config).items():
            if name in PER_STORE:
                keep = pl.col("store_id").is_in(named)
                table = table.filter(keep | pl.col("store_id").is_null() if None in stores else keep)
            out[name] = table
    return out


def state_context(history: pl.DataFrame, batch: pl.DataFrame, g: Given,
                  recent: timedelta | None = None) -> DetectContext:
    """The state-mode context: state tables of the history, the batch and its narrowed slice."""
    past = _window(history, batch, g.config)
    kept = recent_slice(past.lazy(), batch, recent or timedelta(0)).collect() if past.height else past
    return _context(combined(batch, kept.lazy() if kept.height else None), g,
                    state_tables_of(history, batch, g.config))


def outputs(name: str, params: dict[str, Any], history: pl.DataFrame, batch: pl.DataFrame,
            g: Given) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(raw-mode output, state-mode output) of one detector with ``params`` over the defaults."""
    det = REGISTRY[name]
    full = det.with_defaults(params)
    raw = det.compute(raw_context(history, batch, g), full).collect()
    state = det.compute(state_context(history, batch, g, det.recent(full)), full).collect()
    return raw, state


def assert_same_output(name: str, params: dict[str, Any], history: pl.DataFrame, batch: pl.DataFrame,
                       g: Given) -> pl.DataFrame:
    """The detector's output is the same in both modes (rows in any order; floats to 1e-9)."""
    raw, state = outputs(name, params, history, batch, g)
    assert raw.columns == state.columns, (raw.columns, state.columns)
    # rows in the order of their subject (then every column), so a float's last bit cannot reorder them
    keys = [c for c in ("subject", "sku", "line_no", "occurred_at") if c in raw.columns] or raw.columns
    raw, state = (f.sort([*keys, *(c for c in f.columns if c not in keys)], nulls_last=True) for f in (raw, state))
    assert_frame_equal(raw, state, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
    return raw


def scan_into(history: History, config: Config, scan_id: int, batch: pl.DataFrame, kept: dict) -> None:
    """What a scan does to the history and the state after its commit: the batch's new and
    changed lines appended (re-exports replace), the state advanced (``kept``: the batch's
    judged store-days, ``DetectContext.kept``)."""
    from orderwatch.baseline_state import advance_scan
    new, new_keys = history.new_or_changed(batch)
    old = history.versions_of(new if new.height > new_keys else new.head(0))
    before = history.partition_scan_ids()
    history.append(scan_id, new, replaces=new.height > new_keys)
    advance_scan(history, config, scan_id, new, old, before, kept, batch)


def history_and_batch(lines: pl.DataFrame, cut: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Lines created before ``cut`` as the history, the rest as the batch (one version each)."""
    lines = lines.unique(subset=list(LINE_KEY), keep="last", maintain_order=True)
    return lines.filter(pl.col("created_at") < cut), lines.filter(pl.col("created_at") >= cut)


__all__ = ["BUILDERS", "Given", "assert_same_output", "history_and_batch", "outputs", "raw_context",
           "scan_into", "state_context", "state_tables_of"]
