"""Values a store cannot hold or a detector cannot judge, quarantined at ingest with a reason.

Why here and not later: ``0001-01-01`` parses as a date but overflows the first date
arithmetic of a detector; a NUL byte is valid text to polars but PostgreSQL refuses it; a
quantity of ``1e308`` makes an amount of ``inf`` and a flag "…的inf倍".  Any of these used to
fail a scan half-way; caught here, the row lands in the quarantine and nothing later sees it.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from contracts import schema
from contracts.config import Config

from .labels import LABELS
from .table import LINE, RawTable

SEP = "；"


def bounds(config: Config) -> tuple[int, int, float]:
    """(min_year, max_year, max_abs_value) from ``ingest.*``."""
    return (int(config.get("ingest.min_year", 1900)), int(config.get("ingest.max_year", 2100)),
            float(config.get("ingest.max_abs_value", 1e12)))


def _checks(lines: pl.DataFrame, config: Config, nul_possible: bool = True) -> list[tuple[pl.Expr, pl.Expr]]:
    """(condition, reason) per check that applies to the frame's columns."""
    lo, hi, cap = bounds(config)
    out: list[tuple[pl.Expr, pl.Expr]] = []
    for f in schema.TIMESTAMP_FIELDS:
        if f in lines.columns:
            c = pl.col(f)  # compared as timestamps: cheaper than extracting the year
            out.append(((c < datetime(lo, 1, 1)) | (c >= datetime(hi + 1, 1, 1)), pl.concat_str([
                pl.lit(f"{LABELS.get(f, f)}超出范围 ({lo}–{hi} 年): "), pl.col(f).dt.strftime("%Y-%m-%d %H:%M:%S"),
                pl.lit(f" ({f})")])))
    for f in schema.NUMBER_FIELDS:
        if f in lines.columns:
            c = pl.col(f)
            out.append((~c.is_finite() | (c.abs() > cap), pl.concat_str([
                pl.lit(f"{LABELS.get(f, f)}超出范围 (绝对值不超过 {cap:g}): "), c.cast(pl.String),
                pl.lit(f" ({f})")])))
    for f, dtype in lines.schema.items() if nul_possible else ():
        if dtype == pl.String and lines[f].null_count() < lines.height:
            out.append((pl.col(f).str.contains("\x00", literal=True),
                        pl.lit(f"{LABELS.get(f, f)}含有 NUL 字节 ({f})")))
    return out


def out_of_range(lines: pl.DataFrame, table: RawTable, path: str,
                 config: Config) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(lines within range, quarantine rows of the others in ``schema.QUARANTINE``).

    ``table`` is what the reader read (its raw rows go to the quarantine); a reader that saw
    no NUL byte in the file (``table.has_nul`` False) spares the per-column NUL checks."""
    raw, headers = table.frame, table.headers
    empty = pl.DataFrame(schema=schema.QUARANTINE)
    if lines.is_empty():
        return lines, empty
    checks = _checks(lines, config, table.has_nul is not False)
    if not checks:
        return lines, empty
    # the cheap test on every row; reasons only for the (few) rows that fail it
    bad = lines.select(pl.any_horizontal([c for c, _ in checks]).fill_null(False).alias("b"))["b"]
    if not bad.any():
        return lines, empty
    pieces = [pl.when(c).then(r) for c, r in checks]
    hit = lines.filter(bad).select(pl.col("source_line").alias("line"),
                                   pl.concat_str(pieces, separator=SEP, ignore_nulls=True).alias("reason"))
    encoded = (pl.struct([pl.col(h) for h in headers]).struct.json_encode() if headers
               else pl.lit("{}"))
    originals = (raw.filter(pl.col(LINE).is_in(hit["line"].implode()))
                 .select(pl.col(LINE).alias("line"), encoded.alias("raw")))
    q = (hit.join(originals, on="line", how="left")
         .select(pl.lit(path).alias("source_file"), "line", "reason", "raw")
         .cast(schema.QUARANTINE))
    return lines.filter(~bad), q
