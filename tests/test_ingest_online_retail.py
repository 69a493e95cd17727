"""The real Online Retail data: the slice in tests/data everywhere, the full workbook and parquet
where ../shared is beside the checkout."""

from __future__ import annotations

import json

import polars as pl

from contracts.config import load_config
from ingest import read_orders
from tests.shared_data import ONLINE_RETAIL_SLICE, shared


def test_online_retail_slice_reads_ids_as_text_and_quarantines_guests():
    """The committed CSV slice: cancellations keep their C, guest lines go to quarantine."""
    res = read_orders([ONLINE_RETAIL_SLICE], load_config())
    assert res.read == 12_406 == res.accepted + res.quarantined
    assert res.quarantined == 40
    assert res.quarantine["reason"].unique().to_list() == ["必填字段为空: 门店编号 (store_id)"]
    cancelled = res.lines.filter(pl.col("order_id").str.starts_with("C"))
    assert cancelled.height and cancelled["status"].unique().to_list() == ["cancelled"]
    assert res.lines.filter(pl.col("order_id") == "581483").select("store_id", "sku", "quantity").row(0) == (
        "16446", "23843", 80995.0)
    assert res.lines["store_id"].str.contains(r"\.").sum() == 0


def test_online_retail_xlsx_keeps_cancellations_as_strings():
    res = read_orders([shared("data/online_retail/online_retail_first49999.xlsx")], load_config())
    assert res.read == 49999 == res.accepted + res.quarantined
    assert res.lines["source"].unique().to_list() == ["online_retail"]
    accepted_c = res.lines.filter(pl.col("order_id").str.starts_with("C"))
    quarantined_c = [json.loads(r)["InvoiceNo"] for r in res.quarantine["raw"]
                     if json.loads(r)["InvoiceNo"].startswith("C")]
    assert accepted_c.height + len(quarantined_c) == 923
    assert accepted_c["status"].unique().to_list() == ["cancelled"]
    assert res.lines["order_id"].null_count() == 0
    # every quarantined row is a guest line without CustomerID
    assert res.quarantine["reason"].unique().to_list() == ["必填字段为空: 门店编号 (store_id)"]
    first = res.lines.row(0, named=True)
    assert (first["order_id"], first["store_id"], first["sku"], first["source_line"]) == (
        "536365", "17850", "85123A", 2)
    assert first["created_at"].isoformat() == "2010-12-01T08:26:00"
    assert res.lines.filter(pl.col("sku") == "POST")["goods"].unique().to_list() == [False]
    lines = sorted(res.lines["source_line"].to_list() + res.quarantine["line"].to_list())
    assert lines == list(range(2, 50001))


def test_online_retail_parquet_published_figures():
    res = read_orders([shared("data/online_retail/online_retail.parquet")], load_config())
    assert res.read == 541909
    assert res.quarantined == 135080  # null CustomerID
    total = res.lines["quantity"].sum() + sum(
        json.loads(r)["Quantity"] and int(json.loads(r)["Quantity"]) for r in res.quarantine["raw"])
    assert total == 5176450
    big = res.lines.filter(pl.col("order_id") == "581483")
    assert big.select("sku", "quantity").row(0) == ("23843", 80995.0)
    assert res.lines["store_id"].str.contains(r"\.").sum() == 0
