"""Temporary tables filled in one bulk operation: how set-based work reaches the database.

Why: looking up N keys as ``IN (...)`` lists is quadratic on SQLite for row values (it does
not probe a composite unique index with them) and plans badly on PostgreSQL; updating N rows
one statement at a time is N round trips.  Instead the rows go into a temporary table in one
bulk operation (COPY on PostgreSQL, a DBAPI executemany on SQLite), and one statement joins
it to the target on the target's index: a lookup (SELECT … JOIN), an insert that returns its
ids (INSERT … SELECT … RETURNING) or an update of many rows (UPDATE … FROM).  The table lives
in the caller's transaction and is dropped when the block ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import polars as pl
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Double,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.types import TypeEngine

SQLITE_CHUNK = 20_000
PG_CSV_CHUNK = 100_000  # rows per CSV block handed to COPY (bounded memory)
PG_DATETIME = "%Y-%m-%d %H:%M:%S%.6f"
#: SQLAlchemy's SQLite DateTime storage format, so rows written here read back as datetimes
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S%.6f"


def sql_type(dtype: pl.DataType) -> TypeEngine:
    """The column type a polars dtype is staged as."""
    if dtype == pl.Boolean:
        return Boolean()
    if dtype.is_integer():
        return BigInteger()
    if dtype.is_float():
        return Double()
    if isinstance(dtype, pl.Datetime):
        return DateTime()
    return Text()


def sqlite_ready(df: pl.DataFrame) -> pl.DataFrame:
    """Datetimes as SQLAlchemy's SQLite text form (what its DateTime type parses back)."""
    return df.with_columns(
        [pl.col(c).dt.strftime(SQLITE_DATETIME) for c, t in df.schema.items() if isinstance(t, pl.Datetime)])


def copy_rows(conn: Connection, name: str, df: pl.DataFrame) -> None:
    """Bulk-load ``df`` into table ``name`` (columns by name): COPY (CSV) or executemany."""
    if df.is_empty():
        return
    col_list = ", ".join(f'"{c}"' for c in df.columns)
    raw = conn.connection.driver_connection  # same DBAPI connection, same transaction
    if conn.dialect.name == "postgresql":
        # CSV written by polars (vectorised) rather than one Python call per row: NULL is an
        # unquoted empty field, every text is quoted (an empty string, and a lone ``\.`` that
        # would otherwise end the data), times at microseconds
        sql = f'COPY "{name}" ({col_list}) FROM STDIN WITH (FORMAT csv)'
        with raw.cursor() as cur, cur.copy(sql) as copy:
            for start in range(0, df.height, PG_CSV_CHUNK):
                copy.write(df.slice(start, PG_CSV_CHUNK).write_csv(
                    None, include_header=False, null_value="", quote_style="non_numeric",
                    datetime_format=PG_DATETIME))
        return
    marks = ", ".join("?" for _ in df.columns)
    cur = raw.cursor()
    try:
        ready = sqlite_ready(df)
        for start in range(0, ready.height, SQLITE_CHUNK):
            cur.executemany(f'INSERT INTO "{name}" ({col_list}) VALUES ({marks})',
                            ready.slice(start, SQLITE_CHUNK).rows())
    finally:
        cur.close()


@contextmanager
def staged(conn: Connection, df: pl.DataFrame, *, like: Table | None = None,
           types: Mapping[str, TypeEngine] | None = None) -> Iterator[Table]:
    """``df`` as a temporary table (a SQLAlchemy ``Table`` to join), dropped after the block.

    Columns named as in ``like`` take that table's types (no casts in the join, so its
    indexes apply as they are); ``types`` overrides the staged type of some columns (e.g. ``JSON`` for text that goes into
    a JSON column: COPY parses the text, and PostgreSQL has no implicit text-to-json cast
    for the INSERT … SELECT that follows).

    The table has no index on purpose: it drives the join, and the target's index is probed
    once per staged row.  Given an index of its own, SQLite's planner (no statistics on either
    side) scans the whole target instead and probes the stage — linear in the table, not in
    the batch.  ``tests/test_store_linear.py`` checks the plans.
    """
    types = {**({c.name: c.type for c in like.columns} if like is not None else {}), **(types or {})}
    name = f"_stage_{uuid.uuid4().hex[:12]}"
    cols = [Column(c, types.get(c) or sql_type(t)) for c, t in df.schema.items()]
    table = Table(name, MetaData(), *cols, prefixes=["TEMPORARY"])
    table.create(conn)
    ok = False
    try:
        copy_rows(conn, name, df)
        if conn.dialect.name == "postgresql":
            conn.execute(text(f'ANALYZE "{name}"'))  # temp tables have no statistics otherwise
        yield table
        ok = True
    finally:
        if ok:
            table.drop(conn)
        else:
            try:  # the transaction may be aborted already; it rolls the table back then
                table.drop(conn)
            except Exception:  # noqa: BLE001 - the original error is what matters
                pass


__all__ = ["copy_rows", "sql_type", "sqlite_ready", "staged"]
