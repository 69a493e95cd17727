"""The shape every reader returns: all-string columns plus the record's line number."""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl

LINE = "_line"
BAD_SCHEMA = {"line": pl.Int64(), "reason": pl.String(), "raw": pl.String()}


@dataclass
class RawTable:
    frame: pl.DataFrame
    bad: pl.DataFrame
    format: str
    encoding: str | None = None
    #: records counted without the parser (ingest.recount for CSV); None: nothing to compare
    counted: int | None = None
    #: False when the reader saw no NUL byte in the file (None: not known)
    has_nul: bool | None = None

    @property
    def headers(self) -> list[str]:
        return [c for c in self.frame.columns if c != LINE]

    @property
    def records(self) -> int:
        return self.frame.height + self.bad.height


def empty_bad() -> pl.DataFrame:
    return pl.DataFrame(schema=BAD_SCHEMA)


def _bad_frame(rows: list[tuple[int, str, str]]) -> pl.DataFrame:
    if not rows:
        return empty_bad()
    return pl.DataFrame(rows, schema=BAD_SCHEMA, orient="row")


# -- typed columns -> text ------------------------------------------------------------------
def _float_to_text(name: str) -> pl.Expr:
    c = pl.col(name)
    integral = c.is_finite() & (c == c.round(0)) & (c.abs() < 2.0**53)
    return (
        pl.when(integral)
        .then(c.cast(pl.Int64, strict=False).cast(pl.String))
        .otherwise(c.cast(pl.String, strict=False))
        .alias(name)
    )


def _to_text(name: str, dtype: pl.DataType) -> pl.Expr:
    c = pl.col(name)
    if dtype == pl.String:
        return c
    if dtype.is_float():
        return _float_to_text(name)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone:
            return c.dt.strftime("%Y-%m-%dT%H:%M:%S%:z").alias(name)
        return c.dt.strftime("%Y-%m-%d %H:%M:%S").alias(name)
    if dtype == pl.Date:
        return c.dt.strftime("%Y-%m-%d").alias(name)
    if isinstance(dtype, pl.Struct):
        return c.struct.json_encode().alias(name)
    if isinstance(dtype, (pl.List, pl.Array)):
        # encode {"name": [...]} and cut the value out: vectorised JSON of a list
        enc = pl.struct(c).struct.json_encode()
        prefix = len(json.dumps({name: None})) - len("null}")
        return enc.str.slice(prefix, enc.str.len_chars() - prefix - 1).alias(name)
    return c.cast(pl.String, strict=False).alias(name)


def stringify(df: pl.DataFrame) -> pl.DataFrame:
    """Every column as String, empty -> null; integral floats via Int64 (17850.0 -> "17850")."""
    exprs = [_to_text(n, t) for n, t in df.schema.items() if n != LINE]
    exprs = [pl.when(e != "").then(e).alias(e.meta.output_name()) for e in exprs]
    return df.with_columns(exprs) if exprs else df


def _with_line(df: pl.DataFrame, offset: int) -> pl.DataFrame:
    return df.with_row_index(LINE, offset=offset).with_columns(pl.col(LINE).cast(pl.Int64))


def _drop_blank_rows(df: pl.DataFrame) -> pl.DataFrame:
    cols = [c for c in df.columns if c != LINE]
    if not cols or df.height == 0:
        return df
    blank = pl.all_horizontal(
        [pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "") for c in cols]
    )
    return df.filter(~blank)


# -- CSV ------------------------------------------------------------------------------------
