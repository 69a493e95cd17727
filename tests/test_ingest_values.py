"""Value normalisation: every amount form, booleans, and values end to end (dates: test_dates.py)."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from contracts.config import load_config
from ingest import read_orders
from ingest.values import parse_bool, parse_number

TZ = "Asia/Shanghai"
T = datetime(2026, 9, 1, 13, 5)


@pytest.mark.parametrize("text,expected", [
    ("1234.5", 1234.5), ("¥1,234.50", 1234.5), ("1234.5元", 1234.5), ("￥ 12", 12.0),
    ("１２３", 123.0), ("-3", -3.0), ("RMB 8.8", 8.8), ("1，000", 1000.0), ("  7 ", 7.0),
    ("(12.50)", -12.5), ("12.50-", -12.5), ("$1,234.56", 1234.56), ("R$ 1.234,56", 1234.56),
    ("€ 12,5", 12.5), ("USD 99", 99.0), ("CNY 1,000.00", 1000.0), ("99元", 99.0), ("1.234.567", 1234567.0),
    ("2件", 2.0),
])
def test_amount_forms(text, expected):
    out, failed = parse_number(pl.Series([text]))
    assert out.to_list() == [expected] and failed.to_list() == [False]


@pytest.mark.parametrize("text", ["abc", "nan", "inf", "1.2.3", "--1", "(abc)"])
def test_unparsable_amounts(text):
    out, failed = parse_number(pl.Series([text, None]))
    assert out.to_list() == [None, None]
    assert failed.to_list() == [True, False]


def test_bools():
    out, failed = parse_bool(pl.Series(["是", "否", "Y", "n", "TRUE", "false", "1", "0", "1.0", "maybe", None]))
    assert out.to_list() == [True, False, True, False, True, False, True, False, True, None, None]
    assert failed.to_list() == [False] * 9 + [True, False]


def test_value_forms_end_to_end(tmp_path):
    header = "订单号,门店编号,下单时间,支付时间,商品编码,数量,单价,金额,订单金额,实付金额,订单状态"
    # "¥1,234.50" contains the separator: quoted, as a real export writes it
    rows = ['A1, S1 ,2026/9/1 13:05,2026-09-01T05:06:00Z,K1,２,"¥1,234.50",1234.5元,￥ 12,１２３,']
    p = tmp_path / "v.csv"
    p.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    res = read_orders([p], load_config())
    r = res.lines.row(0, named=True)
    assert r["store_id"] == "S1"  # stripped
    assert r["created_at"] == T
    assert r["paid_at"] == datetime(2026, 9, 1, 13, 6)
    assert (r["quantity"], r["unit_price"], r["line_amount"]) == (2.0, 1234.5, 1234.5)
    assert (r["order_amount"], r["paid_amount"]) == (12.0, 123.0)
    assert r["status"] is None  # the source has a status column: no cancel inference


def test_cancel_pattern_and_line_no_positions(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,StockCode,Quantity\n"
        "C536379,14527,2010-12-01 09:41,D,-1\n"
        "536380,14527,2010-12-01 09:41,K,1\n"
        "C536379,14527,2010-12-01 09:41,POST,-1\n",
        encoding="utf-8",
    )
    res = read_orders([p], load_config())
    assert res.lines["status"].to_list() == ["cancelled", None, "cancelled"]
    assert res.lines["line_no"].to_list() == [1, 1, 2]
    assert res.lines["source"].to_list() == ["default"] * 3
    # POST is a fee only for sources that say so
    src = load_config().source_for("online_retail_x.csv")
    assert "POST" in src.non_goods_skus
    q = tmp_path / "online_retail_x.csv"
    q.write_text(p.read_text(encoding="utf-8"), encoding="utf-8")
    assert read_orders([q], load_config()).lines["goods"].to_list() == [False, True, False]
