"""Bulk paths per backend: set-based key lookups and fast line inserts.

Why backend-specific: generic ``IN (...)`` lists with thousands of binds go wrong on
PostgreSQL (psycopg prepares repeated statements, and a plan made while the table was empty
becomes a sequential scan per lookup); joining ``unnest(array)`` stays on the index with one
bind.  For 100k-line inserts, SQLAlchemy's per-row parameter processing costs more than the
database work, so SQLite gets a plain DBAPI executemany of tuples and PostgreSQL gets COPY.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy import Connection, Table, and_, bindparam, func, select, tuple_
from sqlalchemy.dialects.postgresql import ARRAY

from store.frames import chunks

LOOKUP_CHUNK = 2_000  # values per IN (...) on SQLite — far below its 32766 bind limit
PG_LOOKUP_CHUNK = 50_000  # array elements per unnest() bind on PostgreSQL
SQLITE_INSERT_CHUNK = 20_000
# SQLAlchemy's SQLite DateTime storage format, so rows written here read back as datetimes
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S%.6f"


def fetch_matching(
    conn: Connection, table: Table, cols: Sequence[str], match: dict[str, Sequence[Any]]
) -> list[tuple]:
    """Rows (``cols``) of ``table`` whose ``match`` columns equal one of the given tuples.

    ``match`` maps column -> values; the i-th values of each column form one tuple.
    """
    names = list(match)
    values = list(zip(*(match[n] for n in names)))
    if not values:
        return []
    out: list[tuple] = []
    wanted = [table.c[c] for c in cols]
    if conn.dialect.name == "postgresql":
        arrays = [bindparam(f"k{i}", type_=ARRAY(table.c[n].type)) for i, n in enumerate(names)]
        keys = func.unnest(*arrays).table_valued(*names).render_derived(name="keys")
        on = [table.c[n] == keys.c[n] for n in names]
        stmt = select(*wanted).select_from(table.join(keys, and_(*on)))
        for part in chunks(values, PG_LOOKUP_CHUNK):
            out.extend(conn.execute(stmt, {f"k{i}": list(c) for i, c in enumerate(zip(*part))}))
        return [tuple(r) for r in out]
    target = table.c[names[0]] if len(names) == 1 else tuple_(*(table.c[n] for n in names))
    for part in chunks(values, LOOKUP_CHUNK // len(names)):
        probe = [v[0] for v in part] if len(names) == 1 else list(part)
        out.extend(conn.execute(select(*wanted).where(target.in_(probe))))
    return [tuple(r) for r in out]


def insert_lines(conn: Connection, table: Table, df: pl.DataFrame) -> int:
    """Insert ``df`` (columns named as in ``table``), skipping key conflicts; returns inserted."""
    if df.is_empty():
        return 0
    cols = df.columns
    col_list = ", ".join(f'"{c}"' for c in cols)
    if conn.dialect.name == "postgresql":
        return _copy_insert_pg(conn, table.name, cols, col_list, df)
    df = df.with_columns(
        [pl.col(c).dt.strftime(_SQLITE_DATETIME) for c, t in df.schema.items() if t == pl.Datetime]
    )
    marks = ", ".join("?" for _ in cols)
    sql = f'INSERT INTO "{table.name}" ({col_list}) VALUES ({marks}) ON CONFLICT DO NOTHING'
    cur = conn.connection.driver_connection.cursor()  # same DBAPI connection, same transaction
    inserted = 0
    try:
        for start in range(0, df.height, SQLITE_INSERT_CHUNK):
            cur.executemany(sql, df.slice(start, SQLITE_INSERT_CHUNK).rows())
            inserted += max(cur.rowcount, 0)
    finally:
        cur.close()
    return inserted


def _copy_insert_pg(
    conn: Connection, name: str, cols: list[str], col_list: str, df: pl.DataFrame
) -> int:
    """COPY into a transaction-scoped temp table, then INSERT ... SELECT ... ON CONFLICT."""
    raw = conn.connection.driver_connection
    tmp = f"_bulk_{name}"
    with raw.cursor() as cur:
        cur.execute(f'DROP TABLE IF EXISTS "{tmp}"')
        # same column types, no constraints or defaults (no sequence values burnt)
        cur.execute(
            f'CREATE TEMP TABLE "{tmp}" ON COMMIT DROP AS '
            f'SELECT {col_list} FROM "{name}" WITH NO DATA'
        )
        with cur.copy(f'COPY "{tmp}" ({col_list}) FROM STDIN') as copy:
            for row in df.iter_rows():
                copy.write_row(row)
        cur.execute(
            f'INSERT INTO "{name}" ({col_list}) SELECT {col_list} FROM "{tmp}" ON CONFLICT DO NOTHING'
        )
        inserted = cur.rowcount
        cur.execute(f'DROP TABLE "{tmp}"')
    return max(inserted, 0)
