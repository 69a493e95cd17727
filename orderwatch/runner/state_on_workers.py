"""The baseline state advanced by store group, beside the lines on the Ray workers.

``orderwatch.baseline_state.advance_scan`` cuts a scan's state update into bucket jobs
(``orderwatch.state_buckets``) from the batch it holds; with the lines split on the workers
(``orderwatch.runner.ray_split``) no process holds the batch, so each store group's task
makes and runs the jobs of its own buckets (a group is a set of whole state buckets:
``ingest.split.bucket_of``) from its group's objects — its new lines, the versions they replace,
its batch lines for the judged store-days — and stages their files.  The driver, as
in-process, renames the staged files and writes ``meta.json`` last (``baseline_state._commit``).

The platform tables: on the state's first build each job returns its stores' bounded part and
the driver merges them (``state_platform.merge_built``, as in-process); on an update each
group's task advances its buckets' share of them by its own new and replaced lines and one task
bounds the union (``platform_on_workers``).  A stale state is
rebuilt by bucket group (``rebuild_on_workers``), each task reading its buckets' stores' history.
"""

from __future__ import annotations

import os
from typing import Any

import polars as pl

from contracts.config import Config
from detectors import state_platform
from orderwatch.baseline_state import StateUpdate, _commit, is_current, state_of
from orderwatch.runner.ray_split import _concat
from orderwatch.state_buckets import BucketResult, build_lines, land_result, plan_jobs, run_job, ship_result
from store import History


def _group_task(history_dir: str, config: Config, build: bool, tag: str, kept: dict[str, Any],
                crash_once: str | None, fresh: Any, replaced: Any, *batch: Any) -> list[BucketResult]:  # noqa: ANN401
    """One group: the bucket jobs of its buckets (bounded by ``history.state.build_lines``),
    run one after the other, their files staged."""
    from orderwatch.runner.on_ray import _crash_once
    st = state_of(History(history_dir))
    new = _concat((fresh,))
    old = new.head(0) if build else _concat((replaced,))
    days = None
    if kept and not build:
        days = _concat(batch).select("store_id", pl.col("created_at").dt.date().alias("day")).unique()
    frames = {n: pl.from_arrow(t) for n, t in kept.items()}
    jobs = plan_jobs(new, old, frames, days, st.buckets, build_lines(config), build, tag)
    results = [ship_result(run_job(str(st.dir), st.schemas, st.buckets, j, config=config)) for j in jobs]
    _crash_once(crash_once)      # tests: the worker dies with its files staged; the retry stages anew
    return results


def advance_on_workers(ws: Any, history: History, config: Config, scan_id: int, before: list[int],  # noqa: ANN401
                       kept: dict[str, pl.DataFrame]) -> StateUpdate | None:
    """``baseline_state.after_commit`` for an ``OnWorkers`` batch ``ws``: a failure marks the
    state stale (the next scan rebuilds it) instead of failing the committed scan."""
    try:
        return _advance(ws, history, config, scan_id, before, kept)
    except Exception:   # noqa: BLE001 - derived data: rebuilt from the raw lines next time
        state_of(history).mark_stale()
        return None


def _advance(ws: Any, history: History, config: Config, scan_id: int, before: list[int],  # noqa: ANN401
             kept: dict[str, pl.DataFrame]) -> StateUpdate:
    from orderwatch.runner.on_ray import STATE_CRASH_ONCE_ENV
    st, where = state_of(history), str(history.dir.resolve())
    build = not before and bool(kept)            # the first scan: its own lines are the whole history
    if not build and not is_current(st, history, config, before):
        from orderwatch.runner.rebuild_on_workers import rebuild_on_workers
        return rebuild_on_workers(ws, history, config)
    if build:
        st.clear()
    tag = f"s{scan_id}-"
    ray = ws.runner._connect()
    shipped = ray.put({n: f.to_arrow() for n, f in kept.items()})
    crash = os.environ.get(STATE_CRASH_ONCE_ENV) or None
    task = ws._task(_group_task)
    groups = ws._groups()
    refs = [task.remote(where, config, build, tag, shipped, crash, ws.fresh[i], ws.replaced[i], *h)
            for i, (_, h) in enumerate(groups)]
    platform_ref = None
    if not build and (ws.new_rows or ws.replaced_rows):     # the platform tables by group, then one merge
        from orderwatch.runner.merged import owned_buckets
        from orderwatch.runner.platform_on_workers import advance_by_group
        platform_ref = advance_by_group(ws, where, config, owned_buckets(ws.read.group_buckets))
    try:
        results = [land_result(r) for rs in ws._get(refs) for r in rs]
        got, platform_rows = (None, 0) if platform_ref is None else ws._get(platform_ref)
    except BaseException:
        st.sweep(tag)
        raise
    if build:
        platform = state_platform.merge_built([r.platform for r in results if r.platform is not None],
                                              state_platform.Bounds.of(config))
    else:
        platform = None if got is None else {t: pl.from_arrow(f) for t, f in got.items()}
    _commit(st, results, scan_id, config, platform, tag)  # type: ignore[arg-type]
    rows = {t: sum(r.rows[t] for r in results) for t in st.schemas} | {t: f.height for t, f in (platform or {}).items()}
    steps = [r.lines for r in results]
    if build:
        return StateUpdate(True, 0, 0, 0, rows, steps)
    return StateUpdate(False, sum(r.stores for r in results), platform_rows + sum(r.state_rows_read for r in results),
                       ws.replaced_rows, rows, steps, sum(r.rows_carried for r in results))


__all__ = ["advance_on_workers"]
