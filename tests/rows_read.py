"""Count the rows a piece of code reads from each table, on any backend.

Why rows and not time: "the planner reads only the changed groups" is a property of the
queries, and a timing test on a shared machine can't tell it from noise.  Every result row
SQLAlchemy fetches passes through ``CursorFetchStrategy``; while the context is open, each
row fetched by a statement that reads ``FROM``/``JOIN`` a table counts for that table
(rows returned by ``INSERT``/``UPDATE … RETURNING`` are writes and do not count).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy.engine.cursor import CursorFetchStrategy

TABLES = ("flags", "flag_events", "notifications", "open_orders", "order_lines")


@contextmanager
def rows_read(tables: Iterable[str] = TABLES) -> Iterator[Counter]:
    """``Counter`` table -> rows fetched from statements reading it, while the block runs."""
    patterns = {t: re.compile(rf'\b(?:FROM|JOIN)\s+"?{t}"?(?:\s|$|,|\))', re.IGNORECASE) for t in tables}
    counts: Counter = Counter()
    orig = {n: getattr(CursorFetchStrategy, n) for n in ("fetchone", "fetchmany", "fetchall")}

    def tally(result, n: int) -> None:  # noqa: ANN001 - a CursorResult
        stmt = getattr(result.context, "statement", "") or ""
        if re.match(r"\s*(INSERT|UPDATE|DELETE)\b", stmt, re.IGNORECASE):
            return
        for t, p in patterns.items():
            if p.search(stmt):
                counts[t] += n

    def fetchone(self, result, cursor, hard_close=False):  # noqa: ANN001, ANN202
        row = orig["fetchone"](self, result, cursor, hard_close)
        if row is not None:
            tally(result, 1)
        return row

    def fetchmany(self, result, cursor, size=None):  # noqa: ANN001, ANN202
        rows = orig["fetchmany"](self, result, cursor, size)
        tally(result, len(rows))
        return rows

    def fetchall(self, result, cursor):  # noqa: ANN001, ANN202
        rows = orig["fetchall"](self, result, cursor)
        tally(result, len(rows))
        return rows

    patched = {"fetchone": fetchone, "fetchmany": fetchmany, "fetchall": fetchall}
    for n, f in patched.items():
        setattr(CursorFetchStrategy, n, f)
    try:
        yield counts
    finally:
        for n, f in orig.items():
            setattr(CursorFetchStrategy, n, f)


__all__ = ["rows_read"]
