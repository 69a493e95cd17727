"""Small builders for canonical frames, so detector and rule tests read like the data they test."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import polars as pl

from contracts.config import Config, load_config
from contracts.schema import CATALOG, conform
from detectors import DetectContext
from detectors.common import prepare
from ingest.states import state_expr, word_map

T0 = datetime(2026, 9, 1, 13, 0)
#: the shipped line_qty_outlier warn condition (rules/pack/volume.yaml), for tests that edit it
SHIPPED_LINE_WARN = ("(qty_ratio >= 8 or qty_ratio >= 5 and zero_shape == 1 and baseline != 'platform_sku' "
                     "and baseline != 'platform') and excess_packs >= 3")


def line(order_id: str, store_id: str = "S1", sku: str = "A", quantity: float | None = 10,
         created_at: datetime = T0, **kw: Any) -> dict[str, Any]:
    return {"order_id": order_id, "store_id": store_id, "sku": sku, "quantity": None if quantity is None else float(quantity),
            "created_at": created_at, "source": kw.pop("source", "test"), **kw}


def frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """Canonical lines; line_no numbered within each order when absent."""
    if not rows:
        return conform(pl.DataFrame())
    df = pl.DataFrame(rows, infer_schema_length=None)
    if "line_no" not in df.columns:
        df = df.with_columns(pl.int_range(1, pl.len() + 1).over("order_id").alias("line_no"))
    df = conform(df).with_columns(pl.col("goods").fill_null(True),
                                  pl.col("source_file").fill_null("t.csv"))
    if df["state"].null_count() == df.height:  # as ingest derives it: from status words and times
        words = {"status": word_map(df["status"].unique().to_list())}
        df = df.with_columns(state_expr(df.columns, words, payment_column=False))
    return df


def catalog(rows: list[dict[str, Any]]) -> pl.DataFrame:
    df = pl.DataFrame(rows, infer_schema_length=None)
    missing = [pl.lit(None, dtype=t).alias(n) for n, t in CATALOG.items() if n not in df.columns]
    return df.with_columns(missing).select([pl.col(n).cast(t) for n, t in CATALOG.items()])


def context(batch: list[dict[str, Any]], history: list[dict[str, Any]] | None = None,
            cat: pl.DataFrame | None = None, as_of: datetime | None = None,
            config: Config | None = None) -> DetectContext:
    config = config or load_config()
    parts = [frame(batch).with_columns(pl.lit(True).alias("_in_batch"))]
    if history:
        parts.insert(0, frame(history).with_columns(pl.lit(False).alias("_in_batch")))
    lines = prepare(pl.concat(parts).lazy(), config).collect().lazy()
    return DetectContext(lines=lines, catalog=cat.lazy() if cat is not None else None,
                         as_of=as_of or T0 + timedelta(days=1), config=config)


def daily_history(store: str, days: int, qty: float, sku: str = "A", start: datetime = T0,
                  lines_per_day: int = 1, **kw: Any) -> list[dict[str, Any]]:
    """``days`` ordering days before ``start``, each with ``lines_per_day`` lines of ``qty``."""
    out = []
    for d in range(days, 0, -1):
        at = start - timedelta(days=d)
        for i in range(lines_per_day):
            out.append(line(f"{store}-H{d}", store, f"{sku}{i}" if lines_per_day > 1 else sku, qty, at, **kw))
    return out
