"""Vectorised value normalisation: text, numbers, timestamps, booleans.

Each parser takes a String Series whose values are already stripped (empty -> null) and
returns ``(parsed, failed)``: ``failed`` is True where a non-empty value could not be
parsed.  The common case is one polars cast/strptime over the column; only failing rows go
through the slower, more forgiving normalisation.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

DATETIME = pl.Datetime("us")

#: full-width ASCII (！..～) and the ideographic space -> half-width
FULLWIDTH_FROM = [chr(c) for c in range(0xFF01, 0xFF5F)] + ["\u3000"]
FULLWIDTH_TO = [chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)] + [" "]


def to_halfwidth(e: pl.Expr) -> pl.Expr:
    return e.str.replace_many(FULLWIDTH_FROM, FULLWIDTH_TO)


def clean_text(e: pl.Expr) -> pl.Expr:
    """Strip surrounding whitespace; an empty value is null."""
    s = e.str.strip_chars()
    return pl.when(s.str.len_bytes() > 0).then(s)


def nullify_empty(df: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Empty strings -> null, touching only the columns that have any."""
    if not columns or df.height == 0:
        return df
    has_empty = df.select([(pl.col(c) == "").any().alias(c) for c in columns]).row(0)
    fix = [c for c, e in zip(columns, has_empty) if e]
    if fix:
        df = df.with_columns([pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in fix])
    return df


def _apply(s: pl.Series, expr_fn) -> pl.Series:
    return pl.DataFrame({"v": s}).select(expr_fn(pl.col("v")).alias("v"))["v"]


# -- numbers --------------------------------------------------------------------------------
_MONEY_NOISE = r"(?i)rmb|cny|人民币|元|[¥￥$£€,\s]"


def _finite(e: pl.Expr) -> pl.Expr:
    return pl.when(e.is_finite()).then(e)


def number_slow(s: pl.Series) -> pl.Series:
    return _apply(
        s,
        lambda v: _finite(
            to_halfwidth(v).str.replace_all(_MONEY_NOISE, "").cast(pl.Float64, strict=False)
        ),
    )


def number_fast_expr(e: pl.Expr) -> pl.Expr:
    """Plain numbers only (the common case); NaN/inf are left for :func:`repair`."""
    return e.cast(pl.Float64, strict=False)


def int_fast_expr(e: pl.Expr) -> pl.Expr:
    return e.cast(pl.Int32, strict=False)


def int_slow(s: pl.Series) -> pl.Series:
    num = number_slow(s)
    return _apply(
        num,
        lambda v: pl.when((v == v.round(0)) & (v.abs() < 2**31)).then(
            v.cast(pl.Int32, strict=False)
        ),
    )


def repair(text: pl.Series, fast: pl.Series, slow) -> tuple[pl.Series, pl.Series]:
    """Re-parse with ``slow`` the rows the fast parse missed; returns (values, failed).

    ``failed``: the text is non-empty (not just whitespace) but still unparsable.
    """
    todo = fast.is_null() & text.is_not_null()
    if fast.dtype.is_float():
        todo = todo | ~fast.is_finite().fill_null(True)
    if not todo.any():
        return fast, todo
    idx = todo.arg_true()
    sub = text.gather(idx)
    fixed = slow(sub)
    values = fast.scatter(idx, fixed)
    still = (fixed.is_null() & (sub.str.strip_chars() != "")).fill_null(False)
    failed = pl.repeat(False, text.len(), dtype=pl.Boolean, eager=True).alias(text.name)
    if still.any():
        failed = failed.scatter(idx.filter(still), True)
    return values, failed


def parse_number(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """``"¥1,234.50"``, ``"1234.5元"``, ``"￥ 12"``, ``"１２３"`` -> Float64."""
    return repair(s, _apply(s, number_fast_expr), number_slow)


def parse_int(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Integral numbers as Int32 (``"3"``, ``"3.0"``); anything else fails."""
    return repair(s, _apply(s, int_fast_expr), int_slow)


# -- booleans -------------------------------------------------------------------------------
TRUE_WORDS = ["是", "y", "yes", "true", "t", "1", "对", "生鲜", "√", "✓"]
FALSE_WORDS = ["否", "n", "no", "false", "f", "0", "不是", "非生鲜", "×", "✗"]


def parse_bool(s: pl.Series) -> tuple[pl.Series, pl.Series]:
    def expr(v: pl.Expr) -> pl.Expr:
        k = to_halfwidth(v).str.strip_chars().str.to_lowercase()
        k = pl.when(k.str.contains(r"^[+-]?\d+(\.0+)?$")).then(
            k.cast(pl.Float64, strict=False).cast(pl.Int64, strict=False).cast(pl.String)
        ).otherwise(k)
        return pl.when(k.is_in(TRUE_WORDS)).then(True).when(k.is_in(FALSE_WORDS)).then(False)

    out = _apply(s, expr).cast(pl.Boolean)
    return out, (out.is_null() & s.is_not_null())


# -- timestamps -----------------------------------------------------------------------------
#: formats tried on a sample to pick the column's fast path (naive only)
FAST_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y/%m/%d",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y%m%d",
    "%Y%m%d%H%M%S",
)
#: formats of the slow path, applied after normalisation to ``YYYY-MM-DD HH:MM:SS``
NAIVE_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y%m%d",
    "%Y%m%d%H%M%S",
    "%Y%m%d %H:%M:%S",
    "%Y%m%d %H:%M",
)
ZONED_FORMATS = ("%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%d %H:%M%z")
#: Excel serial day numbers accepted (1954-10-03 .. 2119-01-09)
SERIAL_RANGE = (20000.0, 80000.0)
_EXCEL_EPOCH_US = int((datetime(1899, 12, 30) - datetime(1970, 1, 1)).total_seconds()) * 1_000_000
SAMPLE = 500


def _normalise_datetime_text(v: pl.Expr) -> pl.Expr:
    """``2026年9月1日 1:05``, ``2026/9/1T13:05Z`` ... -> ``2026-09-01 01:05`` / ``...+00:00``."""
    t = to_halfwidth(v).str.strip_chars()
    t = (
        t.str.replace_all(r"(\d)\s*年\s*(\d)", "$1-$2")
        .str.replace_all(r"(\d)\s*月\s*(\d)", "$1-$2")
        .str.replace_all(r"(\d)\s*[日号]", "$1 ")
        .str.replace_all(r"(\d)\s*[时點点]\s*(\d)", "$1:$2")
        .str.replace_all(r"(\d)\s*分\s*(\d)", "$1:$2")
        .str.replace_all(r"(\d)\s*[时分秒]", "$1")
    )
    t = t.str.replace(r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})", "$1-$2-$3")
    t = t.str.replace(r"^(\d{4}-\d{1,2}-\d{1,2})(?:[Tt]|\s+)", "$1 ").str.strip_chars()
    # offsets: Z, +0800, " +08:00" -> +08:00 (only after a time)
    t = t.str.replace(r"(:\d{2}(?:\.\d+)?)\s*[Zz]$", "${1}+00:00")
    t = t.str.replace(r"(:\d{2}(?:\.\d+)?)\s*([+-]\d{2}):?(\d{2})$", "$1$2:$3")
    # zero-pad single digits (twice: adjacent matches overlap); not fractional seconds
    for _ in range(2):
        t = t.str.replace_all(r"(^|[^\d.])(\d)(\D|$)", "${1}0${2}${3}")
    return t


def datetime_slow(s: pl.Series, tz: str) -> pl.Series:
    raw = to_halfwidth(pl.col("v")).str.strip_chars()
    frame = pl.DataFrame({"v": s}).select(
        _normalise_datetime_text(pl.col("v")).alias("t"),
        pl.when(raw.str.contains(r"^\d{5}(\.\d+)?$"))
        .then(raw.cast(pl.Float64, strict=False))
        .alias("serial"),
    )
    t, serial = pl.col("t"), pl.col("serial")
    # Excel serial day number (date cells exported as numbers)
    serial = pl.when((serial >= SERIAL_RANGE[0]) & (serial <= SERIAL_RANGE[1])).then(serial)
    serial_dt = (
        pl.lit(_EXCEL_EPOCH_US, dtype=pl.Int64)
        + (serial * 86400).round(0).cast(pl.Int64) * 1_000_000
    ).cast(DATETIME)
    naive = pl.coalesce([t.str.strptime(DATETIME, f, strict=False) for f in NAIVE_FORMATS])
    zoned = pl.coalesce(
        [t.str.strptime(pl.Datetime("us", "UTC"), f, strict=False) for f in ZONED_FORMATS]
    )
    zoned = zoned.dt.convert_time_zone(tz).dt.replace_time_zone(None)
    has_zone = t.str.contains(r":\d{2}(?:\.\d+)?[+-]\d{2}:\d{2}$")
    out = pl.when(has_zone).then(zoned).otherwise(pl.coalesce([naive, serial_dt]))
    return frame.select(out.cast(DATETIME).alias(s.name or "v")).to_series()


def best_format(sample: pl.Series, formats=FAST_FORMATS) -> str | None:
    """The format that parses the most sample values (None if none parses any)."""
    best, hits = None, 0
    for fmt in formats:
        n = sample.str.to_datetime(fmt, time_unit="us", strict=False).is_not_null().sum()
        if n > hits:
            best, hits = fmt, n
            if n == sample.len():
                break
    return best


def datetime_fast_expr(e: pl.Expr, fmt: str | None) -> pl.Expr:
    if fmt is None:
        return pl.lit(None, dtype=DATETIME)
    return e.str.to_datetime(fmt, time_unit="us", strict=False, cache=False)


def pick_format(s: pl.Series) -> str | None:
    """The fast-path format of a column, chosen on an evenly spread sample."""
    sample = s.gather_every(max(1, s.len() // (SAMPLE * 4))).drop_nulls()
    if sample.len() == 0:
        sample = s.drop_nulls()
    if sample.len() == 0:
        return None
    return best_format(sample.gather_every(max(1, sample.len() // SAMPLE)).head(SAMPLE))


def parse_datetime(s: pl.Series, tz: str) -> tuple[pl.Series, pl.Series]:
    """Timestamps in the usual forms -> naive Datetime(us) wall-clock in ``tz``."""
    fast = _apply(s, lambda v: datetime_fast_expr(v, pick_format(s)))
    return repair(s, fast.cast(DATETIME), lambda sub: datetime_slow(sub, tz))
