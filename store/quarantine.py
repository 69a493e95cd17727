"""Quarantined rows: kept verbatim, once per source row however often its file is re-scanned.

Why a key: re-scanning a file used to add another copy of each of its rejected rows every
time.  ``row_key`` (file name, line, raw text) is unique; a row met again moves to the newest
scan with its newest reason.  NUL bytes are stored as the text ``\\x00``: PostgreSQL refuses
them in text columns, and a NUL in one rejected row must not fail the whole scan.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePath

import polars as pl
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql, sqlite

from contracts.schema import QUARANTINE
from store.frames import chunks, select_as
from store.models import QuarantinedRow

CHUNK = 5_000
COLUMNS = {**QUARANTINE, "store_id": pl.String()}


def _key(source_file: str | None, line: int | None, raw: str | None) -> str:
    name = PurePath(source_file).name if source_file else ""
    text = f"{name}\x1f{'' if line is None else line}\x1f{raw or ''}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def prepare(df: pl.DataFrame, scan_id: int) -> list[dict]:
    """Rows to store: NULs escaped, keyed, one per key (the last wins)."""
    text = [c for c, t in COLUMNS.items() if t == pl.String()]
    frame = select_as(df, COLUMNS).with_columns(
        [pl.col(c).str.replace_all("\x00", "\\x00", literal=True) for c in text])
    rows: dict[str, dict] = {}
    for r in frame.iter_rows(named=True):
        key = _key(r["source_file"], r["line"], r["raw"])
        rows[key] = {**r, "row_key": key, "scan_id": scan_id}
    return list(rows.values())


def add(conn: Connection, scan_id: int, df: pl.DataFrame) -> int:
    """Insert or move each row to ``scan_id``; returns how many rows the scan holds now."""
    rows = prepare(df, scan_id)
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    t = QuarantinedRow.__table__
    base = dialect.insert(t)
    stmt = base.on_conflict_do_update(
        index_elements=[t.c.row_key],
        set_={"scan_id": base.excluded.scan_id, "reason": base.excluded.reason,
              "source_file": base.excluded.source_file, "store_id": base.excluded.store_id})
    for part in chunks(rows, CHUNK):
        conn.execute(stmt, list(part))
    return len(rows)
