"""The baseline state's write path, one group of store buckets at a time.

A scan's state update (and the state's first build, from the first scan's batch) is split
into :class:`BucketJob` s: a few of the state's store buckets (``store.baseline_state``,
``crc32(store) % 16``) with the scan's lines of their stores.  :func:`run_job` is a pure
function of a job and the job's stored bucket files: it reads each of its buckets once,
computes its stores' new rows (``detectors.state_tables.advance_from``, ``cod_orders``, the
judged store-days), and *stages* per bucket a delta file of the rows that changed (the bucket
whole on a first build or a compaction: ``store.state_deltas``); the driver renames
every staged file and writes ``meta.json`` last (:func:`orderwatch.baseline_state.advance_scan`),
so a crash or a retried task leaves the previous state or files no commit names.

Why groups of buckets: the first build of a 10 M-line first scan held every line's
contributions at once (~2 GiB per million lines); a job holds only its buckets' lines, at
most ``history.state.build_lines`` lines unless one bucket has more (:func:`plan_jobs`).
The same jobs run in-process (:func:`in_process`) or as Ray tasks (``orderwatch.runner.on_ray``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import polars as pl

from contracts.config import Config
from detectors import state_platform, state_tables, volume_state
from detectors.state_tables import contributions
from store.baseline_state import BaselineState, Staged, only_stores, with_bucket
from store.state_deltas import Compaction

JUDGED = tuple(volume_state.SCHEMAS)
#: rows a job holds at most — lines, and on an update the buckets' stored rows (a bucket with
#: more is one job of its own): 16 jobs of 62,500 lines built 1 M lines in less CPU than 5 of 200,000
BUILD_LINES = 100_000


@dataclass
class BucketJob:
    """Some buckets' part of one scan's state update."""
    buckets: list[int]
    new: pl.DataFrame                   # the scan's new and changed lines of these buckets' stores
    old: pl.DataFrame                   # the stored versions they replace
    kept: dict[str, pl.DataFrame] = field(default_factory=dict)   # judged store-days (``DetectContext.kept``)
    days: pl.DataFrame | None = None    # (store_id, day) the batch judged here: stored judged rows replaced
    fresh: bool = False                 # the first build: no stored rows to read
    tag: str = ""                       # marks the staged files (a retried task's are swept)


@dataclass
class BucketResult:
    """What a job staged and what it handled."""
    staged: list[Staged]
    stores: int                         # stores whose rows were recomputed
    lines: int                          # lines the job handled (new and old versions)
    state_rows_read: int                # stored rows of its stores
    rows_carried: int                   # stored rows of other stores in its buckets, written unchanged
    rows: dict[str, int]                # rows now in each table for its stores
    platform: dict[str, pl.DataFrame] | None = None   # the first build's platform tables of its stores


Mapper = Callable[[Callable[[BucketJob], BucketResult], Iterable[BucketJob]], list[BucketResult]]


def in_process(fn: Callable[[BucketJob], BucketResult], jobs: Iterable[BucketJob]) -> list[BucketResult]:
    """The default mapper: one job after another (each job's rows let go before the next is cut)."""
    out = []
    for job in jobs:
        out.append(fn(job))
        del job
    return out


def build_lines(config: Config) -> int:
    return int((config.get("history.state") or {}).get("build_lines", BUILD_LINES))


def job_limit(config: Config, lines: int, mapper: Mapper | None) -> int:
    """Lines per job: ``history.state.build_lines``, or fewer so a mapper that runs jobs side by
    side (its ``parallel``: the Ray runner's task slots) gets at least that many."""
    parallel = max(1, int(getattr(mapper, "parallel", 1)))
    return max(1, min(build_lines(config), -(-lines // parallel)))


def ship(job: BucketJob) -> BucketJob:
    """The job with Arrow tables for polars frames (Ray moves Arrow buffers as they are)."""
    def a(f: pl.DataFrame | None) -> object:
        return None if f is None else f.to_arrow()
    return BucketJob(job.buckets, a(job.new), a(job.old), {n: a(f) for n, f in job.kept.items()},  # type: ignore[arg-type]
                     a(job.days), job.fresh, job.tag)  # type: ignore[arg-type]


def land(job: BucketJob) -> BucketJob:
    """:func:`ship` undone."""
    def f(t: object) -> pl.DataFrame | None:
        return None if t is None else pl.from_arrow(t)  # type: ignore[return-value]
    return BucketJob(job.buckets, f(job.new), f(job.old), {n: f(t) for n, t in job.kept.items()},  # type: ignore[misc]
                     f(job.days), job.fresh, job.tag)


def ship_result(r: BucketResult) -> BucketResult:
    """The result with its platform part as Arrow (:func:`land_result` undoes it)."""
    if r.platform is None:
        return r
    return BucketResult(r.staged, r.stores, r.lines, r.state_rows_read, r.rows_carried, r.rows,
                        {t: f.to_arrow() for t, f in r.platform.items()})  # type: ignore[misc]


def land_result(r: BucketResult) -> BucketResult:
    if r.platform is None:
        return r
    return BucketResult(r.staged, r.stores, r.lines, r.state_rows_read, r.rows_carried, r.rows,
                        {t: pl.from_arrow(f) for t, f in r.platform.items()})  # type: ignore[misc]


def plan_jobs(new: pl.DataFrame, old: pl.DataFrame, kept: dict[str, pl.DataFrame], days: pl.DataFrame | None,
              buckets: int, limit: int, fresh: bool, tag: str = "", extra: Sequence[int] = (),
              stored: dict[int, int] | None = None) -> Iterator[BucketJob]:
    """The touched buckets (those of ``new``'s and ``days``' stores, and ``extra``) in groups of
    whole buckets of at most ``limit`` lines each, in bucket order; each group's rows cut out
    of the scan's frames by one vectorised bucket column when its job is taken (lazily: only
    the running job's rows are copied, not every group's at once).  ``stored``: each bucket's
    stored rows (an update reads them whole), counted like lines."""
    nb, ob = with_bucket(new, buckets), with_bucket(old, buckets)
    db = with_bucket(days, buckets) if days is not None else None
    counts = dict(pl.concat([nb.select("_b"), ob.select("_b")]).group_by("_b").len().iter_rows())
    for k in [*extra, *(db.get_column("_b").unique().to_list() if db is not None else [])]:
        counts.setdefault(k, 0)     # a bucket of judged store-days only
    for k in counts if stored else ():
        counts[k] += stored.get(k, 0)
    groups: list[list[int]] = []
    size = 0
    for k in sorted(counts):
        if groups and size + counts[k] <= limit:
            groups[-1].append(k)
            size += counts[k]
        else:
            groups.append([k])
            size = counts[k]
    kb = {name: with_bucket(f, buckets) for name, f in kept.items()}

    def cut(frame: pl.DataFrame, ks: list[int]) -> pl.DataFrame:
        return frame.filter(pl.col("_b").is_in(ks)).drop("_b")
    for ks in groups:
        yield BucketJob(ks, cut(nb, ks), cut(ob, ks), {n: cut(f, ks) for n, f in kb.items()},
                        cut(db, ks) if db is not None else None, fresh, tag)


def merge_kept(tables: dict[str, pl.DataFrame], kept: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """``tables``' judged rows with the ``kept`` rows of a scan in place of the same store-days."""
    out = dict(tables)
    for table, schema in volume_state.SCHEMAS.items():
        frames = [f.lazy() for name, f in kept.items() if name.split("|", 1)[0] == table]
        if not frames:
            continue
        new = pl.concat(frames).collect()
        old = out.get(table, pl.DataFrame(schema=schema))
        out[table] = pl.concat([old.join(new.select("key", "store_id", "day").unique(),
                                         on=["key", "store_id", "day"], how="anti", nulls_equal=True),
                                new.select(old.columns)])
    return out


def bound_judged(tables: dict[str, pl.DataFrame], days: int) -> dict[str, pl.DataFrame]:
    """Judged store-days within ``days`` of each store's newest."""
    out = dict(tables)
    for table in JUDGED:
        rows = out[table]
        newest = pl.col("day").max().over("store_id")
        out[table] = rows.filter(pl.col("day") > newest - pl.duration(days=days)).sort("store_id", "day")
    return out


def stores_rows(job: BucketJob, stored: dict[str, pl.DataFrame], config: Config
                ) -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame] | None]:
    """The job's stores' new rows of every store table, from their ``stored`` rows and the job's
    lines (the pure part of :func:`run_job`); with the first build's platform part."""
    b, pb = state_tables.Bounds.of(config), state_platform.Bounds.of(config)
    cn = contributions(job.new, config)
    platform = None
    if job.fresh:
        built = state_platform.built_part(cn, pb)
        tables = {**stored, **state_tables.build_from(cn, b), "cod_orders": built.pop("cod_orders")}
        platform = built
    else:
        co = contributions(job.old, config)
        tables = {**stored, **state_tables.advance_from(stored, cn, co, b),
                  "cod_orders": state_platform.advance_cod(stored["cod_orders"], cn, pb)}
    if job.kept:
        if job.days is not None:    # the batch's store-days as judged now: none left where no line is active
            for t in JUDGED:
                tables[t] = tables[t].join(job.days, on=["store_id", "day"], how="anti", nulls_equal=True)
        tables = bound_judged(merge_kept(tables, job.kept), b.days)
    return tables, platform


def run_job(state_dir: str, schemas: dict[str, dict[str, pl.DataType]], buckets: int, job: BucketJob,
            config: Config) -> BucketResult:
    """One job: its buckets read once (not on a first build), its stores' rows recomputed, and
    per bucket a delta file of what changed staged (``store.state_deltas``; the bucket whole on
    a first build, or when its deltas are due for compaction: the other stores' rows carried)."""
    st = BaselineState(state_dir, schemas, buckets, Compaction.of(config.get("history.state")))
    names = [job.new.select("store_id")]
    if job.days is not None:
        names.append(job.days.select("store_id"))
    stores = pl.concat(names).get_column("store_id").unique().to_list()
    if job.fresh:
        whole = {t: pl.DataFrame(schema=s) for t, s in schemas.items()}
    else:
        whole = st.read_buckets(job.buckets)
    mine = {t: only_stores(f, stores) for t, f in whole.items()}
    read = sum(f.height for f in mine.values())
    tables, platform = stores_rows(job, mine, config)
    if job.fresh:
        staged, carried = st.stage({t: tables[t] for t in schemas}, job.buckets, job.tag), 0
    else:
        # a pair's window changes only with its new lines or the stored versions they replace
        pairs = pl.concat([f.select(pl.col("store_id").cast(pl.String), pl.col("sku").cast(pl.String))
                           for f in (job.new, job.old)]).unique()
        staged, carried = st.stage_changes(whole, mine, stores, tables, job.buckets, job.tag,
                                           scope={"sku_window": pairs})
    return BucketResult(staged, len(stores), job.new.height + job.old.height, read, carried,
                        {t: tables[t].height for t in schemas}, platform)


__all__ = ["BUILD_LINES", "BucketJob", "BucketResult", "Mapper", "bound_judged", "build_lines", "in_process",
           "job_limit", "land", "land_result", "merge_kept", "plan_jobs", "run_job", "ship", "ship_result", "stores_rows"]
