"""A stale baseline state rebuilt by bucket group on the Ray workers, never in one task.

``orderwatch.baseline_state.rebuild`` reads every raw line of the history, judges every
store-day by each day rule (``judged_from_raw``) and builds the state's buckets from them.  The
judged days read platform frames over every store (the line spread, each pass's day factors),
so here each group's task reads the history of its own buckets' stores only, computes its parts
of those frames, one task merges them (``orderwatch.runner.merged``: in rounds, a pass's
factors after the line spread), and each group's task then judges its stores' days with the
merged frames and runs its buckets' jobs (``orderwatch.state_buckets``), staging their files.
The driver merges the jobs' bounded platform parts and commits, as on the state's first build.
"""

from __future__ import annotations

import os
from typing import Any

from contracts.config import Config
from detectors import state_platform
from orderwatch.baseline_state import StateUpdate, _commit, day_params, judged_context, judged_from_raw, state_of
from orderwatch.runner.merged import day_frames, group_history, merge_parts, owned_buckets, parts_of
from orderwatch.runner.partition import arrow_frames, frames_of
from orderwatch.runner.ray_merged import merge_rounds
from orderwatch.state_buckets import BucketResult, build_lines, land_result, plan_jobs, run_job, ship_result
from store import History


def _lines(history_dir: str, buckets: list[int]) -> Any:  # noqa: ANN401 - a polars frame
    """Every stored line (its newest version) of the stores of ``buckets``."""
    past = group_history(History(history_dir), None, buckets)
    return History(history_dir).scan().head(0).collect() if past is None else past.collect()


def _parts_task(history_dir: str, config: Config, buckets: list[int], known: dict[str, Any]
                ) -> tuple[tuple[int, int], Any]:  # noqa: ANN401
    ctx = judged_context(_lines(history_dir, buckets), config)
    parts, waiting = parts_of(*day_frames(ctx, day_params(config)), frames_of(known))
    return (sum(len(n) for n in parts.values()), waiting), arrow_frames(parts)


def _merge_task(history_dir: str, config: Config, *parts: Any) -> Any:  # noqa: ANN401
    builds, _ = day_frames(judged_context(History(history_dir).scan().head(0).collect(), config), day_params(config))
    return arrow_frames(merge_parts(builds, [frames_of(p) for p in parts]))


def _build_task(history_dir: str, config: Config, buckets: list[int], known: dict[str, Any], tag: str,
                crash_once: str | None) -> tuple[int, list[BucketResult]]:
    """One group: its stores' days judged with the merged frames, its buckets' jobs run and staged."""
    from orderwatch.runner.on_ray import _crash_once
    lines = _lines(history_dir, buckets)
    judged = judged_from_raw(lines, config, factors=frames_of(known))
    st = state_of(History(history_dir))
    jobs = plan_jobs(lines, lines.head(0), {f"{t}|rebuild": f for t, f in judged.items()}, None, st.buckets,
                     build_lines(config), True, tag)
    results = [ship_result(run_job(str(st.dir), st.schemas, st.buckets, j, config=config)) for j in jobs]
    _crash_once(crash_once)
    return lines.height, results


def rebuild_on_workers(ws: Any, history: History, config: Config) -> StateUpdate:  # noqa: ANN401 - OnWorkers
    """``baseline_state.rebuild`` by bucket group: the same state, no task reading every line."""
    from orderwatch.runner.on_ray import STATE_CRASH_ONCE_ENV
    ray, where = ws.runner._connect(), str(history.dir.resolve())
    st = state_of(history)
    owned = owned_buckets(ws.read.group_buckets or [[]])
    conf = ray.put(config)
    known = ray.put(merge_rounds(ray, ws._get, lambda have: [ws._task(_parts_task, 2).remote(where, conf, b, have)
                                                                for b in owned],
                                 lambda parts: ws._task(_merge_task).remote(where, conf, *parts)))
    parts = history.partition_scan_ids()
    scan_id, tag = max(parts) if parts else 0, f"s{max(parts) if parts else 0}-rebuild-"
    st.clear()
    crash = os.environ.get(STATE_CRASH_ONCE_ENV) or None
    refs = [ws._task(_build_task).remote(where, conf, b, known, tag, crash) for b in owned]
    try:
        got = ws._get(refs)
        results = [land_result(r) for _, rs in got for r in rs]
    except BaseException:
        st.sweep(tag)
        raise
    platform = state_platform.merge_built([r.platform for r in results if r.platform is not None],
                                          state_platform.Bounds.of(config))
    _commit(st, results, scan_id, config, platform, tag)
    rows = {t: sum(r.rows[t] for r in results) for t in st.schemas} | {t: f.height for t, f in platform.items()}
    return StateUpdate(True, 0, 0, sum(n for n, _ in got), rows, [r.lines for r in results])


__all__ = ["rebuild_on_workers"]
