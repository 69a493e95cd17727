"""Store partitions: the platform frames first (driver), then each partition on its own.

A partition is a set of stores.  Its input is the batch's lines of those stores and the
history of those stores only (read from the shared history path by whoever runs it), plus
the platform frames every detector asks for (``DetectContext.platform``: SKU medians, a
day's platform factor, what a file or a source carries), computed once over every store
before any partition runs.  :func:`judge_partition` is a pure function of those: run in this
process or as a Ray task, it decides with ``orderwatch.decide.decide`` and returns the same
flags for its stores as one run over everything.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from contracts.config import Config
from contracts.schema import LINE_KEY
from detectors import REGISTRY, DetectContext
from detectors.common import orders_of, prepare
from detectors.needs import presence
from ingest.split import place
from orderwatch.decide import Factors, decide, platform_plans
from orderwatch.runner import Judged, Judgment, PartitionRead
from rules import Rule, inhibit
from rules.flags import FLAG_SCHEMA
from rules.inhibit import Inhibition
from store import History
from orderwatch import platform_state
from detectors.state_slice import recent_needed
from orderwatch.runner.with_state import current, read_view


#: the platform frames are aggregates over every store's lines: streamed where polars can
FACTOR_ENGINE = "streaming"


def arrow_frames(factors: Factors) -> dict[str, dict[str, Any]]:
    """``factors`` as Arrow tables (what Ray ships between tasks without a pickled polars frame)."""
    return {k: {n: f.to_arrow() for n, f in named.items()} for k, named in factors.items()}


def frames_of(shipped: dict[str, dict[str, Any]]) -> Factors:
    """:func:`arrow_frames` back as polars frames (no copy)."""
    return {k: {n: pl.from_arrow(t) for n, t in named.items()} for k, named in shipped.items()}  # type: ignore[misc]


def since_of(batch: pl.DataFrame, config: Config) -> datetime | None:
    """The first history day the batch's baselines read (``history.days`` before its first line)."""
    first = batch.get_column("created_at").min() if batch.height else None
    return first - timedelta(days=config.history_days) if first is not None else None


def combined(batch: pl.DataFrame, past: pl.LazyFrame | None) -> pl.LazyFrame:
    """The batch plus the history its baselines need (batch rows replace their stored copies)."""
    if past is None:
        return batch.lazy().with_columns(pl.lit(True).alias("_in_batch"))
    past = past.join(batch.lazy().select(LINE_KEY), on=list(LINE_KEY), how="anti", nulls_equal=True)
    cols = batch.columns
    return pl.concat(
        [past.select(cols).with_columns(pl.lit(False).alias("_in_batch")),
         batch.lazy().with_columns(pl.lit(True).alias("_in_batch"))],
        how="vertical_relaxed",
    )


def history_of(history: History, since: datetime | None, stores: list[str | None] | None = None) -> pl.LazyFrame | None:
    """The history window (None before the first scan); ``stores``: only those stores' lines."""
    if history.empty:
        return None
    past = history.scan(since)
    if stores is None:
        return past
    named = [s for s in stores if s is not None]
    keep = pl.col("store_id").is_in(named)
    return past.filter(keep | pl.col("store_id").is_null() if len(named) < len(stores) else keep)


def _presence_lines(batch: pl.DataFrame, past: pl.LazyFrame | None) -> pl.LazyFrame:
    """What ``detectors.needs.presence`` reads: the batch, and the history of only the named
    sources of its files (the driver never collects every store's history for it)."""
    sources = [s for s in batch.get_column("source").unique().to_list() if s and s != "default"]
    if past is None or not sources:
        return combined(batch, None)
    return combined(batch, past.filter(pl.col("source").is_in(sources)))


def store_local(inhibitions: list[Inhibition]) -> bool:
    """True when every inhibition pairs flags of one store only: partitions may apply them."""
    return all("store_id" in inh.equal for inh in inhibitions)


@dataclass
class PartitionSpec:
    """Everything a partition needs besides its lines (pickled once per run, broadcast on Ray)."""
    config: Config
    as_of: datetime
    rules: list[Rule]
    shadow_rules: list[Rule]
    inhibitions: list[Inhibition]       # applied in the partition (empty: on the driver)
    present: dict[str, set[str]]
    history_dir: str
    since: datetime | None
    catalog: pl.DataFrame | None = None
    limits: pl.DataFrame | None = None
    cod_cap: float | None = None
    clocks: dict[str, datetime] = field(default_factory=dict)
    crash_once: str | None = None       # tests: a marker path; the first task to create it dies
    on_state: bool = False              # the baseline state is current: partitions read their stores' rows
    orders_of_flagged: bool = False     # return the (store, time) of the flagged stores' orders (ray_split)


@dataclass
class PartitionResult:
    flags: pl.DataFrame
    shadow: pl.DataFrame | None
    read: PartitionRead
    kept: dict[str, pl.DataFrame] = field(default_factory=dict)
    orders: pl.DataFrame | None = None  # store_id, created_at of the flagged stores' orders (on request)


def collect_kept(kept: dict[str, pl.LazyFrame]) -> dict[str, pl.DataFrame]:
    """The rows detectors handed to ``DetectContext.kept``, collected together."""
    names = list(kept)
    return dict(zip(names, pl.collect_all([kept[n] for n in names]))) if names else {}


def _context(lines: pl.LazyFrame, spec: PartitionSpec | Judgment, present: dict[str, set[str]],
             orders: pl.LazyFrame | None = None, **state: Any) -> DetectContext:  # noqa: ANN401
    catalog = spec.catalog.lazy() if spec.catalog is not None else None
    return DetectContext(lines=lines, catalog=catalog, as_of=spec.as_of, config=spec.config,
                         orders=orders, clocks=spec.clocks, present=present,
                         limits=spec.limits.lazy() if spec.limits is not None else None, cod_cap=spec.cod_cap,
                         **state)


def judge_partition(spec: PartitionSpec, factors: Factors, batch: pl.DataFrame) -> PartitionResult:
    """One store partition judged: its lines and its stores' history (or, on a current baseline
    state, its stores' state rows and their store-days' stored lines) against the platform frames."""
    stores = batch.get_column("store_id").unique().to_list()
    history = History(spec.history_dir)
    kept: dict[str, pl.LazyFrame] = {}
    seen: dict[str, pl.DataFrame] = {}

    def raw() -> DetectContext:
        lines = prepare(combined(batch, history_of(history, spec.since, stores)), spec.config).collect()
        seen["history"] = lines.filter(~pl.col("_in_batch"))
        return _context(lines.lazy(), spec, spec.present, kept=kept)

    if spec.on_state:
        view = read_view(history, spec.config, batch, spec.since, platform=False,
                         recent=recent_needed([*spec.rules, *spec.shadow_rules]))
        lines = prepare(combined(batch, view.day_slice.lazy()), spec.config).collect().lazy()
        ctx = _context(lines, spec, spec.present, state=view.tables, since=spec.since, raw=built_once(raw), kept=kept)
    else:
        view, ctx = None, raw()
    flags = decide(ctx, spec.rules, spec.present, spec.inhibitions, factors)
    shadow = decide(ctx, spec.shadow_rules, spec.present, factors=factors) if spec.shadow_rules else None
    history_rows = seen["history"] if "history" in seen else pl.DataFrame(schema={"store_id": pl.String})
    state_stores = [] if view is None else sorted(str(s) for s in pl.concat(
        [f.select("store_id") for name, f in view.tables.items() if name in ("sku_window", "judged_days")]
    ).get_column("store_id").unique().to_list())
    read = PartitionRead(stores=len(stores), batch_rows=batch.height, history_rows=history_rows.height,
                         history_stores=sorted(str(s) for s in history_rows.get_column("store_id").unique().to_list()),
                         state_rows=0 if view is None else view.state_rows, state_stores=state_stores,
                         slice_rows=0 if view is None else view.slice_rows)
    return PartitionResult(flags, shadow, read, collect_kept(kept),
                           flagged_orders(ctx, flags) if spec.orders_of_flagged else None)


def flagged_orders(ctx: DetectContext, flags: pl.DataFrame) -> pl.DataFrame:
    """(store_id, created_at) of the orders of the stores with a flag: what the driver's
    correlation pass reads of a partition's lines (``detectors.flag_cluster``)."""
    stores = flags.get_column("store_id").drop_nulls().unique()
    return ctx.orders.filter(pl.col("store_id").is_in(stores.implode())).select("store_id", "created_at").collect()


def built_once(build: Any) -> Any:  # noqa: ANN401 - a context builder
    """``build`` called on first use only (the raw window is read when a detector asks for it)."""
    made: list[DetectContext] = []

    def get() -> DetectContext:
        if not made:
            made.append(build())
        return made[0]
    return get


def split_stores(batch: pl.DataFrame, partitions: int) -> list[pl.DataFrame]:
    """The batch in ``partitions`` store groups of about equal lines (whole stores, stable)."""
    sizes = batch.group_by("store_id").len().sort(["len", "store_id"], descending=[True, False], nulls_last=True)
    group = place(list(sizes.iter_rows()), partitions)
    part = batch.with_columns(pl.col("store_id").replace_strict(
        {k: v for k, v in group.items() if k is not None}, default=group.get(None, 0),
        return_dtype=pl.Int32).alias("_part"))
    return [p.drop("_part") for p in part.partition_by("_part", maintain_order=True) if p.height]


@dataclass
class Plan:
    """The driver's part of a partitioned run: the platform frames and the partitions' inputs."""
    spec: PartitionSpec
    factors: Factors
    parts: list[pl.DataFrame]
    ctx: DetectContext                  # every store, lazily (correlation, driver inhibitions)
    present: dict[str, set[str]]
    view: Any = None                    # the driver's state view (None: the raw window)


def plan(job: Judgment, partitions: int) -> Plan:
    """The platform frames computed over every store, and the batch split into partitions."""
    since = since_of(job.batch, job.config)
    past = history_of(job.history, since)
    raw_lines = prepare(combined(job.batch, past), job.config)
    view = (read_view(job.history, job.config, job.batch, since, recent=recent_needed([*job.rules, *job.shadow_rules]))
            if current(job.history, job.config) else None)
    found = (presence(_presence_lines(job.batch, past)) if view is None
             else platform_state.present(job.batch, view.tables, since))
    present = {f: fields | job.given for f, fields in found.items()}
    catalog = job.catalog.lazy() if job.catalog is not None else None
    raw_ctx = _context(raw_lines, job, present, orders=orders_of(raw_lines, catalog))
    if view is None:
        ctx = raw_ctx
    else:   # the platform frames of detectors on state from every store's state rows
        lines = prepare(combined(job.batch, view.day_slice.lazy()), job.config).collect().lazy()
        ctx = _context(lines, job, present, state=view.tables, since=since, raw=lambda: raw_ctx)
    empty = _context(raw_lines.clear(), job, present)
    # on a copy with its own cache: what a detector collects over every store to build its
    # platform frames (volume_surge's day passes: every line with its usual) is dropped once
    # the frames are collected, not held beside the partitions while they run
    plans = platform_plans(dataclasses.replace(ctx, cache={}), empty, [*job.rules, *job.shadow_rules], present)
    named = [(key, name) for key, frames in plans.items() for name in frames]
    frames = pl.collect_all([plans[k][n] for k, n in named], engine=FACTOR_ENGINE) if named else []
    factors: Factors = {key: {} for key in plans}
    for (key, name), frame in zip(named, frames):
        factors[key][name] = frame
    spec = PartitionSpec(config=job.config, as_of=job.as_of, rules=job.rules, shadow_rules=job.shadow_rules,
                         inhibitions=job.inhibitions if store_local(job.inhibitions) else [],
                         present=present, history_dir=str(job.history.dir.resolve()), since=since,
                         catalog=job.catalog, limits=job.limits, cod_cap=job.cod_cap, clocks=job.clocks,
                         on_state=view is not None)
    return Plan(spec, factors, split_stores(job.batch, partitions), ctx, present, view)


def gather(job: Judgment, p: Plan, results: list[PartitionResult], rules_s: float = 0.0) -> Judged:
    """The partitions' flags as one run's: in rule order, inhibitions that span stores applied here."""
    order = {r.id: i for i, r in enumerate(job.rules)}
    flags = _ordered([r.flags for r in results], order)
    if job.inhibitions and not p.spec.inhibitions:
        flags = inhibit.apply(flags, job.inhibitions, job.rules, p.ctx.lines)
    shadow = None
    if job.shadow_rules:
        shadow = _ordered([r.shadow for r in results if r.shadow is not None],
                          {r.id: i for i, r in enumerate(job.shadow_rules)})
    kept: dict[str, pl.DataFrame] = {}
    for r in results:
        for name, frame in r.kept.items():
            kept[name] = pl.concat([kept[name], frame]) if name in kept else frame
    return Judged(flags, shadow, p.present, p.ctx, [r.read for r in results], timings={"rules": rules_s},
                  kept=kept, state=p.view)


def _ordered(frames: list[pl.DataFrame], order: dict[str, int]) -> pl.DataFrame:
    if not frames:
        return pl.DataFrame(schema=FLAG_SCHEMA)
    flags = pl.concat(frames, how="vertical_relaxed")
    rank = pl.col("rule_id").replace_strict(order, default=len(order), return_dtype=pl.Int32)
    return flags.with_columns(rank.alias("_rank")).sort("_rank", maintain_order=True).drop("_rank")


def line_rules(rules: list[Rule]) -> list[Rule]:
    return [r for r in rules if REGISTRY[r.detector].input == "lines"]


__all__ = ["PartitionResult", "PartitionSpec", "Plan", "arrow_frames", "combined", "frames_of", "gather", "judge_partition", "line_rules",
           "plan", "since_of", "split_stores", "built_once", "collect_kept"]
