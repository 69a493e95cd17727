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
from datetime import datetime

import polars as pl

from contracts.config import Config
from detectors import DetectContext, volume_state
from detectors.common import prepare
from detectors.state_tables import ALL_SCHEMAS, SCHEMAS, Bounds, advance, build
from detectors.volume_day import day_frame
from orderwatch import platform_state
from store import History
from store.baseline_state import BaselineState

JUDGED = tuple(volume_state.SCHEMAS)


def state_of(history: History) -> BaselineState:
    """The state beside ``history`` (``<history dir>/state``)."""
    return BaselineState(history.dir / "state", {**ALL_SCHEMAS, **platform_state.STORE_SCHEMAS})


def day_params(config: Config) -> list[dict]:
    """The parameters of every day-scope ``volume_surge`` rule (live and shadow), by state key:
    the store-days the state keeps judged for them (``detectors.volume_state``)."""
    from rules import load_rules   # the rules package reads the detectors: import when asked
    from detectors import REGISTRY
    out: dict[str, dict] = {}
    for rule in load_rules(config, include_shadow=True):
        if rule.detector == "volume_surge":
            p = REGISTRY["volume_surge"].with_defaults(rule.params)
            if p["scope"] == "day":
                out.setdefault(volume_state.params_key(p), p)
    return [out[k] for k in sorted(out)]


def judged_from_raw(lines: pl.DataFrame, config: Config, params: list[dict] | None = None) -> dict[str, pl.DataFrame]:
    """Every store-day of ``lines`` judged by each day rule, as the state keeps them (a rebuild)."""
    params = day_params(config) if params is None else params
    out = {t: pl.DataFrame(schema=s) for t, s in volume_state.SCHEMAS.items()}
    if not params or lines.is_empty():
        return out
    prepared = prepare(lines.lazy().with_columns(pl.lit(True).alias("_in_batch")), config).collect().lazy()
    ctx = DetectContext(lines=prepared, catalog=None, as_of=datetime.now(), config=config, orders=prepared.head(0))
    for p in params:
        day_frame(ctx, p)
    return merge_kept(out, ctx.kept)


def merge_kept(tables: dict[str, pl.DataFrame], kept: dict[str, pl.LazyFrame | pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """``tables``' judged rows with the ``kept`` rows of a scan in place of the same store-days."""
    out = dict(tables)
    for table, schema in volume_state.SCHEMAS.items():
        frames = [f.lazy() for name, f in kept.items() if name.split("|", 1)[0] == table]
        if not frames:
            continue
        new = pl.concat(frames).collect()
        old = out.get(table, pl.DataFrame(schema=schema))
        out[table] = pl.concat([old.join(new.select("key", "store_id", "day").unique(),
                                         on=["key", "store_id", "day"], how="anti", nulls_equal=True), new])
    return out


@dataclass
class StateUpdate:
    rebuilt: bool            # True: rebuilt from raw lines (stale, or no state yet)
    stores: int              # stores whose rows were rewritten (0 when rebuilt)
    state_rows_read: int     # state rows read for the update
    raw_rows_read: int       # raw history lines read (stored versions of re-exported lines)
    rows: dict[str, int]     # rows now in each table for those stores (all stores when rebuilt)


def _bounds_meta(config: Config) -> dict:
    """What the state was kept with: a change of any of it rebuilds the state."""
    b = Bounds.of(config)
    return {"bounds": {"sku_lines": b.sku_lines, "order_count": b.order_count, "days": b.days,
                       "judged": [volume_state.params_key(p) for p in day_params(config)],
                       "promotion_days": sorted(str(d) for d in config.sla.promotion_days),
                       "platform": platform_state.bounds_meta(config)}}


def _bound_judged(tables: dict[str, pl.DataFrame], config: Config) -> dict[str, pl.DataFrame]:
    """Judged store-days within ``history.state.days`` of each store's newest."""
    b, out = Bounds.of(config), dict(tables)
    for table in JUDGED:
        rows = out[table]
        newest = pl.col("day").max().over("store_id")
        out[table] = rows.filter(pl.col("day") > newest - pl.duration(days=b.days)).sort("store_id", "day")
    return out


def rebuild(history: History, config: Config) -> StateUpdate:
    """The state computed again from every raw line in the history (its newest versions)."""
    st = state_of(history)
    lines = history.scan().collect()
    tables = _bound_judged({**build(lines, config), **judged_from_raw(lines, config)}, config)
    parts = history.partition_scan_ids()
    st.clear()
    tables.update(platform_state.rebuilt(st, lines, config))     # the platform tables first: meta last
    st.replace(tables, None, max(parts) if parts else 0, _bounds_meta(config))
    return StateUpdate(True, 0, 0, lines.height, {t: f.height for t, f in tables.items()})


def is_current(st: BaselineState, history: History, config: Config, before: list[int]) -> bool:
    """True when the state includes every partition in ``before`` and was kept with today's bounds."""
    got = st.includes()
    if got is None or (before and got < max(before)):
        return False
    return st.meta().get("bounds") == _bounds_meta(config)["bounds"]


def advance_scan(history: History, config: Config, scan_id: int, new_lines: pl.DataFrame,
                 old_versions: pl.DataFrame, before: list[int],
                 kept: dict[str, pl.DataFrame] | None = None, batch: pl.DataFrame | None = None) -> StateUpdate:
    """Update the state with one scan's new and changed lines (``old_versions``: the stored
    versions they replace, read before the scan's partition landed); ``before``: the
    history's partitions before this scan; ``kept``: the batch's store-days as the detectors
    judged them (``DetectContext.kept``), in place of the stored rows of ``batch``'s store-days.
    A stale state is rebuilt instead."""
    st = state_of(history)
    if not before and kept:     # the first scan: its own lines are the whole history, judged already
        tables = _bound_judged(merge_kept({**build(new_lines, config)}, kept), config)
        st.clear()
        tables.update(platform_state.rebuilt(st, new_lines, config))     # the platform tables first: meta last
        st.replace({t: tables.get(t, pl.DataFrame(schema=s)) for t, s in st.schemas.items()}, None, scan_id,
                   _bounds_meta(config))
        return StateUpdate(True, 0, 0, 0, {t: f.height for t, f in tables.items()})
    if not is_current(st, history, config, before):
        return rebuild(history, config)
    judged = batch if batch is not None and kept else new_lines.head(0)
    stores = pl.concat([new_lines.select("store_id"), judged.select("store_id")]).get_column("store_id").unique().to_list()
    if not stores:
        st.replace({t: pl.DataFrame(schema=s) for t, s in st.schemas.items()}, [], scan_id, _bounds_meta(config))
        return StateUpdate(False, 0, 0, old_versions.height, {t: 0 for t in st.schemas})
    current = st.read(stores)
    tables = {**current, **advance(current, new_lines, old_versions, config),
              **platform_state.advanced(st, current, new_lines, old_versions, config)}
    if kept:
        days = judged.select("store_id", pl.col("created_at").dt.date().alias("day")).unique()
        for t in JUDGED:    # the batch's store-days as judged now: none left where no line is active
            tables[t] = tables[t].join(days, on=["store_id", "day"], how="anti", nulls_equal=True)
        tables = _bound_judged(merge_kept(tables, kept), config)
    st.replace(tables, stores, scan_id, _bounds_meta(config))
    return StateUpdate(False, len(stores), st.rows_read, old_versions.height, {t: f.height for t, f in tables.items()})


def after_commit(history: History, config: Config, scan_id: int, new_lines: pl.DataFrame,
                 old_versions: pl.DataFrame, before: list[int],
                 kept: dict[str, pl.DataFrame] | None = None, batch: pl.DataFrame | None = None) -> StateUpdate | None:
    """:func:`advance_scan` for a scan that has committed: a failure here must not fail the
    scan (its flags and history are stored), so the state is marked stale instead and the
    next scan rebuilds it.  None when that happened."""
    try:
        return advance_scan(history, config, scan_id, new_lines, old_versions, before, kept, batch)
    except Exception:   # noqa: BLE001 - derived data: rebuilt from the raw lines next time
        state_of(history).mark_stale()
        return None


__all__ = ["StateUpdate", "advance_scan", "after_commit", "is_current", "rebuild", "state_of"]
