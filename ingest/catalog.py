"""The SKU master (catalog): same readers and encodings, headers by alias then meaning
(``ingest.catalog_words``)."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from contracts import schema
from contracts.config import Config

from .catalog_words import recognise_catalog
from .labels import LABELS, label
from .orders import empty_quarantine, raw_json, reason_expr
from .profile import profiles
from .readers import LINE, read_table
from .values import clean_text, parse_bool, parse_number

NUMERIC = ("order_step", "min_order_qty", "list_price", "stock")


def read_catalog(path: str | Path, config: Config) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(catalog in ``schema.CATALOG``, quarantine in ``schema.QUARANTINE``).

    Rows without a SKU, with an unparsable number/flag, or superseded by a later row of the
    same SKU (the last one wins) are quarantined.
    """
    table = read_table(path)
    raw, headers, file = table.frame, table.headers, str(path)
    explicit = (config.get("catalog.columns") or {}) if config is not None else {}
    mapping, _ = recognise_catalog(headers, profiles(raw, headers), {str(k): str(v) for k, v in explicit.items()})

    text = raw.select(
        pl.col(LINE),
        *[clean_text(pl.col(h)).alias(f) for f, h in mapping.items() if f in schema.CATALOG],
    )
    parsed, failed = [], {}
    for f in text.columns:
        if f in NUMERIC:
            values, bad = parse_number(text[f])
        elif f == "fresh":
            values, bad = parse_bool(text[f])
        else:
            continue
        parsed.append(values.alias(f))
        failed[f] = bad
    typed = text.with_columns(parsed) if parsed else text

    checks: dict[str, pl.Series] = {f"fail:{f}": bad for f, bad in failed.items()}
    if "sku" in typed.columns:
        # the last otherwise-valid row of a SKU wins; earlier valid rows are superseded
        invalid = (
            pl.DataFrame(checks).select(pl.any_horizontal(pl.all())).to_series()
            if checks
            else pl.Series([False] * typed.height, dtype=pl.Boolean)
        )
        ok = pl.col("sku").is_not_null() & ~pl.col("__invalid")
        last_line = (
            typed.with_columns(invalid.alias("__invalid"))
            .select(pl.when(ok).then(pl.col(LINE).filter(ok).last().over("sku")))
            .to_series()
        )
        checks = {
            "empty:sku": typed["sku"].is_null(),
            "dup:sku": (last_line != typed[LINE]).fill_null(False),
            **checks,
        }
    flags = pl.DataFrame(checks) if checks else pl.DataFrame({"_": [False] * raw.height})
    if "sku" not in typed.columns:
        bad_mask = pl.Series([True] * raw.height, dtype=pl.Boolean)
    else:
        bad_mask = flags.select(pl.any_horizontal(pl.all()).fill_null(False)).to_series()

    quarantine = empty_quarantine()
    if bad_mask.any():
        pieces: list[pl.Expr] = []
        if "sku" not in typed.columns:
            seen = ", ".join(headers) if headers else "(无)"
            pieces.append(pl.lit(f"缺少必需列: {label('sku')}；文件表头: {seen}"))
        extra = {"last:sku": last_line} if "sku" in typed.columns else {}
        sub = pl.concat(
            [raw, flags, text.drop(LINE).rename(lambda c: f"text:{c}"), pl.DataFrame(extra)],
            how="horizontal",
        ).filter(bad_mask)
        for key in checks:
            kind, f = key.split(":", 1)
            if kind == "empty":
                pieces.append(pl.when(pl.col(key)).then(pl.lit(f"必填字段为空: {label(f)}")))
            elif kind == "dup":
                pieces.append(
                    pl.when(pl.col(key)).then(
                        pl.format("SKU 重复: '{}'，以第 {} 行为准", pl.col("text:sku"),
                                  pl.col("last:sku"))
                    )
                )
            else:
                pieces.append(
                    pl.when(pl.col(key)).then(
                        pl.format("{}无法解析: '{}' ({})", pl.lit(LABELS.get(f, f)),
                                  pl.col(f"text:{f}"), pl.lit(f))
                    )
                )
        quarantine = sub.select(
            pl.lit(file).alias("source_file"),
            pl.col(LINE).alias("line"),
            reason_expr(pieces).alias("reason"),
            raw_json(headers).alias("raw"),
        )
    reader_q = table.bad.select(pl.lit(file).alias("source_file"), "line", "reason", "raw")
    quarantine = pl.concat(
        [reader_q.cast(schema.QUARANTINE), quarantine.cast(schema.QUARANTINE)]
    ).sort("line")

    accepted = typed.filter(~bad_mask)
    missing = [pl.lit(None, dtype=t).alias(n) for n, t in schema.CATALOG.items()
               if n not in accepted.columns]
    catalog = accepted.with_columns(missing).select(
        [pl.col(n).cast(t) for n, t in schema.CATALOG.items()]
    )
    return catalog, quarantine
