"""Delta files of the baseline state's store buckets: a scan writes what changed, not the bucket.

A one-day batch touches most buckets but few of their rows (issue 9: 1.55 M rows rewritten for
~20 k changed).  So beside each ``<table>/bucket=<k>.parquet`` (the *base*) a scan's update
writes ``bucket=<k>.delta=<seq>.parquet``: the rows it added or changed, and a tombstone
(``_del`` true, the old row) for each row it removed, keyed by the table's natural key
(:data:`KEYS`: a row per line, order, store-day...).  Readers merge the base with its deltas in
``seq`` order (:func:`merged`: per key the newest delta's row wins, a tombstone removes it); a
bucket job *compacts* (writes the merged bucket as a new base and deletes its deltas) when its
deltas pass a share of the base or a number of files (``history.state.compact_share``,
``compact_files``: :class:`Compaction`), and a rebuild starts from bases only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

#: each bucketed table's natural key: one row per key in a bucket (tables not named here are
#: always rewritten whole)
KEYS: dict[str, tuple[str, ...]] = {
    "sku_window": ("source", "store_id", "order_id", "line_no"),
    "store_days": ("store_id", "day"),
    "store_orders": ("source", "store_id", "order_id"),
    "judged_days": ("key", "store_id", "day"),
    "day_bins": ("key", "store_id", "day", "bin"),
    "cod_orders": ("source", "store_id", "order_id"),
}
DEL = "_del"
_DELTA = re.compile(r"^bucket=(\d+)\.delta=(\d+)\.parquet$")


@dataclass(frozen=True)
class Compaction:
    """When a bucket's deltas are folded into its base: their bytes above ``share`` of the
    base's (a read then merges more than that), or ``files`` delta files or more."""
    share: float = 0.5
    files: int = 8

    @classmethod
    def of(cls, raw: dict | None) -> "Compaction":
        raw = raw or {}
        return cls(share=float(raw.get("compact_share", cls.share)), files=int(raw.get("compact_files", cls.files)))

    def due(self, base_bytes: int, delta_bytes: int, delta_files: int) -> bool:
        return delta_files >= self.files or delta_bytes > self.share * max(base_bytes, 1)


def delta_name(k: int, seq: int) -> str:
    return f"bucket={k}.delta={seq:08d}.parquet"


def deltas_of(table_dir: Path, ks: Sequence[int] | None = None) -> list[tuple[int, int, Path]]:
    """(bucket, seq, path) of the delta files under ``table_dir`` (of buckets ``ks``), oldest first."""
    want = None if ks is None else set(ks)
    out = []
    for p in table_dir.glob("bucket=*.delta=*.parquet") if table_dir.is_dir() else ():
        m = _DELTA.match(p.name)
        if m and (want is None or int(m.group(1)) in want):
            out.append((int(m.group(1)), int(m.group(2)), p))
    return sorted(out, key=lambda t: (t[1], t[0]))


def merged(base: pl.LazyFrame, deltas: list[pl.LazyFrame], key: Sequence[str]) -> pl.LazyFrame:
    """The rows of ``base`` after ``deltas`` (oldest first, each with ``_del``): per key the
    newest delta row, without the keys a tombstone removed.  Filter rows by key columns only
    before merging (a changed row's old and new version share their key, not their other values)."""
    if not deltas:
        return base
    key = list(key)
    d = pl.concat(deltas, how="vertical_relaxed").unique(subset=key, keep="last", maintain_order=True)
    kept = base.join(d.select(key), on=key, how="anti", nulls_equal=True)
    return pl.concat([kept, d.filter(~pl.col(DEL)).drop(DEL)], how="vertical_relaxed")


def diff(old: pl.DataFrame, new: pl.DataFrame, key: Sequence[str]) -> pl.DataFrame:
    """What turns ``old`` into ``new`` (the same stores' rows): new or changed rows, and a
    tombstone per key ``new`` no longer has (``_del``)."""
    key = list(key)
    new = new.select(old.columns)
    upserts = new.join(old, on=old.columns, how="anti", nulls_equal=True)
    gone = old.join(new.select(key), on=key, how="anti", nulls_equal=True)
    return pl.concat([upserts.with_columns(pl.lit(False).alias(DEL)), gone.with_columns(pl.lit(True).alias(DEL))])


__all__ = ["Compaction", "DEL", "KEYS", "delta_name", "deltas_of", "diff", "merged"]
