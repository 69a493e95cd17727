"""Keeping the baseline state in step with the history: one scan's update, and rebuilds.

A scan calls :func:`advance_scan` after its history partition is in place: the state rows of
the batch's stores are read (never the raw lines), updated with the scan's new and changed
lines (a re-exported line's stored version is subtracted first) and written back.  A state
that does not include the history's newest partition is stale and is rebuilt from the raw
lines instead; :func:`rebuild` is also ``orderwatch history rebuild`` (after a crash, after a
rule change that needs a new aggregate, after editing ``history.state``).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from contracts.config import Config
from detectors.state_tables import SCHEMAS, Bounds, advance, build
from store import History
from store.baseline_state import BaselineState


def state_of(history: History) -> BaselineState:
    """The state beside ``history`` (``<history dir>/state``)."""
    return BaselineState(history.dir / "state", SCHEMAS)


@dataclass
class StateUpdate:
    rebuilt: bool            # True: rebuilt from raw lines (stale, or no state yet)
    stores: int              # stores whose rows were rewritten (0 when rebuilt)
    state_rows_read: int     # state rows read for the update
    raw_rows_read: int       # raw history lines read (stored versions of re-exported lines)
    rows: dict[str, int]     # rows now in each table for those stores (all stores when rebuilt)


def _bounds_meta(config: Config) -> dict:
    b = Bounds.of(config)
    return {"bounds": {"sku_lines": b.sku_lines, "order_count": b.order_count, "days": b.days}}


def rebuild(history: History, config: Config) -> StateUpdate:
    """The state computed again from every raw line in the history (its newest versions)."""
    st = state_of(history)
    lines = history.scan().collect()
    tables = build(lines, config)
    parts = history.partition_scan_ids()
    st.clear()
    st.replace(tables, None, max(parts) if parts else 0, _bounds_meta(config))
    return StateUpdate(True, 0, 0, lines.height, {t: f.height for t, f in tables.items()})


def is_current(st: BaselineState, history: History, config: Config, before: list[int]) -> bool:
    """True when the state includes every partition in ``before`` and was kept with today's bounds."""
    got = st.includes()
    if got is None or (before and got < max(before)):
        return False
    return st.meta().get("bounds") == _bounds_meta(config)["bounds"]


def advance_scan(history: History, config: Config, scan_id: int, new_lines: pl.DataFrame,
                 old_versions: pl.DataFrame, before: list[int]) -> StateUpdate:
    """Update the state with one scan's new and changed lines (``old_versions``: the stored
    versions they replace, read before the scan's partition landed); ``before``: the
    history's partitions before this scan.  A stale state is rebuilt instead."""
    st = state_of(history)
    if not is_current(st, history, config, before):
        return rebuild(history, config)
    stores = new_lines.get_column("store_id").unique().to_list() if new_lines.height else []
    if not stores:
        st.replace({t: pl.DataFrame(schema=s) for t, s in SCHEMAS.items()}, [], scan_id, _bounds_meta(config))
        return StateUpdate(False, 0, 0, old_versions.height, {t: 0 for t in SCHEMAS})
    current = st.read(stores)
    tables = advance(current, new_lines, old_versions, config)
    st.replace(tables, stores, scan_id, _bounds_meta(config))
    return StateUpdate(False, len(stores), st.rows_read, old_versions.height, {t: f.height for t, f in tables.items()})


def after_commit(history: History, config: Config, scan_id: int, new_lines: pl.DataFrame,
                 old_versions: pl.DataFrame, before: list[int]) -> StateUpdate | None:
    """:func:`advance_scan` for a scan that has committed: a failure here must not fail the
    scan (its flags and history are stored), so the state is marked stale instead and the
    next scan rebuilds it.  None when that happened."""
    try:
        return advance_scan(history, config, scan_id, new_lines, old_versions, before)
    except Exception:   # noqa: BLE001 - derived data: rebuilt from the raw lines next time
        state_of(history).mark_stale()
        return None


__all__ = ["StateUpdate", "advance_scan", "after_commit", "is_current", "rebuild", "state_of"]
