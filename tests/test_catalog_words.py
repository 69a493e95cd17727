"""A SKU master is read by the meaning of its headers, in whatever words its ERP uses for the
order step (递增量, 箱规, 装箱数, Order Multiple, Case Pack …), the minimum (起订数量, 最小起订量,
MOQ …) and the price a store pays (批发价, 配送价, Wholesale Price …).  On main only the exact
aliases were known, so a 管家婆 商品档案 gave a catalog without steps or minimums and no step
mismatch could ever be found in its orders."""

from __future__ import annotations

import pytest

from contracts.config import load_config
from ingest.catalog import read_catalog

DIALECTS = {
    "管家婆 商品档案": ("商品编号,商品全名,规格,销售单位,起订数量,递增量,批发价,库存数量",
                    {"sku": "商品编号", "product_name": "商品全名", "min_order_qty": "起订数量",
                     "order_step": "递增量", "list_price": "批发价", "stock": "库存数量"}),
    "chain 商品资料": ("货号,品名,装箱数,最低起订量,配送价,成本价,是否生鲜",
                    {"sku": "货号", "product_name": "品名", "order_step": "装箱数", "min_order_qty": "最低起订量",
                     "list_price": "配送价", "fresh": "是否生鲜"}),
    "用友 存货档案": ("存货编码,存货名称,计量单位,订货倍数,最小订货量,参考售价,现存量",
                  {"sku": "存货编码", "product_name": "存货名称", "order_step": "订货倍数",
                   "min_order_qty": "最小订货量", "list_price": "参考售价", "stock": "现存量"}),
    "English wholesale": ("Item Number,Description,Case Pack,Min Order Qty,Wholesale Price,Cost Price,Qty On Hand",
                          {"sku": "Item Number", "product_name": "Description", "order_step": "Case Pack",
                           "min_order_qty": "Min Order Qty", "list_price": "Wholesale Price", "stock": "Qty On Hand"}),
    "English with multiple": ("SKU,Product Title,Order Multiple,MOQ,Unit Price",
                              {"sku": "SKU", "product_name": "Product Title", "order_step": "Order Multiple",
                               "min_order_qty": "MOQ", "list_price": "Unit Price"}),
}
VALUES = {"sku": "A1", "product_name": "珠江纯生", "order_step": "6", "min_order_qty": "12", "list_price": "50.5",
          "stock": "100", "fresh": "否"}


@pytest.mark.parametrize("name", sorted(DIALECTS))
def test_catalog_headers_by_meaning(tmp_path, name):
    header, want = DIALECTS[name]
    heads = header.split(",")
    field_of = {h: f for f, h in want.items()}
    row = ",".join(VALUES.get(field_of.get(h, ""), "9.9" if "价" in h or "Price" in h else "x") for h in heads)
    p = tmp_path / "cat.csv"
    p.write_text(f"{header}\n{row}\n", encoding="utf-8")
    cat, quarantine = read_catalog(p, load_config())
    assert quarantine.height == 0
    got = cat.row(0, named=True)
    for f in ("order_step", "min_order_qty", "list_price"):
        if f in want:
            assert got[f] == float(VALUES[f]), (name, f, got)
    assert got["sku"] == "A1" and got["product_name"] == "珠江纯生"


def test_a_purchase_cost_is_not_the_price_and_a_unit_is_not_the_step(tmp_path):
    p = tmp_path / "cat.csv"
    p.write_text("商品编号,商品名称,进货价,计量单位,包装单位\nA1,水,2.5,瓶,箱\n", encoding="utf-8")
    cat, _ = read_catalog(p, load_config())
    row = cat.row(0, named=True)
    assert row["list_price"] is None and row["order_step"] is None


def test_words_that_are_not_numbers_do_not_make_a_step(tmp_path):
    p = tmp_path / "cat.csv"
    p.write_text("商品编号,商品名称,装箱数\nA1,水,1*24\n", encoding="utf-8")  # a pack text, not a number
    cat, quarantine = read_catalog(p, load_config())
    assert quarantine.height == 0 and cat.row(0, named=True)["order_step"] is None
