"""CSV files people open in a spreadsheet: text that a spreadsheet would run is made inert.

The flags, quarantine and dry-run files carry what the exports said (a consignee, a note, a raw
row) and reviewers open them in Excel or WPS.  A cell that begins with ``=``, ``+``, ``-``, ``@``
or a tab or carriage return is read there as a formula (``=HYPERLINK(…)``, ``=cmd|' /C calc'!A0``:
OWASP's "CSV injection"), so such text gets a leading apostrophe, which spreadsheets show as
plain text.  A plain signed number (``-5``, ``+86 138 0013 8000`` is not one) stays as it is.
JSON lines are not touched: nothing runs them.
"""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl

#: what starts a formula in Excel, LibreOffice, WPS and Google Sheets
_ACTIVE = r"^[=+\-@\t\r]"
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"


def inert(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with every text cell that a spreadsheet would evaluate prefixed by ``'``."""
    text = [c for c, t in df.schema.items() if t == pl.String]
    return df.with_columns(
        pl.when(pl.col(c).str.contains(_ACTIVE) & ~pl.col(c).str.contains(_NUMBER))
        .then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in text)


def write_csv(df: pl.DataFrame, target: str | Path | io.BytesIO) -> None:
    """A CSV for people: UTF-8 with a BOM (Excel reads it as UTF-8) and inert text."""
    inert(df).write_csv(target, include_bom=True)
