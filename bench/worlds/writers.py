"""Write a world's orders (and catalog) as the user would receive them from that system.

The joined line frame is rendered through the world's dialect: its headers and column
order, its words for states and payment methods, its date form, its encoding (GBK CSV,
UTF-8 CSV with or without BOM, .xlsx), newest-first where the system sorts that way.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl
import xlsxwriter

from .dialects import Dialect

_CARRIERS = ("中通快递", "韵达快递", "圆通速递", "申通快递", "极兔速递")


def joined(orders: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """One row per line with its order's fields repeated, as line exports are."""
    return lines.join(orders, on="order_id", how="inner")


def _derived(df: pl.DataFrame) -> pl.DataFrame:
    """Columns some systems print that the generator doesn't keep (derived, deterministic)."""
    h = pl.col("order_id").hash(7)
    land = pl.col("phone").str.contains(r"^0\d{2,3}-")
    shipped = pl.col("shipped_at").is_not_null()
    return df.with_columns(
        pl.when(land).then(None).otherwise(pl.col("phone")).alias("mobile"),
        pl.when(land).then(pl.col("phone")).alias("landline"),
        pl.concat_str([pl.col(c) for c in ("province", "city", "district", "address")],
                      separator=" ", ignore_nulls=True).alias("address_joined"),
        pl.concat_str([pl.col("unit"), pl.lit("("), pl.col("spec"), pl.lit(")")]).alias("unit_spec"),
        pl.lit(["张伟", "刘洋", "陈静", "孙磊"]).list.get((pl.col("store_id").hash(3) % 4).cast(pl.Int64)).alias("clerk"),
        pl.when(pl.col("store_id").hash(5) % 3 == 0).then(pl.lit("城北仓")).otherwise(pl.lit("一号仓")).alias("warehouse"),
        pl.when(shipped).then(pl.lit("快递")).alias("carrier_kind"),
        pl.when(shipped).then(pl.concat_str([pl.lit("YT"), (h % 10**12).cast(pl.String).str.zfill(12)])).alias("tracking"),
        pl.when(shipped).then(pl.lit(list(_CARRIERS)).list.get((h % len(_CARRIERS)).cast(pl.Int64))).alias("carrier"),
        pl.concat_str([pl.lit("TB"), (h % 10**15).cast(pl.String).str.zfill(15)]).alias("online_id"),
        pl.when(pl.col("refunded")).then(pl.col("order_amount")).otherwise(0.0).alias("refund_amount"),
        *_shopify_fields(),
    )


def _shopify_fields() -> list[pl.Expr]:
    """A Shopify export's own columns: financial and fulfillment status, balances, cancellation."""
    c = pl.col
    cancelled = c("state").is_in(["cancelled", "closed"])
    paid = c("paid_at").is_not_null()
    return [
        pl.when(cancelled & paid).then(pl.lit("refunded")).when(cancelled).then(pl.lit("voided"))
        .when(paid).then(pl.lit("paid")).otherwise(pl.lit("pending")).alias("financial_status"),
        pl.when(c("shipped_at").is_not_null()).then(pl.lit("fulfilled")).otherwise(pl.lit("unfulfilled"))
        .alias("fulfillment_status"),
        pl.when(c("shipped_at").is_not_null()).then(pl.lit("fulfilled")).otherwise(pl.lit("pending"))
        .alias("line_fulfillment"),
        pl.when(cancelled).then(c("created_at") + pl.duration(minutes=40)).alias("cancelled_at"),
        pl.when(paid | cancelled).then(0.0).otherwise(c("order_amount")).alias("outstanding"),
        pl.lit("USD").alias("currency"), pl.lit(0.0).alias("taxes"), pl.lit(0.0).alias("discount"),
        pl.lit(None, dtype=pl.String).alias("discount_code"), pl.lit("Standard Shipping").alias("shipping_method"),
        pl.lit("Main Warehouse").alias("warehouse_en"),
        (c("order_id").hash(11) % 10**13).cast(pl.String).alias("shop_order_id"),
    ]


def render(dialect: Dialect, orders: pl.DataFrame, lines: pl.DataFrame) -> pl.DataFrame:
    """The export as a frame: the dialect's headers, words and date form."""
    df = _derived(joined(orders, lines))
    df = df.sort(["created_at", "order_id", "line_no"], descending=[dialect.newest_first, False, False])
    first = pl.col("order_id").is_first_distinct()
    out = []
    for col in dialect.columns:
        e = pl.col(col.field)
        dtype = df.schema[col.field]
        if col.field == "state" and dialect.states:
            e = e.replace_strict(dialect.states, default=None)
        elif col.field == "payment_method":
            e = e.replace_strict(dialect.payments, default=None)
        elif col.field == "doc_type":
            e = e.replace_strict(dialect.doc_types, default=None)
        elif dtype == pl.Datetime("us"):
            e = e.dt.to_string(dialect.time_format)
        if col.header in dialect.first_line_only:
            e = pl.when(first).then(e)
        out.append(e.alias(col.header))
    return df.select(out)


def write_table(frame: pl.DataFrame, path: Path, fmt: str, encoding: str) -> None:
    """CSV in the given encoding (two decimals, as ERPs print numbers) or an .xlsx sheet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":   # a fixed creation date keeps the file byte-identical for a seed
        with xlsxwriter.Workbook(str(path)) as book:
            book.set_properties({"created": datetime(2026, 1, 1)})
            frame.write_excel(book, worksheet="Sheet1", autofit=False)
        return
    text = frame.write_csv(float_precision=2)
    data = text.encode("gbk") if encoding == "gbk" else text.encode(encoding)
    path.write_bytes(data)


def write_orders(dialect: Dialect, orders: pl.DataFrame, lines: pl.DataFrame, out: Path) -> Path:
    path = out / dialect.file_name
    write_table(render(dialect, orders, lines), path, dialect.fmt, dialect.encoding)
    return path


def write_catalog(dialect: Dialect, catalog: pl.DataFrame, out: Path, rng: np.random.Generator) -> Path | None:
    """The SKU master in the system's own catalog headers (if the world has one)."""
    if not dialect.catalog_file:
        return None
    cat = catalog.with_columns(
        pl.when(pl.col("fresh")).then(pl.lit("是")).otherwise(pl.lit("否")).alias("fresh_word"),
        pl.Series("stock", rng.integers(0, 5000, catalog.height).astype(float)),
    )
    frame = cat.select([pl.col(c.field).alias(c.header) for c in dialect.catalog_columns])
    path = out / dialect.catalog_file
    suffix = Path(dialect.catalog_file).suffix.lstrip(".")
    write_table(frame, path, "xlsx" if suffix == "xlsx" else "csv", dialect.encoding)
    return path
