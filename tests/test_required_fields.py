"""Only an order id and an order time are required; what a file lacks is filled as a person
would (one store, the product name as SKU, one line per order) and said in the report."""

from __future__ import annotations

from datetime import datetime

from contracts.config import load_config
from ingest import read_orders


def _read(tmp_path, text, name="f.csv", cfg=None):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return read_orders([p], cfg or load_config())


def test_no_store_column_is_one_store_named_by_the_source(tmp_path):
    res = _read(tmp_path, "订单号,下单时间,商品编码,数量\nA1,2026-09-01,K1,2\nA2,2026-09-01,K2,1\n")
    assert res.lines["store_id"].unique().to_list() == ["default"]
    assert "one store" in res.reports[0].store_note
    cfg = load_config(overrides={"sources": [{"name": "tmall_shop", "match": "tm*.csv",
                                              "defaults": {"store_id": "TM01"}}]})
    res = _read(tmp_path, "订单号,下单时间\nA1,2026-09-01\n", "tm.csv", cfg)
    assert res.lines["store_id"].to_list() == ["TM01"] and res.lines["source"].to_list() == ["tmall_shop"]
    assert res.reports[0].store_note is None
    cfg = load_config(overrides={"sources": [{"name": "tmall_shop", "match": "tm*.csv"}]})
    assert _read(tmp_path, "订单号,下单时间\nA1,2026-09-01\n", "tm.csv", cfg).lines["store_id"].to_list() == ["tmall_shop"]


def test_product_title_is_the_sku_key(tmp_path):
    res = _read(tmp_path, "订单号,下单时间,宝贝标题,宝贝总数量\nA1,2026-09-01,有机菜心,2\n")
    assert res.lines.select("sku", "product_name").row(0) == ("有机菜心", "有机菜心")
    assert "product name" in res.reports[0].sku_note
    # an empty SKU cell with the title there: the title is the key for that line
    res = _read(tmp_path, "订单号,下单时间,商品编码,商品名称,数量\nA1,2026-09-01,,鲜牛奶,1\nA2,2026-09-01,K2,苹果,1\n")
    assert res.lines["sku"].to_list() == ["鲜牛奶", "K2"] and res.quarantined == 0


def test_neither_sku_nor_product_is_one_line_per_order(tmp_path):
    res = _read(tmp_path, "订单编号,订单创建时间,总金额\n1,2020-02-21 00:00:00,178.8\n2,2020-02-21 00:01:00,21\n")
    assert res.accepted == 2
    assert res.lines["line_no"].to_list() == [1, 1] and res.lines["sku"].null_count() == 2
    assert res.reports[0].one_line_per_order


def test_blank_quantity_is_fine_on_a_cancelled_or_returned_line_only(tmp_path):
    res = _read(tmp_path, "订单号,下单时间,商品编码,数量,订单状态\n"
                          "A1,2026-09-01,K1,,已取消\n"
                          "A2,2026-09-01,K1,,退货完成\n"
                          "A3,2026-09-01,K1,,已付款\n"
                          "A4,2026-09-01,K1,3,已付款\n")
    assert res.lines["order_id"].to_list() == ["A1", "A2", "A4"]
    assert res.lines["state"].to_list() == ["cancelled", "returned", "paid"]
    assert res.quarantine["reason"].to_list() == ["数量为空（订单未取消或退货）: 数量 (quantity)"]


def test_buyer_is_canonical_and_identifies_orders_without_a_number(tmp_path):
    res = _read(tmp_path, "买家会员名,订单创建时间,宝贝标题,宝贝总数量\n"
                          "tb_a,2018-06-08 19:33:32,书,1\n"
                          "tb_b,2018-06-08 19:33:32,书,1\n"
                          "tb_a,2018-06-09 10:00:00,书,2\n")
    assert res.lines["buyer_id"].to_list() == ["tb_a", "tb_b", "tb_a"]
    ids = res.lines["order_id"].to_list()
    assert len(set(ids)) == 3 and ids[0].startswith("tb_a@2018-06-08")
    assert any("buyer and order time" in n for n in res.reports[0].notes)


def test_no_order_number_and_no_buyer_is_a_missing_required_field(tmp_path):
    res = _read(tmp_path, "下单时间,商品名称,备注\n2026-09-01,苹果,7\n")
    assert res.accepted == 0 and res.quarantined == 1
    assert list(res.reports[0].missing_required) == ["order_id"]


def test_only_two_fields_make_a_valid_file(tmp_path):
    res = _read(tmp_path, "Order ID,Order Date\nX1,2026-09-01 10:00\n")
    row = res.lines.row(0, named=True)
    assert (row["order_id"], row["created_at"], row["store_id"]) == ("X1", datetime(2026, 9, 1, 10), "default")
