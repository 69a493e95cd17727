"""Write the demo data the way real sources send it: weekly GBK ERP exports with Chinese headers,
a JSON-lines platform feed, and the catalog as an Excel workbook."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from contracts.workbook import safe_workbook

from orderwatch.demo_world import (
    CATALOG_HEADERS,
    ERP_HEADERS,
    PAY_ERP,
    PAY_PLATFORM,
    STATUS_ERP,
    STATUS_PLATFORM,
    _cents_str,
)

#: order flow time columns (besides "created") of the generated frame
TIMES = ["paid", "confirmed", "picked", "shipped", "delivered"]


def write_erp_files(full: pl.DataFrame, out_dir: Path, day0: date, last_day: date,
                    bad_ids: np.ndarray) -> tuple[list[Path], list[str]]:
    """One GBK CSV per week of the stores' orders; returns the files and the malformed rows
    ("file:line") that a scan must quarantine."""
    fmt = "%Y/%-m/%-d %-H:%M"
    bad_kinds = ["quantity", "store_id", "created_at"]
    bad_kind_of = {int(o): bad_kinds[i % 3] for i, o in enumerate(bad_ids)}
    erp = full.filter(~pl.col("platform")).with_columns(
        week=((pl.col("created").dt.date() - pl.lit(day0)).dt.total_days() // 7),
        bad=pl.col("order").replace_strict(bad_kind_of, default="", return_dtype=pl.String),
    )

    def tstr(c: str) -> pl.Expr:
        return pl.col(c).dt.strftime(fmt)

    erp_str = erp.select(
        "week", "bad",
        order_id=pl.col("order_id"),
        store_id=pl.when(pl.col("bad") == "store_id").then(pl.lit(None, pl.String)).otherwise(pl.col("store_id")),
        store_name=pl.col("store_name"),
        created_at=pl.when(pl.col("bad") == "created_at").then(pl.lit("yesterday")).otherwise(tstr("created")),
        confirmed_at=tstr("confirmed"),
        paid_at=tstr("paid"),
        picked_at=tstr("picked"),
        shipped_at=tstr("shipped"),
        delivered_at=tstr("delivered"),
        status=pl.col("status").replace_strict(dict(enumerate(STATUS_ERP)), return_dtype=pl.String),
        sku=pl.col("sku"),
        product_name=pl.col("product_name"),
        quantity=pl.when(pl.col("bad") == "quantity").then(pl.lit("abc"))
        .otherwise(pl.col("quantity").cast(pl.Int64).cast(pl.String)),
        unit_price=pl.concat_str([pl.lit("￥"), _cents_str("unit_price")]),
        line_amount=_cents_str("line_amount"),
        order_amount=_cents_str("order_amount"),
        paid_amount=_cents_str("paid_amount"),
        payment_method=pl.col("pay").replace_strict(dict(enumerate(PAY_ERP)), return_dtype=pl.String),
        consignee=pl.col("consignee"),
        phone=pl.col("phone"),
        province=pl.col("province"),
        city=pl.col("city"),
        district=pl.col("district"),
        address=pl.col("address"),
    )
    for p in out_dir.glob("erp_orders_*.csv"):
        p.unlink()
    erp_files: list[Path] = []
    quarantine: list[str] = []
    for w in sorted(erp_str["week"].unique().to_list()):
        part = erp_str.filter(pl.col("week") == w)
        d_from = day0 + timedelta(days=7 * w)
        d_to = min(d_from + timedelta(days=6), last_day)
        path = out_dir / f"erp_orders_{d_from:%Y%m%d}_{d_to:%Y%m%d}.csv"
        for i in np.flatnonzero(part["bad"].to_numpy() != ""):
            quarantine.append(f"{path.name}:{int(i) + 2}")
        text = part.drop("week", "bad").rename(ERP_HEADERS).write_csv(null_value="")
        path.write_bytes(text.encode("gbk"))
        erp_files.append(path)
    return erp_files, quarantine


def write_platform_file(full: pl.DataFrame, out_dir: Path) -> Path:
    """The platform channel's orders as JSON lines with canonical keys and ISO times."""
    t = TIMES
    iso = "%Y-%m-%dT%H:%M:%S+08:00"
    plat = full.filter(pl.col("platform")).select(
        "order_id", "line_no", "store_id", "store_name",
        *[pl.col(c).dt.strftime(iso).alias(f"{c}_at") for c in ("created", *t)],
        status=pl.col("status").replace_strict(dict(enumerate(STATUS_PLATFORM)), return_dtype=pl.String),
        sku=pl.col("sku"), product_name=pl.col("product_name"),
        quantity=pl.col("quantity").cast(pl.Int64), unit_price=pl.col("unit_price"),
        line_amount=pl.col("line_amount"), order_amount=pl.col("order_amount"),
        paid_amount=pl.col("paid_amount"),
        payment_method=pl.col("pay").replace_strict(dict(enumerate(PAY_PLATFORM)), return_dtype=pl.String),
        consignee=pl.col("consignee"), phone=pl.col("phone"), province=pl.col("province"),
        city=pl.col("city"), district=pl.col("district"), address=pl.col("address"),
        postcode=pl.col("postcode"), country=pl.lit("CN"),
    )
    plat_path = out_dir / "platform_orders.jsonl"
    with plat_path.open("w", encoding="utf-8") as fh:
        for row in plat.iter_rows(named=True):
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return plat_path


def write_catalog(cat: pl.DataFrame, out_dir: Path, as_of: datetime) -> Path:
    """The SKU master as an Excel workbook with Chinese headers (reproducible bytes)."""
    cat_path = out_dir / "catalog.xlsx"
    wb = safe_workbook(cat_path)
    wb.set_properties({"title": "商品目录", "created": as_of})  # fixed: files are reproducible
    cat.with_columns(
        pl.col("order_step").cast(pl.Int64), pl.col("min_order_qty").cast(pl.Int64),
        pl.col("stock").cast(pl.Int64),
        fresh=pl.when(pl.col("fresh")).then(pl.lit("是")).otherwise(pl.lit("否")),
    ).rename(CATALOG_HEADERS).write_excel(wb, worksheet="商品目录", autofit=True)
    wb.close()
    return cat_path
