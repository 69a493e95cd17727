"""A scan's lines on Ray that never pass through the driver: read split by store bucket, judged
by partition from the read tasks' objects.

``read_split``: every read task (a part of a large file, or one whole file) splits its
canonical lines by store bucket (``ingest.split.bucket_of``: the baseline state's 16 buckets)
and returns them as one Arrow object per bucket (``num_returns``) after a small head; the
driver fetches the heads only: counts, quarantine rows, per-store keys, the report's facts
(``ingest.parts_split``).  From the keys it places whole buckets in groups of about equal lines
(the steps that write per bucket: new lines, the state's update) and whole stores in the judging
partitions exactly as the in-process runner does (``ingest.split.assign_stores``), each with
the objects of the buckets that hold its stores.

``judge_split``: the platform frames are merged from each group's parts (``ray_merged``; one
task handed every object runs ``plan`` over the whole batch only for a detector whose frame is
not built from parts), then each partition's
task is handed its objects — as task arguments, so Ray resolves them on the worker —, keeps its
stores' lines and returns its flags and, for the driver's correlation pass, the (store, time)
of the orders of its stores that have flags.  The driver holds the flags, the keys and those
order times; never the lines (``DriverLedger`` counts every line row the driver received: the
tests hold it to zero).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

import ingest
from contracts.config import Config
from contracts.schema import empty_canonical
from detectors import DetectContext
from ingest.parts_split import SplitRead, read_file_split, split_in_parts
from ingest.split import STATE_BUCKETS
from orderwatch.runner import Judged, Judgment
from orderwatch.runner.partition import PartitionResult, Plan, arrow_frames, frames_of, gather, judge_partition, plan, store_local

#: columns that make a returned table a table of canonical lines (what the driver must not receive);
#: the state's line-keyed platform tables (``sku_prices``, ``sku_quantities``: the newest lines of
#: each SKU, bounded by config) carry a few of them, not all
LINE_COLUMNS = frozenset({"store_id", "order_id", "line_no", "sku", "quantity", "unit_price", "created_at", "state"})


@dataclass
class DriverLedger:
    """What the driver received from tasks while the lines stayed on the workers."""
    line_rows: int = 0                  # rows of canonical-line tables (the point: 0)
    objects: int = 0                    # values received

    def count(self, value: Any) -> None:  # noqa: ANN401 - anything a task returned
        self.objects += 1
        for t in _tables(value):
            if LINE_COLUMNS <= set(t.columns if isinstance(t, pl.DataFrame) else t.column_names):
                self.line_rows += t.height if isinstance(t, pl.DataFrame) else t.num_rows


def _tables(value: Any, depth: int = 0) -> list[Any]:  # noqa: ANN401
    """The polars frames and Arrow tables inside a returned value (tuples, lists, dataclasses)."""
    import pyarrow as pa
    if isinstance(value, (pl.DataFrame, pa.Table)):
        return [value]
    if depth > 3:
        return []
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tables(v, depth + 1)]
    if hasattr(value, "__dataclass_fields__"):
        return [t for name in value.__dataclass_fields__ for t in _tables(getattr(value, name), depth + 1)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _tables(v, depth + 1)]
    return []


@dataclass
class SplitBatch(SplitRead):
    """A ``SplitRead`` placed in partitions, with the driver's ledger of what it received."""
    ledger: DriverLedger = field(default_factory=DriverLedger)
    groups: list[list[Any]] = field(default_factory=list)      # per bucket group: its buckets' objects
    group_buckets: list[list[int]] = field(default_factory=list)
    # the judging partitions: whole stores as in process, with the objects of their stores' buckets
    judged: list[tuple[list[str | None], list[Any]]] = field(default_factory=list)
    planned_by: str = ""        # "parts": the platform frames merged from the groups' parts; "task": one planning task


def read_split(runner: Any, paths: Sequence[str | Path], config: Config, *, source: str | None = None,  # noqa: ANN401
               groups: int | None = None) -> SplitBatch:
    """``paths`` read on Ray with their lines split by store bucket on the workers, the buckets
    placed in ``groups`` partitions of about equal lines (None: the runner's partitions, else 2
    per CPU of the cluster; at most the state's 16 buckets)."""
    from orderwatch.runner.on_ray import _RayPool
    ray = runner._connect()
    n = groups or runner.partitions or max(1, 2 * int(ray.cluster_resources().get("CPU", 1)))
    pool = _RayPool(ray, runner.max_retries)
    ledger = DriverLedger()
    got = pool.get
    pool.get = lambda handles: [ledger.count(v) or v for v in got(handles)]   # type: ignore[method-assign]
    return _read(pool, ledger, paths, config, source, n, runner.chunk_bytes())


def _read(pool: Any, ledger: DriverLedger, paths: Sequence[str | Path], config: Config,  # noqa: ANN401
          source: str | None, n: int, chunk: int | None) -> SplitBatch:
    from orderwatch.runner.on_ray import _whole_note
    conf = pool.put(config)
    pending: list[tuple[Any, SplitRead | None]] = []     # per path: a whole file's task, or its parts read
    for p in paths:
        note = None
        if chunk is not None and os.path.isfile(p) and os.path.getsize(p) > chunk:
            into = SplitRead.empty()
            whole = split_in_parts(p, config, source, pool, chunk, into)
            if whole is None:
                pending.append((None, into))
                continue
            note = _whole_note(p, whole, chunk)
        pending.append((pool.submit(read_file_split, str(p), os.getcwd(), conf, source, None, note,
                                    returns=1 + STATE_BUCKETS), None))
    heads = iter(pool.get([o[0] for o, _ in pending if o is not None]))
    out = SplitBatch(STATE_BUCKETS, [[] for _ in range(STATE_BUCKETS)], ledger=ledger)
    for o, into in pending:
        if into is not None:
            out.extend(into)
        else:
            out.add(next(heads), list(o[1:]))
    placed = out.partitions(n)
    out.group_buckets, out.groups = [b for b, _ in placed], [h for _, h in placed]
    out.judged = out.store_partitions(n)
    return out


def _concat(tables: tuple[Any, ...]) -> pl.DataFrame:
    """Arrow tables (of one schema: a group's objects from every part) as one frame."""
    frames = [pl.from_arrow(t) for t in tables if t.num_rows]
    if not frames:
        return pl.from_arrow(tables[0]) if tables else empty_canonical()  # type: ignore[return-value]
    return pl.concat(frames, how="vertical_relaxed")  # type: ignore[arg-type]


@dataclass
class Planned:
    """What the planning task returns: the partitions' spec and frames, never a line."""
    spec: Any
    factors: dict[str, dict[str, Any]]
    present: dict[str, set[str]]
    state_rows: int | None = None       # the plan's state view (None: the raw window)
    slice_rows: int | None = None


@dataclass
class ViewCounts:
    """What the planning task read of the baseline state (``Judged.state``'s counts)."""
    state_rows: int
    slice_rows: int


def _plan_task(job: Judgment, *tables: Any) -> Planned:  # noqa: ANN401 - Arrow tables
    """One task: the platform frames over every store (``partition.plan``), the batch assembled
    from the groups' objects on this worker."""
    p = plan(replace(job, batch=_concat(tables)), 1)
    factors = arrow_frames(p.factors)
    view = p.view
    return Planned(p.spec, factors, p.present, None if view is None else view.state_rows,
                   None if view is None else view.slice_rows)


def _kept(table: Any, stores: list[str | None]) -> Any:  # noqa: ANN401 - a pyarrow.Table
    """The rows of ``stores``, kept in Arrow: only they are converted to polars (a bucket's other
    stores' rows are never copied)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    col = table.column("store_id")
    mask = pc.is_in(col, value_set=pa.array([s for s in stores if s is not None], type=col.type))
    if None in stores:
        mask = pc.or_(mask, pc.is_null(col))
    return table.filter(mask)


def _judge_task(spec: Any, factors: dict[str, dict[str, Any]], stores: list[str | None],  # noqa: ANN401
                *tables: Any) -> tuple[PartitionResult, Any]:
    """One partition: its stores' lines from its buckets' objects of every part, judged; with
    the (store, time) of its flagged stores' orders for the driver's correlation pass."""
    from orderwatch.runner.on_ray import _crash_once
    _crash_once(spec.crash_once)
    frames = frames_of(factors)
    lines = _concat(tuple(_kept(t, stores) for t in tables))
    result = judge_partition(replace(spec, orders_of_flagged=True), frames, lines)
    orders, result.orders = result.orders, None
    return result, None if orders is None else orders.to_arrow()


def _planned(ray: Any, runner: Any, job: Judgment, batch: SplitBatch) -> Planned:  # noqa: ANN401
    """The partitions' spec and platform frames: merged from the groups' parts (``ray_merged``),
    else (a detector's frame not built from parts) by one planning task handed every group's objects."""
    from orderwatch.runner.on_ray import _get
    from orderwatch.runner.ray_merged import mergeable, merged_plan
    job = replace(job, batch=empty_canonical())
    if batch.groups and mergeable(job):
        batch.planned_by = "parts"
        return merged_plan(ray, runner, job, batch)
    batch.planned_by = "task"
    every = [h for group in batch.groups for h in group]
    planner = ray.remote(_plan_task).options(max_retries=runner.max_retries, retry_exceptions=False)
    planned: Planned = _get(ray, planner.remote(job, *every))
    batch.ledger.count(planned)
    return planned


def judge_split(runner: Any, job: Judgment, batch: SplitBatch) -> Judged:  # noqa: ANN401 - a RayRunner
    """``job`` (its ``batch`` unused: empty) judged on ``batch``'s groups; the ``Judged`` of
    ``RayRunner.judge`` on the same lines, except that its context carries the flagged stores'
    order times only (what correlation reads), not the lines."""
    if not store_local(job.inhibitions):
        raise ValueError("judge_split: an inhibition across stores pairs flags by their lines; "
                         "judge the materialised batch instead")
    from orderwatch.runner.on_ray import CRASH_ONCE_ENV, _get
    import time
    ray = runner._connect()
    planned = _planned(ray, runner, job, batch)
    planned.spec.crash_once = os.environ.get(CRASH_ONCE_ENV) or None
    spec, factors = ray.put(planned.spec), ray.put(planned.factors)
    task = ray.remote(_judge_task).options(max_retries=runner.max_retries, retry_exceptions=False)
    t0 = time.perf_counter()
    refs = [task.remote(spec, factors, stores, *objects) for stores, objects in batch.judged]
    got = _get(ray, refs)
    for g in got:
        batch.ledger.count(g)
    results = [r for r, _ in got]
    orders = [pl.from_arrow(o) for _, o in got if o is not None]
    ctx = DetectContext(lines=empty_canonical().lazy(), catalog=None, as_of=job.as_of, config=job.config,
                        clocks=job.clocks, present=planned.present,
                        orders=pl.concat(orders).lazy() if orders else None)
    p = Plan(planned.spec, {}, [], ctx, planned.present)
    p.view = None if planned.state_rows is None else ViewCounts(planned.state_rows, planned.slice_rows or 0)
    return gather(job, p, results, rules_s=time.perf_counter() - t0)


__all__ = ["DriverLedger", "SplitBatch", "judge_split", "read_split"]
