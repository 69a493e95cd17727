"""The baseline state on disk: compact tables beside the Parquet history, bucketed by store.

``<history dir>/state/<table>/bucket=<k>.parquet`` with ``k = crc32(store_id) % buckets``
(the tables are ``detectors.state_tables.TABLES``), each with the delta files of the scans
since it was written (``store.state_deltas``), and ``state/meta.json`` naming the last scan the
state includes.  A scan reads only the buckets of its batch's stores and writes their changed
rows, never the raw lines.  ``meta.json`` is written last: a state whose scan id is not the
history's newest partition (a crash between the history's rename and the state's, a history
written by an older version) is stale, and the next scan rebuilds it from the raw lines
(``orderwatch.baseline_state``), as ``orderwatch history rebuild`` does on demand.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl

from store.state_deltas import DEL, KEYS, Compaction, delta_name, deltas_of, diff, merged

BUCKETS = 16
VERSION = 3   # 2: judged store-days (detectors.volume_state) beside the line tables; 3: delta files


def _footer_rows(path: Path) -> int:
    return pl.scan_parquet(path).select(pl.len()).collect().item()


def bucket_of(store_id: str | None, buckets: int = BUCKETS) -> int:
    """A store's bucket: stable across processes and polars versions (crc32, not ``hash``)."""
    return 0 if store_id is None else zlib.crc32(str(store_id).encode("utf-8")) % buckets


@dataclass(frozen=True)
class Staged:
    """A bucket file written beside its target, to be renamed over it (``tmp`` None: delete it)."""
    target: str
    tmp: str | None


def discard(staged: Iterable[Staged]) -> None:
    """Remove staged files that were not committed (a failed scan, a failed write)."""
    for s in staged:
        if s.tmp is not None:
            Path(s.tmp).unlink(missing_ok=True)


def with_bucket(frame: pl.DataFrame, buckets: int = BUCKETS) -> pl.DataFrame:
    """``frame`` with ``_b``, its rows' store bucket (crc32 of each distinct store, vectorised)."""
    names = frame.get_column("store_id").drop_nulls().unique().to_list()
    return frame.with_columns(pl.col("store_id").replace_strict(
        {n: bucket_of(n, buckets) for n in names}, default=bucket_of(None, buckets),
        return_dtype=pl.Int32).alias("_b"))


def drop_stores(frame: pl.DataFrame, stores: Iterable[str | None]) -> pl.DataFrame:
    """``frame`` without the rows of ``stores`` (None: the rows without a store)."""
    stores = list(stores)
    named = [s for s in stores if s is not None]
    keep = ~pl.col("store_id").is_in(named)
    if None in stores:
        keep = keep & pl.col("store_id").is_not_null()
    return frame.filter(keep)


def only_stores(frame: pl.DataFrame, stores: Iterable[str | None]) -> pl.DataFrame:
    """The rows of ``frame`` of ``stores`` (None: the rows without a store)."""
    stores = list(stores)
    named = [s for s in stores if s is not None]
    keep = pl.col("store_id").is_in(named)
    if None in stores:
        keep = keep | pl.col("store_id").is_null()
    return frame.filter(keep)


class BaselineState:
    """Read and replace store buckets of the state tables; counts the rows it reads."""

    def __init__(self, dir: Path | str, schemas: dict[str, dict[str, pl.DataType]],
                 buckets: int = BUCKETS, compaction: Compaction | None = None) -> None:
        self.dir = Path(dir)
        self.schemas = schemas
        self.buckets = buckets
        self.rows_read = 0           # state rows read since this object was made (tests, bench)
        self._compaction = compaction or Compaction()

    # -- meta ---------------------------------------------------------------------------
    @property
    def _meta_path(self) -> Path:
        return self.dir / "meta.json"

    def meta(self) -> dict:
        try:
            return json.loads(self._meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def includes(self) -> int | None:
        """The last scan id the state includes (None: no state, or not of this version).
        0: built from an empty history."""
        m = self.meta()
        return m.get("scan_id") if m.get("version") == VERSION else None

    def _write_meta(self, scan_id: int, extra: dict) -> None:
        tmp = self.dir / f".meta.{uuid.uuid4().hex}.tmp"
        tmp.write_text(json.dumps({"version": VERSION, "scan_id": int(scan_id), **extra}), encoding="utf-8")
        os.replace(tmp, self._meta_path)

    # -- tables -------------------------------------------------------------------------
    def _bucket_path(self, table: str, k: int) -> Path:
        return self.dir / table / f"bucket={k}.parquet"

    def buckets_of(self, stores: Iterable[str | None]) -> list[int]:
        return sorted({bucket_of(s, self.buckets) for s in stores})

    def _scan(self, table: str, ks: Iterable[int], keep: pl.Expr | None = None) -> pl.LazyFrame | None:
        """Buckets ``ks`` of ``table``: each base merged with its deltas (``store.state_deltas``);
        ``keep``: a filter on key columns, applied before the merge.  None: no file."""
        schema, ks = self.schemas[table], sorted(set(ks))
        files = [str(p) for k in ks if (p := self._bucket_path(table, k)).exists()]
        found = deltas_of(self.dir / table, ks)
        if not files and not found:
            return None

        def scan(paths: list[str], sch: dict) -> pl.LazyFrame:
            lf = pl.scan_parquet(paths, schema=sch, missing_columns="insert", extra_columns="ignore")
            return lf if keep is None else lf.filter(keep)
        base = scan(files, schema) if files else pl.LazyFrame(schema=schema)
        if not found or table not in KEYS:
            return base
        with_del = {**schema, DEL: pl.Boolean()}
        return merged(base, [scan([str(p)], with_del) for _k, _s, p in found], KEYS[table])

    def read(self, stores: Iterable[str | None] | None = None, pairs: pl.DataFrame | None = None,
             tables: Iterable[str] | None = None, since_day: date | None = None) -> dict[str, pl.DataFrame]:
        """Each table's rows of ``stores`` (None: every store), reading only their buckets;
        ``pairs`` (store_id, sku): only those pairs' rows of tables keyed by SKU; ``tables``: only
        those; ``since_day``: only rows of tables keyed by day from that day on."""
        wanted = None if stores is None else list(stores)
        ks = range(self.buckets) if wanted is None else self.buckets_of(wanted)
        keep = None
        if wanted is not None:
            named = [s for s in wanted if s is not None]
            keep = pl.col("store_id").is_in(named)
            keep = keep | pl.col("store_id").is_null() if len(named) < len(wanted) else keep
        out = {}
        for table, schema in self.schemas.items():
            if tables is not None and table not in tables:
                continue
            lf = self._scan(table, ks, keep)
            if lf is None:
                out[table] = pl.DataFrame(schema=schema)
                continue
            if pairs is not None and "sku" in schema:
                lf = lf.join(pairs.lazy().select(pl.col("store_id").cast(pl.String), pl.col("sku").cast(pl.String)),
                             on=["store_id", "sku"], how="semi", nulls_equal=True)
            if since_day is not None and "day" in schema:
                lf = lf.filter(pl.col("day") >= since_day)
            out[table] = lf.collect()
            self.rows_read += out[table].height
        return out

    def read_buckets(self, ks: Iterable[int], tables: Iterable[str] | None = None) -> dict[str, pl.DataFrame]:
        """Every row of buckets ``ks`` (all their stores, deltas merged): what a bucket's update
        starts from, one read of each file.  Not counted in ``rows_read`` (the caller counts its stores' rows)."""
        ks, out = sorted(set(ks)), {}
        for table, schema in self.schemas.items():
            if tables is not None and table not in tables:
                continue
            lf = self._scan(table, ks)
            out[table] = lf.collect() if lf is not None else pl.DataFrame(schema=schema)
        return out

    def bucket_rows(self) -> dict[int, int]:
        """Rows stored in each bucket over every table, bases and deltas (from the files' footers, no row read)."""
        out: dict[int, int] = {}
        for table in self.schemas:
            for path in (self.dir / table).glob("bucket=*.parquet"):
                k = int(path.name.split("=", 1)[1].split(".", 1)[0])
                out[k] = out.get(k, 0) + _footer_rows(path)
        return out

    def file_sizes(self, table: str, k: int) -> tuple[int, int, int]:
        """(base bytes, delta bytes, delta files) of bucket ``k`` of ``table``: what a compaction
        is decided on (a stat, no footer read: a read's merge cost follows the files' sizes)."""
        base = self._bucket_path(table, k)
        found = deltas_of(self.dir / table, [k])
        return (base.stat().st_size if base.exists() else 0, sum(p.stat().st_size for _k, _s, p in found), len(found))

    def compaction(self) -> Compaction:
        return self._compaction

    def _stage_file(self, target: Path, rows: pl.DataFrame, tag: str) -> Staged:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.parent / f".{target.name}.{tag}{uuid.uuid4().hex}.tmp"
        rows.sort("store_id", nulls_last=True).write_parquet(tmp, compression="zstd", statistics=True)
        return Staged(str(target), str(tmp))

    def _stage_base(self, table: str, k: int, rows: pl.DataFrame | None, tag: str) -> list[Staged]:
        """Bucket ``k`` of ``table`` written whole (a new base), its deltas deleted on commit."""
        target = self._bucket_path(table, k)
        out = [Staged(str(target), None) if rows is None or rows.is_empty() else self._stage_file(target, rows, tag)]
        return out + [Staged(str(p), None) for _k, _s, p in deltas_of(self.dir / table, [k])]

    def _cast(self, table: str, frame: pl.DataFrame) -> pl.DataFrame:
        return frame.select([pl.col(c).cast(t) for c, t in self.schemas[table].items()])

    def stage(self, tables: dict[str, pl.DataFrame], ks: Iterable[int], tag: str = "") -> list[Staged]:
        """Write ``tables`` (every row of buckets ``ks``) as temporary files beside their buckets,
        nothing in place yet (:meth:`commit` renames them, and deletes the buckets' deltas): a task
        retried after its worker died leaves only files no commit names.  ``tag`` marks the files (:meth:`sweep`)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        staged: list[Staged] = []
        try:
            for table in self.schemas:
                split = with_bucket(self._cast(table, tables[table]), self.buckets).partition_by(
                    "_b", as_dict=True, include_key=False)
                for k in sorted(set(ks)):
                    staged += self._stage_base(table, k, split.get((k,)), tag)
        except BaseException:
            discard(staged)
            raise
        return staged

    def stage_changes(self, whole: dict[str, pl.DataFrame], mine: dict[str, pl.DataFrame], stores: list[str | None],
                      new: dict[str, pl.DataFrame], ks: Iterable[int], tag: str = "",
                      scope: dict[str, pl.DataFrame] | None = None) -> tuple[list[Staged], int]:
        """Stage what turns buckets ``ks`` (``whole``: every row of them; ``mine``: those of
        ``stores``) into the same buckets with ``new`` in place of ``mine``: per bucket a delta
        file of the changed rows (``store.state_deltas``), or the bucket whole when its deltas
        are due for compaction.  ``scope``: per table, values of some of its columns outside
        which no row changed (only those rows are compared).  Returns the staged files and the
        other stores' rows rewritten (compacted buckets only)."""
        scope = scope or {}

        def cut(table: str, f: pl.DataFrame) -> pl.DataFrame:
            if table not in scope:
                return f
            on = scope[table].columns
            return f.join(scope[table], on=on, how="semi", nulls_equal=True)
        self.dir.mkdir(parents=True, exist_ok=True)
        staged: list[Staged] = []
        carried = 0
        try:
            for table in self.schemas:
                rows = self._cast(table, new[table])
                changes = diff(cut(table, mine[table]), cut(table, rows), KEYS[table]) if table in KEYS else None
                parts = (with_bucket(changes, self.buckets).partition_by("_b", as_dict=True, include_key=False)
                         if changes is not None else {})
                for k in sorted(set(ks)):
                    part = parts.get((k,))
                    if changes is not None and (part is None or part.is_empty()):
                        continue            # nothing of this table changed in this bucket
                    base_bytes, delta_bytes, files = self.file_sizes(table, k)
                    if changes is None or self._compaction.due(base_bytes, delta_bytes, files + 1):
                        here = [bucket_of(s, self.buckets) == k for s in stores]
                        mine_k = [s for s, h in zip(stores, here) if h]
                        old = with_bucket(whole[table], self.buckets)
                        others = drop_stores(old.filter(pl.col("_b") == k).drop("_b"), mine_k)
                        carried += others.height
                        staged += self._stage_base(table, k, pl.concat([others, only_stores(rows, mine_k)]), tag)
                        continue
                    found = deltas_of(self.dir / table, [k])
                    seq = found[-1][1] + 1 if found else 1
                    staged.append(self._stage_file(self.dir / table / delta_name(k, seq), part, tag))
        except BaseException:
            discard(staged)
            raise
        return staged, carried

    def commit(self, staged: Iterable[Staged], scan_id: int, extra: dict | None = None) -> None:
        """Put staged bucket files in place, then mark the state as including ``scan_id`` (last)."""
        for s in staged:
            if s.tmp is None:
                Path(s.target).unlink(missing_ok=True)
            else:
                os.replace(s.tmp, s.target)
        self._write_meta(scan_id, extra or {})

    def sweep(self, tag: str) -> int:
        """Remove staged files marked ``tag`` that no commit took (a retried task's first attempt)."""
        gone = 0
        for tmp in self.dir.glob(f"*/.bucket=*.{tag}*.tmp") if tag else ():
            tmp.unlink(missing_ok=True)
            gone += 1
        return gone

    def replace(self, tables: dict[str, pl.DataFrame], stores: Iterable[str | None] | None,
                scan_id: int, extra: dict | None = None) -> None:
        """Put ``tables`` in place of the rows of ``stores`` (None: the whole state), then mark
        the state as including ``scan_id``.  Other stores of a touched bucket are kept."""
        stores = None if stores is None else list(stores)
        ks = list(range(self.buckets)) if stores is None else self.buckets_of(stores)
        if stores is not None and ks:
            others = self.read_buckets(ks)
            tables = {t: pl.concat([drop_stores(others[t], stores), tables[t].select(others[t].columns)])
                      for t in self.schemas}
        staged = self.stage(tables, ks)
        try:
            self.commit(staged, scan_id, extra)
        finally:
            discard(staged)

    def mark_stale(self) -> None:
        """Make the next scan rebuild the state (its update failed half-way)."""
        self._meta_path.unlink(missing_ok=True)

    def clear(self) -> None:
        """Forget the whole state (a rebuild starts from nothing)."""
        shutil.rmtree(self.dir, ignore_errors=True)


__all__ = ["BUCKETS", "BaselineState", "Staged", "bucket_of", "discard", "drop_stores", "only_stores", "with_bucket"]
