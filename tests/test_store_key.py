"""Who ordered: the store key of an export read by meaning.

An ERP's sales document is made out to its counterparty (往来单位 in 管家婆 / 用友 / 金蝶): on a
platform's orders that is the ordering store, by code (往来单位编号) or, without a code, by name.
A B2B Shopify export has no store column but names the buying company on each order (``Billing
Company``, printed on the order's first line only): the company is the store, and every line
of the order belongs to it.  A retail export whose orders seldom name a company, or whose
``Company`` is the seller's own, stays one store.  On main all of these were the one store
'default', so every store was judged against the whole platform's history."""

from __future__ import annotations

import polars as pl

from contracts.config import load_config
from ingest.profile import profiles
from ingest.readers import read_table
from ingest.orders import ingest_table
from ingest.recognise import recognise


def _mapping(cols: dict[str, list[str | None]]) -> dict[str, str]:
    frame = pl.DataFrame(cols, schema={h: pl.String for h in cols})
    return recognise(frame.columns, profiles(frame, frame.columns)).mapping


def test_the_counterparty_code_and_name_are_the_store():
    m = _mapping({"单据编号": ["XS1", "XS2"], "录单日期": ["2026-09-01 10:00", "2026-09-02 10:00"],
                  "往来单位编号": ["KH01", "KH02"], "往来单位名称": ["陈记超市", "李记便利店"], "单位": ["箱", "瓶"],
                  "数量": ["1", "2"]})
    assert m["store_id"] == "往来单位编号" and m["store_name"] == "往来单位名称" and m["created_at"] == "录单日期"
    assert "单位" not in m.values()          # a unit of sale is no store


def test_without_a_code_the_counterpartys_name_is_the_key(tmp_path):
    p = tmp_path / "o.csv"
    p.write_text("单据编号,制单日期,购货单位,商品编号,数量\nXS1,2026-09-01,陈记超市,A,1\nXS2,2026-09-01,李记便利店,A,2\n",
                 encoding="utf-8")
    cfg = load_config()
    lines, _, _ = ingest_table(read_table(p), str(p), cfg, cfg.source_for(str(p), None))
    assert lines["store_id"].to_list() == ["陈记超市", "李记便利店"]
    assert lines["created_at"].null_count() == 0


def _shopify(tmp_path, companies: list[str]) -> pl.DataFrame:
    rows = ["Name,Email,Created at,Lineitem quantity,Lineitem sku,Lineitem price,Billing Company,Shipping Name"]
    for i, company in enumerate(companies):
        rows.append(f"#{1001 + i},buyer{i}@x.com,2026-09-01 10:0{i % 10}:00,2,A,5.0,{company},Ann")
        rows.append(f"#{1001 + i},,2026-09-01 10:0{i % 10}:00,1,B,7.0,,")          # the order's second line
    p = tmp_path / "orders_export_1.csv"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    cfg = load_config()
    lines, _, _ = ingest_table(read_table(p), str(p), cfg, cfg.source_for(str(p), None))
    return lines


def test_a_b2b_export_names_its_stores_by_the_buying_company(tmp_path):
    lines = _shopify(tmp_path, ["Juniper Market", "Bayside Market", "Juniper Market", "Harbor Deli"] * 3)
    by_order = lines.group_by("order_id").agg(pl.col("store_id").unique())
    assert all(len(s) == 1 for s in by_order["store_id"])                 # the second line is the order's store
    assert set(lines["store_id"]) == {"Juniper Market", "Bayside Market", "Harbor Deli"}


def test_a_retail_export_with_an_occasional_company_stays_one_store(tmp_path):
    lines = _shopify(tmp_path, ["", "", "Acme Inc", "", "", "", "", "", "", ""])
    assert lines["store_id"].n_unique() == 1


def test_the_sellers_own_company_is_no_store():
    m = _mapping({"Order Reference": ["S1", "S2", "S3"], "Order Date": ["2026-09-01"] * 3,
                  "Customer": ["Ann", "Bob", "Cy"], "Company": ["My Company"] * 3})
    assert "store_name" not in m and "store_id" not in m


def test_a_counterparty_master_is_a_store_master(tmp_path):
    """管家婆's 往来单位档案 is the customer (store) master: its code, name and credit limit."""
    from ingest.store_master import read_store_master
    p = tmp_path / "往来单位档案.csv"
    p.write_bytes("往来单位编号,往来单位,信用额度,联系人,电话\nKH01,陈记超市,8000,陈,020-87654321\n".encode("gbk"))
    m = read_store_master(p)
    assert (m.mapping["store_id"], m.mapping["store_name"], m.mapping["credit_limit"]) == ("往来单位编号", "往来单位", "信用额度")
    assert m.limits.rows() == [("KH01", 8000.0)]
