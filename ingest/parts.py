"""A large file read in parts on a pool of workers, with the file's decisions made once.

``ingest.chunks`` cuts the file and reads each range into a raw table; this module runs the
stages on a :class:`Pool` (Ray tasks in ``orderwatch.runner.on_ray``, or :class:`InProcess`)
so that the lines and quarantine are those of ``ingest.read_orders`` on the whole file:

1. every part is read into an all-string table (it stays on the worker: only its row count
   and headers come back);
2. the rows the whole read would sample — header recognition's 240 rows and each date
   column's 500, taken at the same positions of the whole file — are fetched, and the
   file's plan (headers by meaning) and date specs are decided once, here; the day/month
   evidence over every row, when the sample needs it, is summed over the parts;
3. each part counts its orders' lines (and first store name), so a line's position in an
   order and a store name printed on an order's first line only carry across a cut;
4. every part is judged by ``ingest.orders.ingest_table`` with the shared plan, specs and
   what its orders had in earlier parts; the counts, quarantine and report add up.

A part that only the whole read can judge (``chunks.Unclean``: broken bytes, mixed
encodings; a reader error) sends the file back to one read, and its report says so.
"""

from __future__ import annotations

import copy
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import polars as pl

from contracts.config import Config, Source

from .chunks import Split, Unclean, read_part, renumbered, split_file
from .columns import date_specs, typed_columns
from .dates import ColumnSeen, DateSpec, year_last_evidence
from .errors import IngestError
from .orders import FileCount, ingest_table
from .split import STATUS_FIELDS, ReportFacts, complete_from_facts
from .states import word_map
from .table import LINE, RawTable, empty_bad
from .understand import Plan, complete, plan



class Pool(Protocol):
    """Where the stages run.  ``submit`` returns a handle (``returns`` > 1: a tuple of them)
    that later stages take as arguments; ``get`` turns handles into values."""

    def submit(self, fn: Callable[..., Any], *args: Any, returns: int = 1) -> Any: ...  # noqa: ANN401
    def get(self, handles: list[Any]) -> list[Any]: ...
    def put(self, value: Any) -> Any: ...  # noqa: ANN401


class InProcess:
    """Every stage in this process, one after the other: the reference the tests compare with."""

    def submit(self, fn: Callable[..., Any], *args: Any, returns: int = 1) -> Any:  # noqa: ANN401
        return fn(*args)

    def get(self, handles: list[Any]) -> list[Any]:
        return list(handles)

    def put(self, value: Any) -> Any:  # noqa: ANN401
        return value


@dataclass
class PartMeta:
    rows: int = 0
    records: int = 0
    lines: int = 0                   # physical lines of the part
    headers: list[str] = field(default_factory=list)
    problem: str | None = None       # why this part needs the whole file's read


@dataclass
class Shipped:
    """A part's table as Arrow, the form it waits in between stages: Ray moves Arrow buffers
    as they are (a pickled polars frame of a 64 MiB part costs seconds; Arrow, milliseconds)."""
    frame: Any
    bad: Any
    format: str
    encoding: str | None
    counted: int | None
    has_nul: bool | None

    @classmethod
    def of(cls, t: RawTable) -> Shipped:
        return cls(arrow(t.frame), arrow(t.bad), t.format, t.encoding, t.counted, t.has_nul)

    def table(self) -> RawTable:
        return RawTable(pl.from_arrow(self.frame), pl.from_arrow(self.bad), self.format, self.encoding,  # type: ignore[arg-type]
                        self.counted, self.has_nul)


def arrow(frame: pl.DataFrame) -> Any:  # noqa: ANN401 - a pyarrow.Table
    """The frame as Arrow (large strings: Ray's Arrow serialiser does not take string views)."""
    return frame.to_arrow()


@dataclass
class Whole:
    """The file is read in one piece: why (for its report)."""
    reason: str


# -- the stages (module functions: a Ray task pickles them by name) ------------------------------
def stage_read(split: Split, index: int) -> tuple[PartMeta, Shipped | None]:
    try:
        part = read_part(split, index)
    except (Unclean, IngestError) as exc:
        return PartMeta(problem=f"part {index + 1}: {exc}"), None
    t = part.table
    return PartMeta(t.frame.height, t.records, part.lines, t.headers), Shipped.of(t)


def conformed(shipped: Shipped, headers: list[str], lines_before: int = 0) -> RawTable:
    """The part with the file's columns in the file's order (a JSON-lines part may lack keys),
    numbered as in the file."""
    table = renumbered(shipped.table(), lines_before)
    if table.headers == headers:
        return table
    missing = [pl.lit(None, dtype=pl.String).alias(h) for h in headers if h not in table.frame.columns]
    frame = table.frame.with_columns(missing).select(LINE, *headers)
    return RawTable(frame, table.bad, table.format, table.encoding, table.counted, table.has_nul)


def stage_rows(table: Shipped, headers: list[str], ranges: list[tuple[int, int, int]]) -> pl.DataFrame:
    """Rows (local start, count, global start) of a part, with their global index ``_g``."""
    t = conformed(table, headers).frame
    return pl.concat([t.slice(s, n).with_columns(pl.int_range(g, g + min(n, max(t.height - s, 0)),
                                                              dtype=pl.Int64).alias("_g"))
                      for s, n, g in ranges])


def stage_first_values(table: Shipped, header: str, n: int) -> pl.Series:
    if header not in table.frame.column_names:
        return pl.Series(header, [], dtype=pl.String)
    return pl.from_arrow(table.frame.select([header])).to_series().drop_nulls().head(n)


def stage_evidence(table: Shipped, header: str) -> tuple[int, int, int]:
    if header not in table.frame.column_names:
        return (0, 0, 0)
    return year_last_evidence(pl.from_arrow(table.frame.select([header])).to_series())


def _store_by_name(p: Plan) -> bool:
    return "store_id" not in p.mapping and "store_id" not in p.constants and "store_name" in p.mapping


def stage_keys(table: Shipped, headers: list[str], p: Plan, tz: str) -> pl.DataFrame:
    """Each order's lines in this part (and first store name), keyed as ``ingest_table`` keys them."""
    raw = conformed(table, headers).frame
    mapping = {f: h for f, h in p.mapping.items() if f in ("order_id", "buyer_id", "store_name")}
    constants = {f: v for f, v in p.constants.items() if f == "order_id"}
    typed = typed_columns(raw, mapping, constants, {}, tz).frame
    if p.derived_order_id:
        when = raw[p.mapping["created_at"]].cast(pl.String).fill_null("")
        typed = typed.with_columns(pl.concat_str([pl.col("buyer_id"), pl.lit("@"), pl.lit(when)]).alias("order_id"))
    aggs = [pl.len().cast(pl.Int64).alias("lines")]
    if _store_by_name(p):
        aggs.append(pl.col("store_name").drop_nulls().first())
    return typed.filter(pl.col("order_id").is_not_null()).group_by("order_id", maintain_order=True).agg(aggs)


def stage_ingest(table: Shipped, headers: list[str], label: str, config: Config, source: Source, p: Plan,
                 specs: dict[str, DateSpec], prior: pl.DataFrame | None, lines_before: int
                 ) -> tuple[Any, Any, FileCount]:
    """The part's lines and quarantine (as Arrow) and its count."""
    t = conformed(table, headers, lines_before)
    planned = copy.deepcopy(p)
    planned.report.rows = t.records
    lines, quarantine, count = ingest_table(t, label, config, source, planned=planned, specs=specs, prior=prior)
    return arrow(lines), arrow(quarantine), count


# -- the driver ----------------------------------------------------------------------------------
def _blocks(n: int, size: int) -> list[int]:
    """The starts of the four sampled blocks (``profile.sample_rows``, ``dates._sample``)."""
    return [0, n // 3, 2 * n // 3, n - size]


class _Sample:
    """The whole file's sampled rows, fetched from the parts that hold them."""

    def __init__(self, pool: Pool, tables: list[Any], metas: list[PartMeta], headers: list[str]) -> None:
        self.n = sum(m.rows for m in metas)
        wanted = [(0, self.n)] if self.n <= 1000 else [(0, 400), *((s, 125) for s in _blocks(self.n, 125)[1:])]
        handles, offset = [], 0
        for table, meta in zip(tables, metas):
            local = [(max(g, offset) - offset, min(g + k, offset + meta.rows) - max(g, offset), max(g, offset))
                     for g, k in wanted if g < offset + meta.rows and g + k > offset]
            if local:
                handles.append(pool.submit(stage_rows, table, headers, local))
            offset += meta.rows
        got = pool.get(handles)
        self.rows = pl.concat(got).unique("_g", keep="first").sort("_g") if got else \
            pl.DataFrame(schema={LINE: pl.Int64, **{h: pl.String for h in headers}, "_g": pl.Int64})

    def block(self, start: int, size: int) -> pl.DataFrame:
        return self.rows.filter(pl.col("_g").is_between(start, start + size - 1))

    def profile_rows(self) -> pl.DataFrame:
        if self.n <= 240:
            return self.rows.drop("_g")
        return pl.concat([self.block(s, 60) for s in _blocks(self.n, 60)]).drop("_g")

    def date_sample(self, header: str) -> pl.Series:
        if self.n <= 1000:
            return self.rows[header].drop_nulls()
        return pl.concat([self.block(s, 125)[header] for s in _blocks(self.n, 125)]).drop_nulls()


def _priors(pool: Pool, tables: list[Any], headers: list[str], p: Plan, tz: str) -> list[pl.DataFrame | None]:
    """Per part: its orders' lines (and first store name) in the earlier parts."""
    if "order_id" not in p.mapping and "order_id" not in p.constants and not p.derived_order_id:
        return [None] * len(tables)
    keys = pool.get([pool.submit(stage_keys, t, headers, p, tz) for t in tables])
    every = pl.concat([k.with_columns(pl.lit(i, dtype=pl.Int32).alias("k")) for i, k in enumerate(keys)])
    exprs = [(pl.col("lines").cum_sum().over("order_id") - pl.col("lines")).alias("before")]
    if "store_name" in every.columns:
        named = pl.when(pl.col("store_name").is_not_null()).then(pl.col("k"))
        first_k = named.min().over("order_id")
        first_name = pl.col("store_name").sort_by(named, nulls_last=True).first().over("order_id")
        exprs.append(pl.when(first_k < pl.col("k")).then(first_name).alias("earlier_name"))
    carried = every.with_columns(exprs)
    keep = pl.col("before") > 0
    if "earlier_name" in carried.columns:
        keep = keep | pl.col("earlier_name").is_not_null()
    carried = carried.filter(keep)
    out: list[pl.DataFrame | None] = []
    for i in range(len(tables)):
        mine = carried.filter(pl.col("k") == i)
        cols = [pl.col("order_id"), pl.col("before").alias("lines")]
        if "earlier_name" in mine.columns:
            cols.append(pl.col("earlier_name").alias("store_name"))
        out.append(mine.select(cols) if mine.height else None)
    return out


def _report(p: Plan, counts: list[FileCount], lines: pl.DataFrame | ReportFacts, quarantined: int,
            specs: dict[str, DateSpec], config: Config, source: Source, note: str) -> FileCount:
    """One count and report for the file, from its parts' (and their lines, or the facts
    ``ingest.split.ReportFacts`` summed from them where the lines stay on the workers)."""
    states: Counter[str] = Counter()
    for c in counts:
        states.update(c.report.states if c.report else {})
    extra = {**(config.get("ingest.states") or {}), **source.states}
    report = copy.deepcopy(p.report)
    report.rows = sum(c.read for c in counts)
    if isinstance(lines, ReportFacts):
        words = {f: word_map(list(values), extra) for f, values in lines.words.items()}
        report = complete_from_facts(report, lines, specs, words, dict(states))  # type: ignore[arg-type]
    else:
        words = {f: word_map(lines[f].unique().to_list(), extra) for f in STATUS_FIELDS if f in lines.columns}
        report = complete(report, lines, specs, words, dict(states))
    if counts and counts[0].report is not None:
        report.dates = dict(counts[0].report.dates)
    report.quarantined = quarantined
    report.notes.append(note)
    counted = None if any(c.counted is None for c in counts) else sum(c.counted or 0 for c in counts)
    return FileCount(p.report.path, report.rows, sum(c.accepted for c in counts),
                     sum(c.quarantined for c in counts), counted, report)


@dataclass
class Decided:
    """A file cut into parts with its decisions made once: what the final stage of every part
    takes (``read_in_parts`` gathers its lines here; ``ingest.parts_split`` splits them by store
    group where they are)."""
    label: str
    source: Source
    conf: Any                       # handles of the config and the source in the pool
    plan_source: Any
    plan: Plan
    specs: dict[str, DateSpec]
    headers: list[str]
    tables: list[Any]
    priors: list[pl.DataFrame | None]
    before: list[int]
    parts: int

    def stage_args(self) -> list[tuple[Any, ...]]:
        """Per part: the arguments of ``stage_ingest`` after the part's table."""
        return [(self.headers, self.label, self.conf, self.plan_source, self.plan, self.specs, prior, n)
                for prior, n in zip(self.priors, self.before)]

    def note(self, chunk_bytes: int) -> str:
        return (f"read in {self.parts} parts of about {chunk_bytes / 2**20:.0f} MiB "
                f"(byte ranges cut at record ends; header, plan and date formats shared)")


def decide_parts(path: str | Path, config: Config, source: str | None, pool: Pool, chunk_bytes: int
                 ) -> Decided | Whole:
    """Stages 1-3 of the module docstring: the parts read, the plan, date specs and carries decided."""
    split = split_file(os.path.abspath(path), chunk_bytes)   # workers open it: absolute (a shared mount)
    if isinstance(split, str):
        return Whole(split)
    label, src = str(path), config.source_for(path, source)
    conf, plan_src = pool.put(config), pool.put(src)
    pairs = [pool.submit(stage_read, split, i, returns=2) for i in range(len(split.parts))]
    metas: list[PartMeta] = pool.get([m for m, _ in pairs])
    tables = [t for _, t in pairs]
    problems = [m.problem for m in metas if m.problem]
    if problems:
        return Whole(f"read whole, not in {len(metas)} parts: {problems[0]}")
    headers: list[str] = []
    for m in metas:                       # JSON lines: keys in order of first appearance
        headers.extend(h for h in m.headers if h not in headers)
    sample = _Sample(pool, tables, metas, headers)
    sample_table = RawTable(sample.profile_rows(), empty_bad(), split.kind, split.encoding)
    p = plan(sample_table, label, src)
    p.report.rows = sum(m.records for m in metas)
    evidence: dict[str, tuple[int, int, int]] = {}

    def seen(header: str) -> ColumnSeen:
        def summed() -> tuple[int, int, int]:
            if header not in evidence:
                parts = pool.get([pool.submit(stage_evidence, t, header) for t in tables])
                evidence[header] = tuple(sum(x[i] for x in parts) for i in range(3))  # type: ignore[assignment]
            return evidence[header]
        values = sample.date_sample(header)
        if values.len() == 0:   # a sparse column: its first values, as the whole read takes them
            firsts = pool.get([pool.submit(stage_first_values, t, header, 500) for t in tables])
            values = pl.concat(firsts).head(500)
        return ColumnSeen(values, sample.block(0, 400)[header], summed)

    specs = date_specs(None, p.mapping, src, seen=seen)
    priors = _priors(pool, tables, headers, p, config.timezone)
    before = [sum(m.lines for m in metas[:i]) for i in range(len(metas))]
    return Decided(label, src, conf, plan_src, p, specs, headers, tables, priors, before, len(metas))


def read_in_parts(path: str | Path, config: Config, source: str | None, pool: Pool, chunk_bytes: int
                  ) -> tuple[pl.DataFrame, pl.DataFrame, FileCount] | Whole:
    """The file's lines, quarantine and count, read in parts on ``pool``; or why it is read whole."""
    d = decide_parts(path, config, source, pool, chunk_bytes)
    if isinstance(d, Whole):
        return d
    done = pool.get([pool.submit(stage_ingest, t, *args) for t, args in zip(d.tables, d.stage_args())])
    lines = pl.concat([pl.from_arrow(x[0]) for x in done])
    quarantine = pl.concat([pl.from_arrow(x[1]) for x in done])
    count = _report(d.plan, [x[2] for x in done], lines, quarantine.height, d.specs, config, d.source,
                    d.note(chunk_bytes))
    return lines, quarantine, count


__all__ = ["Decided", "InProcess", "Pool", "Shipped", "Whole", "arrow", "decide_parts", "read_in_parts"]
