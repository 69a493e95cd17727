"""``Store``: the one object the pipeline and the web app use to persist scans and flags.

Why Core statements for the bulk paths: a scan writes 100k+ lines and can raise 100k+ flags;
ORM unit-of-work bookkeeping per row would dominate.  Lookups join a staged key table on the
target's index and writes are bulk (COPY / executemany, INSERT … SELECT … RETURNING, UPDATE …
FROM), so both SQLite and PostgreSQL stay linear in the rows a scan stores.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Self

import polars as pl
from sqlalchemy import Connection, Engine, or_, select

from contracts.schema import CANONICAL, LINE_KEY, PROVENANCE, QUARANTINE, conform
from store import quarantine as quarantine_rows
from store import scans
from store.bulk import fetch_joined, insert_rows
from store.db import make_engine, upgrade
from store.flag_write import FlagWrite, write_flags
from store.frames import FLAG_FRAME, LINE_FRAME, chunks, evidence_text, rows_frame, select_as
from store.models import (
    Flag,
    FlagEvent,
    OrderLine,
    QuarantinedRow,
    Scan,
    utcnow,
)

LOOKUP_CHUNK = 1_000  # store ids per IN (...) list (single values: the index serves them)

_LINE_COLS = [*CANONICAL, *PROVENANCE]
_KEY_SCHEMA = {k: CANONICAL[k] for k in LINE_KEY}


class Store:
    """Relational storage for scans, order lines, flags and their audit trail."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- lifecycle ---------------------------------------------------------------------
    @classmethod
    def open(cls, url: str, *, scan_lease_seconds: int = scans.DEFAULT_LEASE_SECONDS,
             **engine_kwargs: Any) -> Self:
        """Connect, bring the schema to head (idempotent; safe on every start) and mark scans
        whose process died ``interrupted``."""
        engine = make_engine(url, **engine_kwargs)
        try:
            upgrade(engine)
            scans.mark_interrupted(engine, scan_lease_seconds)
        except Exception:
            engine.dispose()
            raise
        return cls(engine)

    @contextmanager
    def _tx(self, conn: Connection | None) -> Iterator[Connection]:
        """The caller's transaction when given one (a scan's single transaction), else a new one."""
        if conn is not None:
            yield conn
            return
        with self.engine.begin() as own:
            yield own

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction for everything a scan stores: it lands whole or not at all."""
        with self.engine.begin() as conn:
            yield conn

    def close(self) -> None:
        """Release pooled connections (SQLite: lets the WAL checkpoint and files close)."""
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # -- scans -------------------------------------------------------------------------
    def begin_scan(self, files: list[str], as_of: datetime, created_by: str | None = None) -> int:
        """Record a scan as running before any work, so a crash leaves a visible trace."""
        return scans.begin(self.engine, files, as_of, created_by)

    def heartbeat(self, scan_id: int) -> None:
        """Tell other processes this scan's process is still alive."""
        scans.heartbeat(self.engine, scan_id)

    def finish_scan(
        self, scan_id: int, *, lines_read: int, lines_accepted: int, lines_quarantined: int,
        lines_new: int, flags_new: int, status: str = "done", error: str | None = None,
        skipped: dict[str, Any] | None = None, conn: Connection | None = None,
    ) -> None:
        """Close a scan with its counts; ``status='failed'`` with ``error`` when it broke.

        ``skipped``: file -> detector -> unmet needs, the detectors that could not judge a file."""
        extra = {"skipped": skipped} if skipped else {}
        with self._tx(conn) as c:
            scans.finish(c, scan_id, status=status, error=error, lines_read=lines_read,
                         lines_accepted=lines_accepted, lines_quarantined=lines_quarantined,
                         lines_new=lines_new, flags_new=flags_new, **extra)

    def recent_scans(self, limit: int = 20) -> list[dict[str, Any]]:
        return scans.recent(self.engine, limit)

    def scan_times(self, since: datetime) -> dict[str, datetime]:
        """file -> the as_of of the latest finished scan (since ``since``) that read it."""
        t = Scan.__table__
        out: dict[str, datetime] = {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.files, t.c.as_of).where(t.c.as_of >= since, t.c.status == "done")
                                .order_by(t.c.id)).all()
        for files, as_of in rows:
            for f in files or []:
                out[str(f)] = as_of
        return out

    def get_scan(self, scan_id: int) -> dict[str, Any] | None:
        """One scan as a dict (None if unknown)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(Scan.__table__).where(Scan.id == scan_id)).mappings().first()
            return dict(row) if row else None

    # -- quarantine --------------------------------------------------------------------
    def add_quarantine(self, scan_id: int, df: pl.DataFrame, conn: Connection | None = None) -> int:
        """Keep rejected source rows verbatim; a row seen before moves to this scan (no copies)."""
        if df.is_empty():
            return 0
        with self._tx(conn) as c:
            return quarantine_rows.add(c, scan_id, df)

    def quarantine_frame(self, scan_id: int, with_store: bool = False) -> pl.DataFrame:
        """A scan's quarantined rows in QUARANTINE shape (+ ``store_id``), in insertion order."""
        t = QuarantinedRow.__table__
        shape = {**QUARANTINE, "store_id": pl.String()} if with_store else QUARANTINE
        stmt = select(*[t.c[c] for c in shape]).where(t.c.scan_id == scan_id).order_by(t.c.id)
        with self.engine.connect() as conn:
            return rows_frame(conn.execute(stmt), shape)

    # -- order lines -------------------------------------------------------------------
    def add_order_lines(self, scan_id: int, df: pl.DataFrame, conn: Connection | None = None) -> int:
        """Store lines whose LINE_KEY is new; returns how many were new.

        Re-reading a file must not duplicate lines, so known keys are filtered out first
        (null key parts compare equal here, unlike in the unique constraint) and the insert
        ignores conflicts left by a concurrent scan.
        """
        if df.is_empty():
            return 0
        df = conform(df).unique(subset=list(LINE_KEY), keep="first", maintain_order=True)
        t = OrderLine.__table__
        with self._tx(conn) as c:
            order_ids = df.select(pl.col("order_id").drop_nulls())
            stored = rows_frame(fetch_joined(c, t, LINE_KEY, order_ids), _KEY_SCHEMA)
            if stored.height:
                df = df.join(stored, on=list(LINE_KEY), how="anti", nulls_equal=True)
            # all-null columns are left to their NULL default: fewer binds, same rows
            present = [col for col in _LINE_COLS if df.get_column(col).null_count() < df.height]
            return insert_rows(c, t, df.select(present).with_columns(scan_id=pl.lit(scan_id)))

    def order_lines_frame(self, order_ids: list[str] | pl.Series) -> pl.DataFrame:
        """Stored lines of the given orders: canonical + provenance columns + scan_id."""
        t = OrderLine.__table__
        ids = pl.DataFrame({"order_id": sorted({str(o) for o in order_ids if o is not None})},
                           schema={"order_id": pl.String})
        with self.engine.connect() as conn:
            found = fetch_joined(conn, t, ["id", *LINE_FRAME], ids)
        found.sort(key=lambda r: r[0])
        return rows_frame((r[1:] for r in found), LINE_FRAME)

    # -- flags -------------------------------------------------------------------------
    def write_flags(self, scan_id: int | None, flags: pl.DataFrame, actor: str = "orderwatch",
                    conn: Connection | None = None, *, json_encoded: bool = False) -> FlagWrite:
        """Insert new flags, raise the level of known ones, in linear time (``store.flag_write``).

        Returns the counts and every input key's stored ``flag_id``.  A flag never goes down by
        itself: a lower or equal level leaves it untouched, so running the same scan twice
        changes nothing.  Every change writes a FlagEvent.  ``json_encoded``: the evidence and
        figures are an encoder's output (``rules.flags.build_flags``), not parsed again.
        """
        with self._tx(conn) as c:
            return write_flags(c, scan_id, flags, actor=actor, now=utcnow(), json_encoded=json_encoded)

    def upsert_flags(self, scan_id: int | None, flags: pl.DataFrame, actor: str = "orderwatch",
                     conn: Connection | None = None) -> tuple[int, int]:
        """:meth:`write_flags` when only the counts matter: ``(created, raised)``."""
        w = self.write_flags(scan_id, flags, actor, conn)
        return w.created, w.raised

    def flags_frame(self, scan_id: int | None = None) -> pl.DataFrame:
        """All flags, or those a scan created or raised (via its events), ordered by id."""
        t = Flag.__table__
        stmt = select(*[t.c[c] for c in FLAG_FRAME]).order_by(t.c.id)
        if scan_id is not None:
            e = FlagEvent.__table__
            touched = select(e.c.flag_id).where(
                e.c.scan_id == scan_id, e.c.action.in_(("created", "level_raised"))
            )
            stmt = stmt.where(t.c.id.in_(touched))
        json_at = {list(FLAG_FRAME).index(c) for c in ("evidence", "reason_args")}
        with self.engine.connect() as conn:
            rows = [tuple(evidence_text(v) if i in json_at else v for i, v in enumerate(r))
                    for r in conn.execute(stmt)]
        return rows_frame(rows, FLAG_FRAME)

    def recent_flags(self, store_ids: list[str], since: datetime, conn: Connection | None = None,
                     written: tuple[int, pl.DataFrame] | None = None) -> pl.DataFrame:
        """Flags of these stores that occurred since ``since`` (input of correlation rules).

        ``written``: (scan id, its flags with their ids): the flags that scan created are taken
        from the frame (open, unresolved) instead of read back — a scan raising 300 k flags
        would otherwise fetch every one of them again.
        """
        t = Flag.__table__
        schema = {"id": pl.Int64, "rule_id": pl.String, "kind": pl.String, "level": pl.String,
                  "store_id": pl.String, "store_name": pl.String, "order_id": pl.String,
                  "occurred_at": pl.Datetime("us"), "status": pl.String, "resolution": pl.String}
        rows: list[tuple] = []
        cond = [] if written is None else [or_(t.c.scan_id.is_(None), t.c.scan_id != written[0])]
        with self._tx(conn) as conn:
            for part in chunks(sorted(set(store_ids)), LOOKUP_CHUNK):
                rows.extend(conn.execute(select(*[t.c[c] for c in schema])
                                         .where(t.c.store_id.in_(part), t.c.occurred_at >= since, *cond)))
        stored = pl.DataFrame(rows, schema=schema, orient="row")
        if written is None:
            return stored
        mine = written[1].filter(pl.col("store_id").is_in(store_ids) & ~pl.col("id").is_in(stored["id"].implode()))
        made = select_as(mine.drop("status", "resolution", strict=False), schema).with_columns(
            status=pl.lit("open"), resolution=pl.lit(None, dtype=pl.String))
        return pl.concat([stored, made])

    def flag_events(self, flag_id: int) -> list[dict[str, Any]]:
        """A flag's audit trail, oldest first."""
        e = FlagEvent.__table__
        stmt = select(e).where(e.c.flag_id == flag_id).order_by(e.c.id)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(stmt).mappings()]
