"""New flags go straight into ``flags`` with ids given before the insert: one bulk load.

Why: staging every new flag's full row in a temporary table and copying it on with
``INSERT … SELECT … RETURNING`` moved each row three times (into the stage, into ``flags``,
back to Python) and then dropped a table as big as the insert; for the 323 k new flags of a
loose scan that was about half of storing them.  Only the keys are looked up (a staged key
table joined on the unique index); the new rows then get their ids up front and are loaded
once (COPY on PostgreSQL, executemany on SQLite):

- PostgreSQL takes the ids from the table's own sequence (``nextval``), so a concurrent
  writer never gets the same ones;
- SQLite numbers on from ``max(id)`` read in the same transaction as the key lookup: SQLite
  lets one writer in at a time, and a transaction whose snapshot is older than another's
  commit cannot start writing (``SQLITE_BUSY``), so what it read is still true when it writes.

Either load runs inside a savepoint.  When a key was stored by a concurrent scan between the
lookup and the load, the savepoint rolls back and ``None`` tells the caller to take the
set-based path that skips such keys (``INSERT … SELECT … ON CONFLICT DO NOTHING``).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

import polars as pl
from psycopg.errors import UniqueViolation
from sqlalchemy import Connection

from store.models import Flag, FlagEvent
from store.staging import SQLITE_DATETIME, copy_rows, staged

KEY = ["rule_id", "subject"]
STORED_SCHEMA = {"rule_id": pl.String, "subject": pl.String, "flag_id": pl.Int64, "old_level": pl.String}


def stored_keys(conn: Connection, keys: pl.DataFrame) -> pl.DataFrame:
    """``rule_id, subject, flag_id, old_level`` of the keys already in ``flags``.

    Only the keys are staged (two short columns), and the rows come back through the DBAPI
    cursor: a re-scan that finds all 300 k keys stored reads them without a Row object each."""
    if keys.is_empty():
        return pl.DataFrame(schema=STORED_SCHEMA)
    f = Flag.__table__
    with staged(conn, keys.select(KEY), like=f) as s:
        sql = (f'SELECT s.rule_id, s.subject, f.id, f.level FROM "{s.name}" AS s '
               f'JOIN "{f.name}" AS f ON f.rule_id = s.rule_id AND f.subject = s.subject')
        cur = conn.connection.driver_connection.cursor()
        try:
            cur.execute(sql)
            rows = cur.fetchall()
        finally:
            cur.close()
    return pl.DataFrame(rows, schema=STORED_SCHEMA, orient="row")


def _next_ids(conn: Connection, n: int) -> pl.Series:
    """``n`` ids no other row has: the sequence's next values, or on from SQLite's max(id)."""
    cur = conn.connection.driver_connection.cursor()
    try:
        if conn.dialect.name == "postgresql":
            cur.execute("SELECT nextval(pg_get_serial_sequence('flags', 'id')) FROM generate_series(1, %s)", (n,))
            return pl.Series("id", [r[0] for r in cur.fetchall()], dtype=pl.Int64).sort()
        cur.execute("SELECT coalesce(max(id), 0) FROM flags")
        start = int(cur.fetchone()[0]) + 1
    finally:
        cur.close()
    return pl.int_range(start, start + n, dtype=pl.Int64, eager=True).alias("id")


def insert_new(conn: Connection, new: pl.DataFrame) -> pl.DataFrame | None:
    """Load ``new`` (flag rows whose keys were not stored) in one bulk insert; their
    ``rule_id, subject, flag_id, old_level`` (the level they were stored with), or ``None``
    when a key was taken meanwhile (nothing of ``new`` is left inserted then)."""
    if new.is_empty():
        return pl.DataFrame(schema=STORED_SCHEMA)
    # ids in the order the flags came (the queue's order among equals, and what readers of a
    # scan's ids expect); loading in the unique key's order instead would halve SQLite's index
    # work (15.9 s -> 8.8 s CPU for 323 k new flags) but renumber every scan's flags
    frame = new.with_columns(_next_ids(conn, new.height))
    if conn.dialect.name == "postgresql":
        try:
            with conn.begin_nested():
                copy_rows(conn, Flag.__tablename__, frame)
        except UniqueViolation:
            return None
    else:
        raw = conn.connection.driver_connection
        if not raw.in_transaction:
            return None          # no transaction to hold the savepoint: the set-based path
        raw.execute("SAVEPOINT flag_insert")
        try:
            copy_rows(conn, Flag.__tablename__, frame)
        except BaseException as exc:
            raw.execute("ROLLBACK TO flag_insert")
            raw.execute("RELEASE flag_insert")
            if isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc):
                return None
            raise
        raw.execute("RELEASE flag_insert")
    return frame.select(*KEY, pl.col("id").alias("flag_id"), pl.col("level").alias("old_level"))


def created_events(conn: Connection, ids: pl.Series, scan_id: int | None, actor: str, now: datetime) -> bool:
    """SQLite: the ``created`` events of the flags ``ids`` (just inserted) in one ``INSERT …
    SELECT`` from ``flags``, in id order.  False (the caller writes the rows itself) on
    PostgreSQL, and when the ids are not one range (the fallback path's).

    Why: every column of a created event is a constant or the flag's own id and level, so SQLite
    makes the rows from the flags it holds instead of 323 k tuples bound from Python.  The ids are this
    write's own: ``max(id)+1 …`` taken in this transaction (``_next_ids``), so a range as long as
    the list holds exactly them.  On PostgreSQL the same statement (``id = ANY(array)``) measured
    no faster than the events' COPY (6.1 against 5.8 s server CPU for 323 k: the per-row cost
    there is the two foreign keys and the indexes, not the CSV)."""
    if ids.is_empty():
        return True
    if conn.dialect.name == "postgresql":
        return False
    low, high = int(ids.min()), int(ids.max())  # type: ignore[arg-type]
    if high - low + 1 != ids.len():
        return False
    e = FlagEvent.__table__
    sql = (f'INSERT INTO "{e.name}" (flag_id, at, actor, action, from_status, to_status, from_level, '
           "to_level, note, scan_id) SELECT id, ?, ?, 'created', NULL, 'open', NULL, level, NULL, ? "
           "FROM flags WHERE id BETWEEN ? AND ? ORDER BY id")
    cur = conn.connection.driver_connection.cursor()
    try:
        cur.execute(sql, (now.strftime(SQLITE_DATETIME.replace("%.6f", ".%f")), actor, scan_id, low, high))
    finally:
        cur.close()
    return True


__all__ = ["STORED_SCHEMA", "created_events", "insert_new", "stored_keys"]
