"""One order file -> canonical lines + quarantine (reader -> headers -> values -> checks)."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from contracts import schema
from contracts.config import Config, Source

from . import limits
from .headers import ORDER_INDEX, map_headers
from .labels import LABELS, label
from .readers import LINE, RawTable
from .values import (
    datetime_fast_expr,
    datetime_slow,
    int_fast_expr,
    int_slow,
    nullify_empty,
    number_fast_expr,
    number_slow,
    pick_format,
    repair,
)

SEP = "；"
FAST = "__fast__:"
#: text fields stripped of surrounding whitespace: the keys that are compared for equality.
#: Other text (names, addresses, regions) is kept as exported (empty -> null): a strip pass
#: costs as much as parsing a column, and the 2x-of-a-bare-read budget is tight.
STRIPPED = ("order_id", "store_id", "sku", "status", "phone")


def _falses(n: int) -> pl.Series:
    return pl.repeat(False, n, dtype=pl.Boolean, eager=True)


@dataclass
class FileCount:
    path: str
    read: int
    accepted: int
    quarantined: int
    counted: int | None = None     # records counted without the parser (None: not countable)

    @property
    def reconciled(self) -> bool:
        """read = accepted + quarantined, and read = the independent count."""
        return self.read == self.accepted + self.quarantined and self.counted in (None, self.read)


def empty_quarantine() -> pl.DataFrame:
    return pl.DataFrame(schema=schema.QUARANTINE)


def raw_json(headers: list[str]) -> pl.Expr:
    """The original row as a compact JSON object header -> value."""
    if not headers:
        return pl.lit("{}")
    return pl.struct([pl.col(h) for h in headers]).struct.json_encode()


def reason_expr(pieces: list[pl.Expr]) -> pl.Expr:
    """The reasons that apply to a row, joined with "；"."""
    return pl.concat_str(pieces, separator=SEP, ignore_nulls=True)


def _field_sources(table: RawTable, source: Source) -> tuple[dict[str, str], dict[str, object]]:
    mapping = map_headers(table.headers, ORDER_INDEX, source.columns)
    mapping.pop("source", None)
    defaults = {
        f: v
        for f, v in source.defaults.items()
        if f in schema.CANONICAL and f not in mapping and f != "source" and v is not None
    }
    return mapping, defaults


def _positions(typed: pl.DataFrame) -> pl.Series:
    """1-based position of each line within its order, in file order."""
    oid = pl.col("order_id")
    idx = pl.int_range(pl.len(), dtype=pl.Int64)
    starts = oid.ne_missing(oid.shift(1)).fill_null(True)
    runs, distinct = typed.select(starts.sum().alias("r"), oid.n_unique().alias("d")).row(0)
    if runs == distinct:  # each order's lines are contiguous: no grouping needed
        expr = idx - pl.when(starts).then(idx).forward_fill() + 1
    else:
        expr = pl.int_range(pl.len()).over("order_id") + 1
    return typed.select(expr.cast(pl.Int32)).to_series()


def ingest_table(
    table: RawTable, path: str, config: Config, source: Source
) -> tuple[pl.DataFrame, pl.DataFrame, FileCount]:
    raw = table.frame
    headers = table.headers
    mapping, defaults = _field_sources(table, source)
    present = set(mapping) | set(defaults)
    missing = [f for f in schema.REQUIRED if f not in present]

    # 1+2. one parallel select: text (identifiers and codes stripped) and the fast parse of
    #      every typed column; then only rows the fast parse missed go through the forgiving
    #      parser (`failed`: non-empty but unparsable)
    tz = config.timezone
    exprs: list[pl.Expr] = [pl.col(LINE)]
    fast_names: list[str] = []
    slow_fns: dict = {}
    for f in schema.CANONICAL:
        if f in mapping:
            col, sample = pl.col(mapping[f]), raw[mapping[f]]
        elif f in defaults:
            col = pl.lit(str(defaults[f]), dtype=pl.String)
            sample = pl.Series([str(defaults[f])], dtype=pl.String)
        else:
            continue
        exprs.append((col.str.strip_chars() if f in STRIPPED else col).alias(f))
        if f in schema.TIMESTAMP_FIELDS:
            exprs.append(datetime_fast_expr(col, pick_format(sample)).alias(FAST + f))
            slow_fns[f] = lambda sub: datetime_slow(sub, tz)
        elif f in schema.NUMBER_FIELDS:
            exprs.append(number_fast_expr(col).alias(FAST + f))
            slow_fns[f] = number_slow
        elif f == "line_no":
            exprs.append(int_fast_expr(col).alias(FAST + f))
            slow_fns[f] = int_slow
        else:
            continue
        fast_names.append(FAST + f)
    both = raw.select(exprs)
    fast = both.select(fast_names)
    text = nullify_empty(both.drop(fast_names), [f for f in STRIPPED if f in both.columns])
    parsed: list[pl.Series] = []
    failed: dict[str, pl.Series] = {}
    for f, slow in slow_fns.items():
        values, failed[f] = repair(text[f], fast[FAST + f], slow)
        parsed.append(values.alias(f))
    typed = text.with_columns(parsed) if parsed else text

    # 3. checks -> quarantine mask and reasons
    strict = set(config.strict_fields) | set(schema.REQUIRED)
    checks: dict[str, pl.Series] = {}
    for f in schema.CANONICAL:
        if f not in typed.columns:
            continue
        if f in schema.REQUIRED:
            empty = typed[f].is_null()
            checks[f"empty:{f}"] = empty & ~failed[f] if f in failed else empty
        if f in strict and f in failed:
            checks[f"fail:{f}"] = failed[f]
    flags = pl.DataFrame(checks) if checks else pl.DataFrame({"_": _falses(raw.height)})
    if missing:
        bad_mask = ~_falses(raw.height)
    else:
        bad_mask = flags.select(pl.any_horizontal(pl.all()).fill_null(False)).to_series()

    row_q = empty_quarantine()
    if bad_mask.any():
        pieces: list[pl.Expr] = []
        if missing:
            names = "、".join(label(f) for f in missing)
            seen = ", ".join(headers) if headers else "(无)"
            pieces.append(pl.lit(f"缺少必需列: {names}；文件表头: {seen}"))
        sub = pl.concat(
            [raw.filter(bad_mask), flags.filter(bad_mask),
             text.filter(bad_mask).drop(LINE).rename(lambda c: f"text:{c}")],
            how="horizontal",
        )
        for key in checks:
            kind, f = key.split(":", 1)
            if kind == "empty":
                pieces.append(pl.when(pl.col(key)).then(pl.lit(f"必填字段为空: {label(f)}")))
            else:
                pieces.append(
                    pl.when(pl.col(key)).then(
                        # concat_str, not pl.format: format with literals panics in polars 2.1
                        pl.concat_str([
                            pl.lit(f"{LABELS.get(f, f)}无法解析: '"),
                            pl.col(f"text:{f}"),
                            pl.lit(f"' ({f})"),
                        ])
                    )
                )
        row_q = sub.select(
            pl.lit(path).alias("source_file"),
            pl.col(LINE).alias("line"),
            reason_expr(pieces).alias("reason"),
            raw_json(headers).alias("raw"),
        )

    # 4. derived columns on accepted rows
    extra: list[pl.Expr] = [
        pl.lit(source.name).alias("source"),
        pl.lit(path).alias("source_file"),
        pl.col(LINE).alias("source_line"),
    ]
    if "order_id" in typed.columns:
        if "line_no" not in typed.columns:
            extra.append(_positions(typed).alias("line_no"))
        elif typed["line_no"].null_count():
            extra.append(pl.coalesce(pl.col("line_no"), _positions(typed)).alias("line_no"))
    if "sku" in typed.columns:
        extra.append((~pl.col("sku").is_in(source.non_goods_skus).fill_null(False)).alias("goods"))
    else:
        extra.append(pl.lit(True).alias("goods"))
    if "status" not in typed.columns and config.cancel_pattern and "order_id" in typed.columns:
        extra.append(
            pl.when(pl.col("order_id").str.contains(config.cancel_pattern))
            .then(pl.lit("cancelled"))
            .alias("status")
        )
    accepted = typed.with_columns(extra)
    if bad_mask.any():
        accepted = accepted.filter(~bad_mask)
    lines, range_q = limits.out_of_range(schema.conform(accepted), table, path, config)

    reader_q = table.bad.select(pl.lit(path).alias("source_file"), "line", "reason", "raw")
    quarantine = (
        pl.concat([reader_q.cast(schema.QUARANTINE), row_q.cast(schema.QUARANTINE), range_q])
        .sort("line")
    )
    count = FileCount(path, table.records, lines.height, quarantine.height, table.counted)
    return lines, quarantine, count
