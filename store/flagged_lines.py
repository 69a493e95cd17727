"""The lines of flagged orders as Parquet beside the database, one file per scan.

Why not a table: a rule that is too loose, or a backlog's first scan, flags nearly every order,
and writing all their lines row by row into ``order_lines`` (three indexes) cost a quarter of
such a scan.  A scan writes its flagged orders' lines as one sorted Parquet file instead (a
columnar write of a million lines takes well under a second), staged beside the history
partition and renamed into place after the scan's commit (``store.recovery`` settles a crash
in between, as for the history).

Which lines an order shows: those of the scans that created or raised one of its flags (their
ids are in ``flag_events.scan_id``); a line re-exported with new content shows its newest
version among those scans (a field the newest did not carry keeps its earlier value), and a
line only an earlier such scan saw still shows.  Orders
flagged before this existed keep their lines in the ``order_lines`` table, which is read when
no file holds the order.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable
from pathlib import Path

import polars as pl
from sqlalchemy import Connection, Engine, Table, and_, select

from contracts.schema import CANONICAL, LINE_KEY, PROVENANCE, conform
from store.bulk import fetch_joined
from store.frames import LINE_FRAME, rows_frame
from store.models import Flag, FlagEvent, OrderLine

PENDING_PREFIX = ".pending.scan_id="
#: rows per row group: an order's lookup reads one or two of them (statistics on store and order)
ROW_GROUP = 8192
_ORDER = ["store_id", "order_id"]
#: up to this many keys a lookup is an ``IN`` list (single values: the index serves them)
FEW = 500
_FILE_SCHEMA: dict[str, pl.DataType] = {**CANONICAL, **PROVENANCE}


class FlaggedLines:
    """``<history dir>/flagged_lines/scan_id=<n>.parquet``: the lines of the orders scan n flagged."""

    def __init__(self, history_dir: Path | str) -> None:
        self.dir = Path(history_dir) / "flagged_lines"

    def _file(self, scan_id: int) -> Path:
        return self.dir / f"scan_id={int(scan_id)}.parquet"

    def _pending(self, scan_id: int) -> Path:
        return self.dir / f"{PENDING_PREFIX}{int(scan_id)}.parquet"

    # -- a scan's file lands after its database commit -----------------------------------
    def stage(self, scan_id: int, lines: pl.DataFrame) -> Path | None:
        """Write the scan's flagged lines under a name readers never open; None when empty."""
        if lines.is_empty():
            return None
        self.dir.mkdir(parents=True, exist_ok=True)
        frame = conform(lines).unique(subset=list(LINE_KEY), keep="last", maintain_order=True)
        tmp = self.dir / f".part.{uuid.uuid4().hex}.tmp"
        try:
            frame.sort([*_ORDER, "line_no"], nulls_last=True).write_parquet(
                tmp, compression="zstd", statistics=True, row_group_size=ROW_GROUP)
            os.replace(tmp, self._pending(scan_id))
        finally:
            tmp.unlink(missing_ok=True)
        return self._pending(scan_id)

    def promote(self, scan_id: int) -> Path | None:
        """Move a staged file into place (its scan committed)."""
        pending = self._pending(scan_id)
        if not pending.exists():
            return None
        os.replace(pending, self._file(scan_id))
        return self._file(scan_id)

    def discard(self, scan_id: int) -> None:
        """Forget a staged file (its scan did not commit)."""
        self._pending(scan_id).unlink(missing_ok=True)

    def remove(self, scan_id: int) -> None:
        """Delete a scan's file (its scan is known not to have committed)."""
        self._file(scan_id).unlink(missing_ok=True)

    def pending_scan_ids(self) -> list[int]:
        return sorted(int(p.name[len(PENDING_PREFIX):].split(".", 1)[0])
                      for p in self.dir.glob(f"{PENDING_PREFIX}*.parquet"))

    def scan_ids(self) -> list[int]:
        return sorted(int(p.stem.split("=", 1)[1]) for p in self.dir.glob("scan_id=*.parquet"))

    # -- reading ---------------------------------------------------------------------------
    def lines(self, orders: pl.DataFrame) -> pl.DataFrame:
        """The lines of ``orders`` (``store_id``, ``order_id``, ``scan_id``: which scans' files to
        read for each order), LINE_FRAME columns, the newest scan's version of each line."""
        out = []
        for sid, keys in orders.group_by("scan_id"):
            path = self._file(int(sid[0]))
            if sid[0] is None or not path.exists():
                continue
            wanted = keys.select([pl.col(c).cast(pl.String) for c in _ORDER]).unique()
            lf = pl.scan_parquet(path, schema=_FILE_SCHEMA, missing_columns="insert", extra_columns="ignore")
            if wanted.height == 1:       # one order (the order view): a filter the statistics prune by
                s, o = wanted.row(0)
                lf = lf.filter((pl.col("store_id") == s) & (pl.col("order_id") == o))
            else:
                lf = lf.join(wanted.lazy(), on=_ORDER, how="semi")
            out.append(lf.with_columns(scan_id=pl.lit(int(sid[0]), dtype=pl.Int64)))
        if not out:
            return pl.DataFrame(schema=LINE_FRAME)
        found = pl.concat(pl.collect_all(out)).select(list(LINE_FRAME)).sort("scan_id")
        rest = [c for c in LINE_FRAME if c not in LINE_KEY]
        # newest version of each line; a field the newest scan did not carry (a re-evaluation reads
        # the history, which keeps no product names) keeps the last value an earlier scan had
        newest = found.group_by(list(LINE_KEY), maintain_order=True).agg(
            pl.col("scan_id").last(), *[pl.col(c).drop_nulls().last() for c in rest if c != "scan_id"])
        return newest.select(list(LINE_FRAME)).sort([*_ORDER, "line_no"], nulls_last=True)


def scans_of(engine: Engine, orders: pl.DataFrame) -> pl.DataFrame:
    """``store_id``, ``order_id``, ``scan_id``: the scans that created or raised a flag on each order."""
    f, e = Flag.__table__, FlagEvent.__table__
    schema = {"store_id": pl.String, "order_id": pl.String, "scan_id": pl.Int64}
    keys = orders.select(pl.col("order_id").cast(pl.String)).drop_nulls().unique()
    if keys.is_empty():
        return pl.DataFrame(schema=schema)
    with engine.connect() as conn:
        flagged = rows_frame(_rows(conn, f, ["id", "store_id", "order_id"], keys),
                             {"flag_id": pl.Int64, "store_id": pl.String, "order_id": pl.String})
        flagged = flagged.join(orders.select([pl.col(c).cast(pl.String) for c in _ORDER]).unique(),
                               on=_ORDER, how="semi", nulls_equal=True)
        if flagged.is_empty():
            return pl.DataFrame(schema=schema)
        events = rows_frame(_rows(conn, e, ["flag_id", "scan_id", "action"], flagged.select("flag_id")),
                            {"flag_id": pl.Int64, "scan_id": pl.Int64, "action": pl.String})
    events = events.filter(pl.col("action").is_in(["created", "level_raised"]) & pl.col("scan_id").is_not_null())
    return flagged.join(events, on="flag_id").select(list(schema)).unique()


def _rows(conn: Connection, table: Table, cols: list[str], keys: pl.DataFrame) -> list[tuple]:
    """``cols`` of the rows whose one key column is in ``keys``: an ``IN`` list for the few keys
    of a page (no temporary table per view), a staged key table for an export's many."""
    (name,) = keys.columns
    if keys.height > FEW:
        return fetch_joined(conn, table, cols, keys)
    stmt = select(*(table.c[c] for c in cols)).where(table.c[name].in_(keys.get_column(name).to_list()))
    return [tuple(r) for r in conn.execute(stmt)]


def order_lines(engine: Engine, archive: FlaggedLines | None, orders: Iterable[tuple[str | None, str | None]],
                ) -> dict[tuple[str | None, str | None], list[dict]]:
    """Each (store_id, order_id)'s lines, by line number: from the scans' files, else (orders
    flagged before the files existed) from the ``order_lines`` table."""
    wanted = pl.DataFrame([(s, o) for s, o in orders if o], schema={"store_id": pl.String, "order_id": pl.String},
                          orient="row").unique()
    out: dict[tuple[str | None, str | None], list[dict]] = {}
    if wanted.is_empty():
        return out
    found = archive.lines(scans_of(engine, wanted)) if archive is not None else pl.DataFrame(schema=LINE_FRAME)
    for (s, o), rows in found.group_by(_ORDER, maintain_order=True):
        out[(s, o)] = rows.to_dicts()
    rest = wanted.join(found.select(_ORDER).unique(), on=_ORDER, how="anti", nulls_equal=True)
    for s, o in rest.iter_rows():
        t = OrderLine.__table__
        stmt = select(t).where(and_(t.c.order_id == o, *([t.c.store_id == s] if s else []))).order_by(t.c.line_no)
        with engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(stmt).mappings()]
        if rows:
            out[(s, o)] = rows
    return out


__all__ = ["FlaggedLines", "order_lines", "scans_of"]
