"""The canonical order line: the one shape every reader produces and every detector reads.

One row per order line; order-level fields (amounts, address, times) are repeated on each
line of the order.  Only ``REQUIRED`` fields must be present in a source; the others may be
missing entirely (the column is then all null).
"""

from __future__ import annotations

import polars as pl

DATETIME = pl.Datetime("us")

#: canonical field -> polars dtype, in documentation order
CANONICAL: dict[str, pl.DataType] = {
    "order_id": pl.String(),
    "line_no": pl.Int32(),
    "source": pl.String(),
    "store_id": pl.String(),
    "store_name": pl.String(),
    "created_at": DATETIME,
    "confirmed_at": DATETIME,
    "paid_at": DATETIME,
    "picked_at": DATETIME,
    "shipped_at": DATETIME,
    "delivered_at": DATETIME,
    "status": pl.String(),
    "sku": pl.String(),
    "product_name": pl.String(),
    "quantity": pl.Float64(),
    "unit_price": pl.Float64(),
    "line_amount": pl.Float64(),
    "order_amount": pl.Float64(),
    "paid_amount": pl.Float64(),
    "payment_method": pl.String(),
    "consignee": pl.String(),
    "phone": pl.String(),
    "province": pl.String(),
    "city": pl.String(),
    "district": pl.String(),
    "address": pl.String(),
    "postcode": pl.String(),
    "country": pl.String(),
}

#: provenance columns every accepted row carries (not part of the business schema)
PROVENANCE: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "source_line": pl.Int64(),
    # False for fee/adjustment lines (postage, bank charges...) that are not goods
    "goods": pl.Boolean(),
}

REQUIRED: tuple[str, ...] = ("order_id", "store_id", "created_at", "sku", "quantity")

TIMESTAMP_FIELDS = tuple(k for k, v in CANONICAL.items() if v == DATETIME)
NUMBER_FIELDS = tuple(k for k, v in CANONICAL.items() if v == pl.Float64())
TEXT_FIELDS = tuple(k for k, v in CANONICAL.items() if v == pl.String())

#: identity of a line across scans: re-reading the same line must not add it twice
LINE_KEY: tuple[str, ...] = ("source", "store_id", "order_id", "line_no")

#: what detectors' baselines read back from history (the rest of a line is only needed for
#: flagged orders, whose lines the database keeps); writing fewer columns keeps scans fast
BASELINE_FIELDS: tuple[str, ...] = (
    *LINE_KEY, "store_name", "created_at", "confirmed_at", "paid_at", "picked_at", "shipped_at",
    "delivered_at", "status", "sku", "quantity", "unit_price", "line_amount", "order_amount",
    "payment_method", "goods",
)


def row_hash(df: pl.DataFrame) -> pl.Series:
    """A hash of a line's business content: a re-exported line whose status or times changed
    hashes differently, so history can keep its newest version."""
    cols = [c for c in CANONICAL if c in df.columns and c != "source"]
    return df.select(pl.struct(cols).hash().alias("_row_hash")).to_series()

#: the catalog (SKU master)
CATALOG: dict[str, pl.DataType] = {
    "sku": pl.String(),
    "product_name": pl.String(),
    "order_step": pl.Float64(),
    "min_order_qty": pl.Float64(),
    "list_price": pl.Float64(),
    "fresh": pl.Boolean(),
    "stock": pl.Float64(),
}

#: a flag as the rules layer hands it to the store (one per rule and subject)
FLAG_SCHEMA: dict[str, pl.DataType] = {
    "rule_id": pl.String(), "kind": pl.String(), "level": pl.String(), "department": pl.String(),
    "subject": pl.String(), "order_id": pl.String(), "store_id": pl.String(), "store_name": pl.String(),
    "occurred_at": pl.Datetime("us"), "title": pl.String(), "reason": pl.String(), "evidence": pl.String(),
    # the reason as data (rules/reasons): template id and its figures as JSON, rendered per reader
    "reason_id": pl.String(), "reason_args": pl.String(),
}

QUARANTINE: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "line": pl.Int64(),
    "reason": pl.String(),
    "raw": pl.String(),
}


def empty_canonical() -> pl.DataFrame:
    """An empty batch with the full canonical + provenance schema."""
    return pl.DataFrame(schema={**CANONICAL, **PROVENANCE})


def conform(df: pl.DataFrame) -> pl.DataFrame:
    """Add any missing canonical column as nulls and order columns canonically."""
    full = {**CANONICAL, **PROVENANCE}
    missing = [pl.lit(None, dtype=t).alias(n) for n, t in full.items() if n not in df.columns]
    if missing:
        df = df.with_columns(missing)
    return df.select([pl.col(n).cast(t) for n, t in full.items()])
