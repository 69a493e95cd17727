"""Vectorised value normalisation: text, numbers, booleans (timestamps: ``ingest.dates``).

Each parser takes a String Series whose values are already stripped (empty -> null) and
returns ``(parsed, failed)``: ``failed`` is True where a non-empty value could not be
parsed.  The common case is one polars cast/strptime over the column; only failing rows go
through the slower, more forgiving normalisation.
"""

from __future__ import annotations

from functools import lru_cache

import polars as pl

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
#: currency symbols, codes and words around an amount: ¥ ￥ $ R$ € £ RMB CNY USD 元 …
_CURRENCY = (r"(?i)(?:R\$|US\$|HK\$|NT\$|A\$|C\$|S\$|[¥￥$£€₩₹]|\b(?:RMB|CNY|USD|EUR|GBP|BRL|HKD|"
             r"JPY|AUD|CAD|SGD|TWD|KRW|INR)\b|人民币|元|块)")
#: a unit after a quantity: 2件, 3箱
_UNIT = r"(?:件|个|箱|盒|瓶|包|袋|只|台|套|本|支|双|条|罐|听|份|kg|KG|pcs|PCS|pc|ea)$"


def _finite(e: pl.Expr) -> pl.Expr:
    return pl.when(e.is_finite()).then(e)


def number_slow(s: pl.Series) -> pl.Series:
    """Amounts as people write them: currency marks, either thousands convention, ``(12.50)``.

    A value with both marks uses the last one as its decimal mark (``1.234,56``, ``1,234.56``).
    For values with commas only, the rows given together (a column's leftovers) decide: a
    comma followed by one or two final digits anywhere (``12,5``) makes commas decimal.
    """
    def expr(v: pl.Expr) -> pl.Expr:
        t = to_halfwidth(v).str.replace_all(_CURRENCY, "").str.replace_all(r"[\s\u00a0']", "")
        t = t.str.replace_all("−", "-").str.replace(_UNIT, "")
        neg = t.str.contains(r"^\(.*\)$") | t.str.contains(r"^[^-]*\d-$")
        t = t.str.replace_all(r"^\((.*)\)$", "$1").str.replace(r"^([^-]*\d)-$", "$1")
        has_dot, has_comma = t.str.contains(".", literal=True), t.str.contains(",", literal=True)
        both = has_dot & has_comma
        last_comma = t.str.contains(r",\d*$")
        comma_only = has_comma & ~has_dot
        column_comma = (comma_only & t.str.contains(r"\d,\d{1,2}$")).any() | (both & last_comma).any()
        t = (pl.when(both & last_comma).then(t.str.replace_all(r"\.", "").str.replace_all(",", "."))
             .when(both).then(t.str.replace_all(",", ""))
             .when(comma_only & column_comma).then(t.str.replace_all(",", "."))
             .when(comma_only).then(t.str.replace_all(",", ""))
             .when(t.str.contains(r"^-?\d{1,3}(\.\d{3}){2,}$")).then(t.str.replace_all(r"\.", ""))
             .otherwise(t))
        n = t.cast(pl.Float64, strict=False)
        return _finite(pl.when(neg).then(-n).otherwise(n))

    return _apply(s, expr)


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


@lru_cache(maxsize=8)
def _falses(n: int) -> pl.Series:
    return pl.repeat(False, n, dtype=pl.Boolean, eager=True)


def repair(text: pl.Series, fast: pl.Series, slow) -> tuple[pl.Series, pl.Series]:
    """Re-parse with ``slow`` the rows the fast parse missed; returns (values, failed).

    ``failed``: the text is non-empty (not just whitespace) but still unparsable.
    """
    if fast.null_count() == text.null_count() and not (
            fast.dtype.is_float() and not fast.is_finite().fill_null(True).all()):
        # every value parsed (nulls where the text is null): the clean column costs two counts
        return fast, _falses(text.len()).alias(text.name)
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
    """``"¥1,234.50"``, ``"1234.5元"``, ``"R$ 1.234,56"``, ``"(12.50)"``, ``"１２３"`` -> Float64."""
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
