"""The canonical order line: the one shape every reader produces and every detector reads.

One row per order line; order-level fields (amounts, address, times, state) are repeated on
each line of the order.  Only ``REQUIRED`` fields must be present in a source; the others may
be missing entirely (the column is then all null) and the detectors that need them say so.
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
    "buyer_id": pl.String(),
    # lifecycle events, in the order they happen
    "created_at": DATETIME,
    "paid_at": DATETIME,
    "confirmed_at": DATETIME,
    "picked_at": DATETIME,
    "shipped_at": DATETIME,
    "delivered_at": DATETIME,
    "completed_at": DATETIME,
    "cancelled_at": DATETIME,
    "refund_requested_at": DATETIME,
    "refunded_at": DATETIME,
    # the order's own deadlines, when the export carries them
    "ship_by": DATETIME,
    "deliver_by": DATETIME,
    # status as exported, and the canonical state derived from it and from the times
    "status": pl.String(),
    "payment_status": pl.String(),
    "aftersale_status": pl.String(),
    "state": pl.String(),
    "sku": pl.String(),
    "product_name": pl.String(),
    "quantity": pl.Float64(),
    "unit_price": pl.Float64(),
    "line_amount": pl.Float64(),
    "order_amount": pl.Float64(),
    "paid_amount": pl.Float64(),
    "discount_amount": pl.Float64(),
    "shipping_fee": pl.Float64(),
    "refund_amount": pl.Float64(),
    "currency": pl.String(),
    "payment_method": pl.String(),
    "shipping_method": pl.String(),
    "tracking_no": pl.String(),
    "consignee": pl.String(),
    "phone": pl.String(),
    "province": pl.String(),
    "city": pl.String(),
    "district": pl.String(),
    "address": pl.String(),
    "postcode": pl.String(),
    "country": pl.String(),
}

#: canonical order states, in lifecycle order; the last four end an order without fulfilment
STATES: tuple[str, ...] = (
    "pending_payment", "paid", "confirmed", "picking", "picked", "shipped", "delivered",
    "completed", "cancelled", "closed", "returned", "refunded",
)
#: lifecycle rank of the states an order passes through (the later, the higher)
STATE_RANK: dict[str, int] = {s: i for i, s in enumerate(STATES[:8])}
#: states that end an order without (further) fulfilment: nothing is waiting any more
UNWOUND_STATES: tuple[str, ...] = ("cancelled", "closed", "returned", "refunded")
#: states in which no time-based rule may flag an order: it is done, one way or the other
DONE_STATES: tuple[str, ...] = ("completed", *UNWOUND_STATES)
#: lifecycle events (timestamps) and the state each one proves
EVENT_STATE: dict[str, str] = {
    "paid_at": "paid", "confirmed_at": "confirmed", "picked_at": "picked", "shipped_at": "shipped",
    "delivered_at": "delivered", "completed_at": "completed", "cancelled_at": "cancelled",
    "refunded_at": "refunded",
}
#: the order's way through the warehouse, in order: a later event implies the earlier ones
LIFECYCLE_EVENTS: tuple[str, ...] = (
    "created_at", "paid_at", "confirmed_at", "picked_at", "shipped_at", "delivered_at", "completed_at",
)
#: events a file's "newest event" is taken from (deadlines are promises, not events); a refund
#: request proves no state (the refund may still be refused), so it is an event without one
EVENT_FIELDS: tuple[str, ...] = ("created_at", *EVENT_STATE, "refund_requested_at")
DEADLINE_FIELDS: tuple[str, ...] = ("ship_by", "deliver_by")

#: provenance columns every accepted row carries (not part of the business schema)
PROVENANCE: dict[str, pl.DataType] = {
    "source_file": pl.String(),
    "source_line": pl.Int64(),
    # False for fee/adjustment lines (postage, bank charges...) that are not goods
    "goods": pl.Boolean(),
}

#: all a file must have: which order, and when.  store_id is always filled (the file's store
#: when it has no store column), sku falls back to the product name.
REQUIRED: tuple[str, ...] = ("order_id", "created_at")

TIMESTAMP_FIELDS = tuple(k for k, v in CANONICAL.items() if v == DATETIME)
NUMBER_FIELDS = tuple(k for k, v in CANONICAL.items() if v == pl.Float64())
TEXT_FIELDS = tuple(k for k, v in CANONICAL.items() if v == pl.String())

#: identity of a line across scans: re-reading the same line must not add it twice
LINE_KEY: tuple[str, ...] = ("source", "store_id", "order_id", "line_no")

#: what detectors read back from history: their baselines, and every field a detector judges,
#: so the rules workbench's dry run (``orderwatch rules test``) can judge stored history as a
#: scan did (the rest of a line is only needed for flagged orders, whose lines the database
#: keeps); writing fewer columns keeps scans fast
BASELINE_FIELDS: tuple[str, ...] = (
    *LINE_KEY, "store_name", "buyer_id", *EVENT_FIELDS, *DEADLINE_FIELDS, "status", "state",
    "sku", "quantity", "unit_price", "line_amount", "order_amount", "paid_amount", "payment_method",
    "shipping_method", "consignee", "phone", "province", "city", "district", "address", "postcode", "country",
    "source_file", "goods",
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
