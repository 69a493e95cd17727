"""Order state: status words of the systems users export from, and the times, agree."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from contracts.config import load_config
from ingest import read_orders
from ingest.states import state_expr, word_map, word_state


@pytest.mark.parametrize("word,state", [
    ("等待买家付款", "pending_payment"), ("买家已付款，等待卖家发货", "paid"), ("待发货", "paid"),
    ("等待出库", "paid"), ("待审核", "paid"), ("已审核", "confirmed"), ("打单出库", "picking"),
    ("已打包", "picked"), ("卖家已发货，等待买家确认", "shipped"), ("已发货，待签收", "shipped"),
    ("发货在途", "shipped"), ("已签收", "delivered"), ("交易成功", "completed"), ("已完成", "completed"),
    ("交易关闭", "closed"), ("已取消", "cancelled"), ("被取消", "cancelled"), ("退款中", "refunded"),
    ("已退款", "refunded"), ("未发货，退款成功", "refunded"), ("已退货", "returned"), ("已簽收", "delivered"),
    ("pending", "pending_payment"), ("Pending Payment", "pending_payment"), ("wc-on-hold", "pending_payment"),
    ("processing", "paid"), ("invoiced", "confirmed"), ("approved", "paid"), ("Unshipped", "paid"),
    ("Shipped", "shipped"), ("PartiallyShipped", "shipped"), ("fulfilled", "shipped"),
    ("delivered", "delivered"), ("complete", "completed"), ("completed", "completed"),
    ("canceled", "cancelled"), ("cancelled", "cancelled"), ("Canceled", "cancelled"), ("voided", "cancelled"),
    ("unavailable", "cancelled"), ("Unfulfillable", "cancelled"), ("refunded", "refunded"),
    ("returned", "returned"), ("closed", "closed"),
])
def test_status_words(word, state):
    assert word_state(word) == state


@pytest.mark.parametrize("word", ["订单未关闭", "无售后", "partially_refunded", "unfulfilled", "5", "foo", ""])
def test_words_that_say_nothing(word):
    assert word_state(word) is None


def test_source_map_comes_first():
    assert word_state("3", {"3": "shipped"}) == "shipped"
    assert word_state("已发货", {"已发货": "delivered"}) == "delivered"


def _state(rows: list[dict], payment_column: bool = False) -> list[str | None]:
    df = pl.DataFrame(rows, infer_schema_length=None)
    words = {f: word_map(df[f].unique().to_list()) for f in ("status", "payment_status", "aftersale_status")
             if f in df.columns}
    return df.select(state_expr(df.columns, words, payment_column=payment_column))["state"].to_list()


T = datetime(2026, 9, 1, 13)


def test_a_later_event_implies_the_earlier_ones():
    rows = [
        {"status": "待发货", "shipped_at": T, "delivered_at": None},      # the times know more
        {"status": "已发货", "shipped_at": None, "delivered_at": None},   # the word knows more
        {"status": None, "shipped_at": T, "delivered_at": T},
        {"status": "交易关闭", "shipped_at": T, "delivered_at": None},    # closed ends whatever came before
    ]
    assert _state(rows) == ["shipped", "shipped", "delivered", "closed"]


def test_aftersale_and_refunds_end_the_order():
    rows = [
        {"status": "已发货", "aftersale_status": "退款成功", "refund_amount": 0.0, "paid_amount": 10.0},
        {"status": "已发货", "aftersale_status": "无售后", "refund_amount": 10.0, "paid_amount": 10.0},
        {"status": "已发货", "aftersale_status": "无售后", "refund_amount": 3.0, "paid_amount": 10.0},
    ]
    assert _state(rows) == ["refunded", "refunded", "shipped"]


def test_payment_and_cancel_times():
    rows = [{"paid_at": None, "cancelled_at": None}, {"paid_at": T, "cancelled_at": None},
            {"paid_at": T, "cancelled_at": T}]
    assert _state(rows, payment_column=True) == ["pending_payment", "paid", "cancelled"]


def test_negative_lines_are_returns():
    assert _state([{"quantity": -2.0}, {"quantity": 2.0}]) == ["returned", None]


def test_states_end_to_end_with_raw_status_kept(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("订单号,下单时间,订单状态,发货时间,签收时间\n"
                 "A1,2026-09-01 10:00,交易成功,,\n"
                 "A2,2026-09-01 10:00,待发货,2026-09-01 12:00,\n"
                 "A3,2026-09-01 10:00,Shipped,2026-09-01 12:00,2026-09-02 09:00\n"
                 "A4,2026-09-01 10:00,已关闭,,\n", encoding="utf-8")
    res = read_orders([p], load_config())
    assert res.lines["status"].to_list() == ["交易成功", "待发货", "Shipped", "已关闭"]
    assert res.lines["state"].to_list() == ["completed", "shipped", "delivered", "closed"]
    assert res.reports[0].states == {"completed": 1, "shipped": 1, "delivered": 1, "closed": 1}


def test_unknown_words_are_reported_and_a_source_map_fixes_them(tmp_path):
    p = tmp_path / "erp_codes.csv"
    p.write_text("订单号,下单时间,订单状态\nA1,2026-09-01 10:00,7\nA2,2026-09-01 10:00,11\n", encoding="utf-8")
    res = read_orders([p], load_config())
    assert res.lines["state"].to_list() == [None, None]
    assert res.reports[0].unknown_statuses == {"7": 1, "11": 1}
    cfg = load_config(overrides={"sources": [{"name": "wdgj", "match": "erp_codes*",
                                              "states": {"7": "paid", "11": "completed"}}]})
    res = read_orders([p], cfg)
    assert res.lines["state"].to_list() == ["paid", "completed"]
    assert res.reports[0].unknown_statuses == {}


def test_a_bad_state_in_config_names_the_source():
    from contracts.config import ConfigError
    cfg = load_config(overrides={"sources": [{"name": "x", "states": {"a": "done-ish"}}]})
    with pytest.raises(ConfigError, match=r"sources\[0\] \(x\): states: unknown state\(s\) done-ish"):
        cfg.sources
