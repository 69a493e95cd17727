"""Bulk paths: key lookups through a staged key table, and fast row inserts.

Why: a lookup of N keys is one staged table joined on the target's index (``store.staging``),
never chunks of ``IN (...)`` lists — row-value ``IN`` lists on SQLite do not use a composite
unique index, so looking up the keys of a big scan that way was quadratic.  For 100k-row
inserts SQLAlchemy's per-row parameter processing costs more than the database work, so
SQLite gets a plain DBAPI executemany of tuples and PostgreSQL gets COPY.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from psycopg.errors import UniqueViolation
from sqlalchemy import Connection, Table, and_, select

from store.staging import SQLITE_CHUNK, copy_rows, sqlite_ready, staged


def fetch_joined(conn: Connection, table: Table, cols: Sequence[str], keys: pl.DataFrame) -> list[tuple]:
    """Rows (``cols``) of ``table`` whose ``keys.columns`` equal one of the rows of ``keys``.

    One staged key table, one join on ``table``'s index for those columns: linear on both
    backends however many keys there are.
    """
    keys = keys.unique()
    if keys.is_empty():
        return []
    with staged(conn, keys, like=table) as k:
        on = and_(*(table.c[n] == k.c[n] for n in keys.columns))
        stmt = select(*(table.c[c] for c in cols)).select_from(k.join(table, on))
        return [tuple(r) for r in conn.execute(stmt)]


def insert_rows(conn: Connection, table: Table, df: pl.DataFrame, *, ignore_conflicts: bool = True) -> int:
    """Insert ``df`` (columns named as in ``table``); returns how many rows went in.

    ``ignore_conflicts`` skips rows that hit a unique key (concurrent scans never collide).
    PostgreSQL COPYs straight into ``table`` inside a savepoint; only when that hits a key
    does it take the slower path through a temp table and ``ON CONFLICT DO NOTHING``.
    """
    if df.is_empty():
        return 0
    if conn.dialect.name == "postgresql":
        if not ignore_conflicts:
            copy_rows(conn, table.name, df)
            return df.height
        try:  # the usual case: nothing conflicts, COPY straight in
            with conn.begin_nested():
                copy_rows(conn, table.name, df)
            return df.height
        except UniqueViolation:  # a concurrent scan stored some of them: skip those
            return _copy_insert_pg(conn, table.name, df)
    cols = df.columns
    col_list = ", ".join(f'"{c}"' for c in cols)
    marks = ", ".join("?" for _ in cols)
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    sql = f'INSERT INTO "{table.name}" ({col_list}) VALUES ({marks}){tail}'
    ready = sqlite_ready(df)
    cur = conn.connection.driver_connection.cursor()  # same DBAPI connection, same transaction
    inserted = 0
    try:
        for start in range(0, ready.height, SQLITE_CHUNK):
            cur.executemany(sql, ready.slice(start, SQLITE_CHUNK).rows())
            inserted += max(cur.rowcount, 0)
    finally:
        cur.close()
    return inserted


def _copy_insert_pg(conn: Connection, name: str, df: pl.DataFrame) -> int:
    """COPY into a transaction-scoped temp table, then INSERT ... SELECT ... ON CONFLICT."""
    col_list = ", ".join(f'"{c}"' for c in df.columns)
    tmp = f"_bulk_{name}"
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        cur.execute(f'DROP TABLE IF EXISTS "{tmp}"')
        # same column types, no constraints or defaults (no sequence values burnt)
        cur.execute(f'CREATE TEMP TABLE "{tmp}" ON COMMIT DROP AS SELECT {col_list} FROM "{name}" WITH NO DATA')
    copy_rows(conn, tmp, df)
    with raw.cursor() as cur:
        cur.execute(f'INSERT INTO "{name}" ({col_list}) SELECT {col_list} FROM "{tmp}" ON CONFLICT DO NOTHING')
        inserted = cur.rowcount
        cur.execute(f'DROP TABLE "{tmp}"')
    return max(inserted, 0)


__all__ = ["fetch_joined", "insert_rows"]
