"""A 管家婆 / 用友 / 金蝶-style ERP export read with no site config: the counterparty (往来单位)
is the ordering store, the SKU master (商品档案) names its order step and minimum in its own words
(递增量, 起订数量), the store's landline sits in a 固话 column beside an empty 手机, and the
customer master (客户档案) gives each store its credit limit.

On main every one of these went unread: the whole file was one store 'default' (so no store's
limit could apply and every store was compared with every other), the catalog had no step or
minimum (no step mismatch could be found), and every landline-only store was a missing-address
flag."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from contracts.config import load_config
from orderwatch.scan import run_scan

HEAD = "单据编号,录单日期,往来单位编号,往来单位,单据状态,结算方式,商品编号,商品全名,单位,数量,单价,收货人,手机,固话,省,市,区,地址"
ADDRESS = "广东省,广州市,天河区,天河路1号"


def _row(no: str, day: int, store: str, name: str, sku: str, qty: float, price: float, state: str = "已审核",
         pay: str = "货到付款", mobile: str = "13812345678", landline: str = "") -> str:
    return (f"{no},2026-09-{day:02d} 10:00:00,{store},{name},{state},{pay},{sku},商品{sku},箱,{qty:g},{price:g},"
            f"王五,{mobile},{landline},{ADDRESS}")


def _files(tmp_path):
    rows = []
    for d in range(1, 11):            # ten settled orders per store: each store's history
        rows.append(_row(f"XS-H{d}", d, "KH001", "天河区陈记超市", "SP1", 36, 50, state="已签收"))
        rows.append(_row(f"XS-G{d}", d, "KH002", "越秀区李记便利店", "SP1", 12, 50, state="已签收",
                         mobile="", landline="020-87654321"))
    rows += [
        _row("XS-STEP", 12, "KH001", "天河区陈记超市", "SP1", 7, 50),            # 7 is no multiple of 6
        _row("XS-MIN", 12, "KH002", "越秀区李记便利店", "SP2", 1, 80, mobile="", landline="020-87654321"),
        _row("XS-LAND", 13, "KH002", "越秀区李记便利店", "SP1", 12, 50, mobile="", landline="(020)8765-4321 转 12"),
        _row("XS-BADTEL", 13, "KH002", "越秀区李记便利店", "SP1", 24, 50, mobile="", landline="8765"),
        _row("XS-OVER", 14, "KH001", "天河区陈记超市", "SP1", 48, 50),            # 2,400 cash on delivery
    ]
    orders = tmp_path / "销售订单明细表.csv"
    orders.write_bytes(("\n".join([HEAD, *rows]) + "\n").encode("gbk"))
    cat = tmp_path / "商品档案.csv"
    cat.write_bytes("商品编号,商品全名,规格,销售单位,起订数量,递增量,批发价,库存数量\n"
                    "SP1,珠江纯生 500ml,1*12,箱,6,6,50,900\nSP2,汾酒 42度,1*6,瓶,2,2,80,120\n".encode("gbk"))
    master = tmp_path / "客户档案.csv"
    master.write_bytes("客户编号,客户名称,所属片区,信用额度,联系人,联系电话\n"
                       "KH001,天河区陈记超市,华南,2000,陈,13812345678\nKH002,越秀区李记便利店,华南,50000,李,020-87654321\n"
                       .encode("gbk"))
    return orders, cat, master


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("erp")
    orders, cat, master = _files(tmp)
    cfg = load_config(overrides={"instance_dir": str(tmp / "i"), "stores": {"file": str(master)}})
    return run_scan([orders], cfg, catalog=cat, db_url=f"sqlite:///{tmp / 'ow.db'}", as_of=datetime(2026, 9, 14, 20))


def _flagged(res, rule: str) -> dict[str, str]:
    return dict(res.flags.filter(pl.col("rule_id") == rule).select("order_id", "level").iter_rows())


def test_the_counterparty_is_the_store(scanned):
    fields = {f.field: f.header for f in scanned.reports[0].fields if f.header}
    assert fields["store_id"] == "往来单位编号" and fields["store_name"] == "往来单位"
    assert set(scanned.flags["store_id"]) <= {"KH001", "KH002"}


def test_step_and_minimum_from_the_catalogs_own_words(scanned):
    assert _flagged(scanned, "qty_step_mismatch").keys() == {"XS-STEP", "XS-MIN"}


def test_a_landline_beside_an_empty_mobile_is_a_contact(scanned):
    missing = _flagged(scanned, "address_incomplete")
    assert "XS-LAND" not in missing and "XS-MIN" not in missing          # 020-87654321, with an extension
    assert not any(o.startswith("XS-G") for o in missing)                 # the landline store's history
    assert "XS-BADTEL" in missing                                        # "8765" is no phone number
    report = scanned.reports[0]
    assert "固话" not in report.unused and any(f.field == "phone" and f.header == "固话" for f in report.fields)


def test_the_customer_masters_limit_applies_to_the_counterparty(scanned):
    assert _flagged(scanned, "store_credit_limit") == {"XS-OVER": "critical"}   # 2,400 against 2,000
