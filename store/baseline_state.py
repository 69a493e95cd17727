"""The baseline state on disk: compact tables beside the Parquet history, bucketed by store.

``<history dir>/state/<table>/bucket=<k>.parquet`` with ``k = crc32(store_id) % buckets``
(the tables are ``detectors.state_tables.TABLES``), and ``state/meta.json`` naming the last
scan the state includes.  A scan reads and rewrites only the buckets of its batch's stores,
never the raw lines.  ``meta.json`` is written last: a state whose scan id is not the
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

BUCKETS = 16
VERSION = 2   # 2: judged store-days (detectors.volume_state) beside the line tables


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
                 buckets: int = BUCKETS) -> None:
        self.dir = Path(dir)
        self.schemas = schemas
        self.buckets = buckets
        self.rows_read = 0           # state rows read since this object was made (tests, bench)

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

    def read(self, stores: Iterable[str | None] | None = None, pairs: pl.DataFrame | None = None,
             tables: Iterable[str] | None = None, since_day: date | None = None) -> dict[str, pl.DataFrame]:
        """Each table's rows of ``stores`` (None: every store), reading only their buckets;
        ``pairs`` (store_id, sku): only those pairs' rows of tables keyed by SKU; ``tables``: only
        those; ``since_day``: only rows of tables keyed by day from that day on."""
        wanted = None if stores is None else list(stores)
        ks = range(self.buckets) if wanted is None else self.buckets_of(wanted)
        out = {}
        for table, schema in self.schemas.items():
            if tables is not None and table not in tables:
                continue
            files = [str(p) for k in ks if (p := self._bucket_path(table, k)).exists()]
            if not files:
                out[table] = pl.DataFrame(schema=schema)
                continue
            lf = pl.scan_parquet(files, schema=schema, missing_columns="insert", extra_columns="ignore")
            if wanted is not None:
                named = [s for s in wanted if s is not None]
                keep = pl.col("store_id").is_in(named)
                lf = lf.filter(keep | pl.col("store_id").is_null() if len(named) < len(wanted) else keep)
            if pairs is not None and "sku" in schema:
                lf = lf.join(pairs.lazy().select(pl.col("store_id").cast(pl.String), pl.col("sku").cast(pl.String)),
                             on=["store_id", "sku"], how="semi", nulls_equal=True)
            if since_day is not None and "day" in schema:
                lf = lf.filter(pl.col("day") >= since_day)
            out[table] = lf.collect()
            self.rows_read += out[table].height
        return out

    def read_buckets(self, ks: Iterable[int], tables: Iterable[str] | None = None) -> dict[str, pl.DataFrame]:
        """Every row of buckets ``ks`` (all their stores): what a bucket's rewrite starts from,
        one read of each file.  Not counted in ``rows_read`` (the caller counts its stores' rows)."""
        ks, out = sorted(set(ks)), {}
        for table, schema in self.schemas.items():
            if tables is not None and table not in tables:
                continue
            files = [str(p) for k in ks if (p := self._bucket_path(table, k)).exists()]
            out[table] = (pl.scan_parquet(files, schema=schema, missing_columns="insert", extra_columns="ignore")
                          .collect() if files else pl.DataFrame(schema=schema))
        return out

    def bucket_rows(self) -> dict[int, int]:
        """Rows stored in each bucket over every table (from the files' footers, no row read)."""
        out: dict[int, int] = {}
        for table in self.schemas:
            for path in (self.dir / table).glob("bucket=*.parquet"):
                k = int(path.stem.split("=", 1)[1])
                out[k] = out.get(k, 0) + pl.scan_parquet(path).select(pl.len()).collect().item()
        return out

    def stage(self, tables: dict[str, pl.DataFrame], ks: Iterable[int], tag: str = "") -> list[Staged]:
        """Write ``tables`` (every row of buckets ``ks``) as temporary files beside their buckets,
        nothing in place yet (:meth:`commit` renames them): a task retried after its worker died
        leaves only files no commit names.  ``tag`` marks the files (:meth:`sweep`)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        staged: list[Staged] = []
        try:
            for table, schema in self.schemas.items():
                frame = tables[table].select([pl.col(c).cast(t) for c, t in schema.items()])
                split = with_bucket(frame, self.buckets).partition_by("_b", as_dict=True, include_key=False)
                for k in sorted(set(ks)):
                    target = self._bucket_path(table, k)
                    rows = split.get((k,))
                    if rows is None or rows.is_empty():
                        staged.append(Staged(str(target), None))
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    tmp = target.parent / f".{target.name}.{tag}{uuid.uuid4().hex}.tmp"
                    rows.sort("store_id", nulls_last=True).write_parquet(tmp, compression="zstd", statistics=True)
                    staged.append(Staged(str(target), str(tmp)))
        except BaseException:
            discard(staged)
            raise
        return staged

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
