"""Keeping the baseline state in step with the history: one scan's update, and rebuilds.

A scan calls :func:`advance_scan` after its history partition is in place: the state rows of
the batch's stores are read (never the raw lines), updated with the scan's new and changed
lines (a re-exported line's stored version is subtracted first) and written back.  A state
that does not include the history's newest partition is stale and is rebuilt from the raw
lines instead; :func:`rebuild` is also ``orderwatch history rebuild`` (after a crash, after a
rule change that needs a new aggregate, after editing ``history.state``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial

import polars as pl

from contracts.config import Config
from detectors import DetectContext, state_platform, volume_state
from detectors.common import prepare
from detectors.state_tables import ALL_SCHEMAS, Bounds, contributions
from detectors.volume_day import day_frame
from orderwatch import platform_state
from store import History
from orderwatch.state_buckets import (BucketJob, BucketResult, Mapper, in_process, job_limit, merge_kept, plan_jobs,
                                     run_job)
from store.baseline_state import BaselineState, discard

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


def judged_context(lines: pl.DataFrame, config: Config) -> DetectContext:
    """The context a rebuild judges ``lines``' store-days in (every line in the batch)."""
    prepared = prepare(lines.lazy().with_columns(pl.lit(True).alias("_in_batch")), config).collect().lazy()
    return DetectContext(lines=prepared, catalog=None, as_of=datetime.now(), config=config, orders=prepared.head(0))


def judged_from_raw(lines: pl.DataFrame, config: Config, params: list[dict] | None = None,
                    factors: dict[str, dict[str, pl.DataFrame]] | None = None) -> dict[str, pl.DataFrame]:
    """Every store-day of ``lines`` judged by each day rule, as the state keeps them (a rebuild).
    ``factors``: per rule's ``volume_state.params_key``, its platform frames merged over every
    store (``lines`` then holds some stores only: ``orderwatch.runner.merged``)."""
    params = day_params(config) if params is None else params
    out = {t: pl.DataFrame(schema=s) for t, s in volume_state.SCHEMAS.items()}
    if not params or lines.is_empty():
        return out
    ctx = judged_context(lines, config)
    for p in params:
        given = None if factors is None else factors.get(volume_state.params_key(p), {})
        day_frame(ctx if given is None else replace(ctx, factors=given, builds={}), p)
    return merge_kept(out, ctx.kept)


@dataclass
class StateUpdate:
    rebuilt: bool            # True: rebuilt from raw lines (stale, or no state yet)
    stores: int              # stores whose rows were rewritten (0 when rebuilt)
    state_rows_read: int     # state rows read for the update (its stores' rows, the platform tables)
    raw_rows_read: int       # raw history lines read (stored versions of re-exported lines)
    rows: dict[str, int]     # rows now in each table for those stores (all stores when rebuilt)
    steps: list[int] = field(default_factory=list)   # lines each bucket job handled, in order
    rows_carried: int = 0    # other stores' rows of the touched buckets, rewritten unchanged


def _bounds_meta(config: Config) -> dict:
    """What the state was kept with: a change of any of it rebuilds the state."""
    b = Bounds.of(config)
    return {"bounds": {"sku_lines": b.sku_lines, "order_count": b.order_count, "days": b.days,
                       "judged": [volume_state.params_key(p) for p in day_params(config)],
                       "promotion_days": sorted(str(d) for d in config.sla.promotion_days),
                       "platform": platform_state.bounds_meta(config)}}


def _commit(st: BaselineState, results: list[BucketResult], scan_id: int, config: Config,
            platform: dict[str, pl.DataFrame] | None, tag: str) -> None:
    """The jobs' staged buckets in place: the platform tables first, the buckets, ``meta.json`` last."""
    staged = [s for r in results for s in r.staged]
    try:
        if platform is not None:
            platform_state.write(st, platform)
        st.commit(staged, scan_id, _bounds_meta(config))
    finally:
        discard(staged)
        st.sweep(tag)


def _run(st: BaselineState, jobs: Iterable[BucketJob], tag: str, config: Config,
         mapper: Mapper | None) -> list[BucketResult]:
    fn = partial(run_job, str(st.dir), st.schemas, st.buckets, config=config)
    try:
        return (mapper or in_process)(fn, jobs)
    except BaseException:
        st.sweep(tag)
        raise


def _build(st: BaselineState, lines: pl.DataFrame, kept: dict[str, pl.DataFrame], scan_id: int,
           config: Config, mapper: Mapper | None) -> StateUpdate:
    """The state built from ``lines`` (every line, one version each) and their judged store-days,
    a group of buckets at a time (``orderwatch.state_buckets``): the platform tables merged from
    each group's bounded part."""
    st.clear()
    tag = f"s{scan_id}-"
    jobs = plan_jobs(lines, lines.head(0), kept, None, st.buckets, job_limit(config, lines.height, mapper), True, tag)
    del lines
    results = _run(st, jobs, tag, config, mapper)
    platform = state_platform.merge_built([r.platform for r in results if r.platform is not None],
                                          state_platform.Bounds.of(config))
    _commit(st, results, scan_id, config, platform, tag)
    rows = {t: sum(r.rows[t] for r in results) for t in st.schemas} | {t: f.height for t, f in platform.items()}
    return StateUpdate(True, 0, 0, 0, rows, [r.lines for r in results])


def rebuild(history: History, config: Config, mapper: Mapper | None = None) -> StateUpdate:
    """The state computed again from every raw line in the history (its newest versions)."""
    st = state_of(history)
    lines = history.scan().collect()
    judged = judged_from_raw(lines, config)
    parts = history.partition_scan_ids()
    n = lines.height
    out = _build(st, lines, {f"{t}|rebuild": f for t, f in judged.items()}, max(parts) if parts else 0, config, mapper)
    out.raw_rows_read = n
    return out


def is_current(st: BaselineState, history: History, config: Config, before: list[int]) -> bool:
    """True when the state includes every partition in ``before`` and was kept with today's bounds."""
    got = st.includes()
    if got is None or (before and got < max(before)):
        return False
    return st.meta().get("bounds") == _bounds_meta(config)["bounds"]


def advance_scan(history: History, config: Config, scan_id: int, new_lines: pl.DataFrame,
                 old_versions: pl.DataFrame, before: list[int],
                 kept: dict[str, pl.DataFrame] | None = None, batch: pl.DataFrame | None = None,
                 mapper: Mapper | None = None) -> StateUpdate:
    """Update the state with one scan's new and changed lines (``old_versions``: the stored
    versions they replace, read before the scan's partition landed); ``before``: the
    history's partitions before this scan; ``kept``: the batch's store-days as the detectors
    judged them (``DetectContext.kept``), in place of the stored rows of ``batch``'s store-days.
    A stale state is rebuilt instead.  The store buckets are updated by bucket jobs
    (``orderwatch.state_buckets``) run by ``mapper`` (default: in this process; the Ray runner's
    runs them as tasks), the platform tables here."""
    st = state_of(history)
    if not before and kept:     # the first scan: its own lines are the whole history, judged already
        return _build(st, new_lines, kept, scan_id, config, mapper)
    if not is_current(st, history, config, before):
        return rebuild(history, config, mapper)
    days = (batch.select("store_id", pl.col("created_at").dt.date().alias("day")).unique()
            if batch is not None and kept else None)
    tag = f"s{scan_id}-"
    stored = st.bucket_rows()
    limit = job_limit(config, new_lines.height + old_versions.height + sum(stored.values()), mapper)
    jobs = plan_jobs(new_lines, old_versions, kept or {}, days, st.buckets, limit, False, tag, stored=stored)
    read_before, platform = st.rows_read, None
    if new_lines.height or old_versions.height:
        cn, co = contributions(new_lines, config), contributions(old_versions, config)
        platform = state_platform.advance_platform(platform_state.read(st), cn, co, state_platform.Bounds.of(config))
        del cn, co
    results = _run(st, jobs, tag, config, mapper)
    _commit(st, results, scan_id, config, platform, tag)
    rows = {t: sum(r.rows[t] for r in results) for t in st.schemas} | {t: f.height for t, f in (platform or {}).items()}
    return StateUpdate(False, sum(r.stores for r in results),
                       st.rows_read - read_before + sum(r.state_rows_read for r in results),
                       old_versions.height, rows, [r.lines for r in results], sum(r.rows_carried for r in results))


def after_commit(history: History, config: Config, scan_id: int, new_lines: pl.DataFrame,
                 old_versions: pl.DataFrame, before: list[int],
                 kept: dict[str, pl.DataFrame] | None = None, batch: pl.DataFrame | None = None,
                 mapper: Mapper | None = None) -> StateUpdate | None:
    """:func:`advance_scan` for a scan that has committed: a failure here must not fail the
    scan (its flags and history are stored), so the state is marked stale instead and the
    next scan rebuilds it.  None when that happened."""
    try:
        return advance_scan(history, config, scan_id, new_lines, old_versions, before, kept, batch, mapper)
    except Exception:   # noqa: BLE001 - derived data: rebuilt from the raw lines next time
        state_of(history).mark_stale()
        return None


__all__ = ["StateUpdate", "advance_scan", "after_commit", "is_current", "judged_context", "judged_from_raw", "rebuild",
           "state_of"]
