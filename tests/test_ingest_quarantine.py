"""Nothing is dropped silently: quarantine reasons, raw rows and line numbers."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from contracts import schema
from contracts.config import load_config
from ingest import read_catalog, read_orders

HEADER = "订单号,门店编号,下单时间,商品编码,数量,单价,备注"


@pytest.fixture
def cfg():
    return load_config()


def write(tmp_path: Path, name: str, text: str, encoding="utf-8") -> Path:
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def check_invariant(res):
    for f in res.files:
        assert f.read == f.accepted + f.quarantined
    assert res.read == res.lines.height + res.quarantine.height
    all_lines = res.lines["source_line"].to_list() + res.quarantine["line"].to_list()
    assert len(all_lines) == len(set(zip(
        res.lines["source_file"].to_list() + res.quarantine["source_file"].to_list(), all_lines)))
    assert res.quarantine.schema == pl.Schema(schema.QUARANTINE)


def test_ragged_rows_short_and_long(tmp_path, cfg):
    text = (HEADER + "\n"
            "A1,S1,2026-09-01,K1,1,2,ok\n"        # 2
            "A2,S1,2026-09-01,K1\n"               # 3: 4 fields
            "\n"                                   # 4: blank, not a record
            "A3,S1,2026-09-01,K1,1,2,x,extra\n"   # 5: 8 fields
            "A4,S1,2026-09-01,K1,1,2,\n"          # 6: empty last value is fine
            '"A,5",S1,2026-09-01,K1,1\n'          # 7: quoted comma, 5 fields
            "A6,S1,2026-09-01,K1,1,2,end\n")      # 8
    res = read_orders([write(tmp_path, "r.csv", text)], cfg)
    check_invariant(res)
    assert res.lines["source_line"].to_list() == [2, 6, 8]
    q = res.quarantine
    assert q["line"].to_list() == [3, 5, 7]
    assert q["reason"].to_list() == [
        "列数不符: 期望 7 列，实际 4 列",
        "列数不符: 期望 7 列，实际 8 列",
        "列数不符: 期望 7 列，实际 5 列",
    ]
    assert q["raw"].to_list() == ["A2,S1,2026-09-01,K1", "A3,S1,2026-09-01,K1,1,2,x,extra",
                                  '"A,5",S1,2026-09-01,K1,1']
    assert res.read == 6


def test_quoted_newlines_keep_physical_line_numbers(tmp_path, cfg):
    text = (HEADER + "\n"
            'A1,S1,2026-09-01,K1,1,2,"line one\nline two"\n'   # 2-3
            "A2,S1,2026-09-01,K1,1,2,plain\n"                  # 4
            'A3,S1,2026-09-01,K1,1,"a\nb\nc"\n'                # 5-7: ragged, 6 fields
            "A4,S1,2026-09-01,K1,1,2,x\r\n"                    # 8
            "A5,S1\n")                                         # 9
    res = read_orders([write(tmp_path, "nl.csv", text)], cfg)
    check_invariant(res)
    assert res.lines["source_line"].to_list() == [2, 4, 8]
    assert res.lines["order_id"].to_list() == ["A1", "A2", "A4"]
    assert res.quarantine["line"].to_list() == [5, 9]
    assert res.quarantine["raw"][0] == 'A3,S1,2026-09-01,K1,1,"a\nb\nc"'
    assert "实际 6 列" in res.quarantine["reason"][0]


def test_bad_quoting_uses_lenient_path(tmp_path, cfg):
    text = HEADER + "\n" + 'A1,S1,2026-09-01,K1,1,2,"ab"c\n' + "A2,S1,2026-09-01,K1,1,2,x\n"
    res = read_orders([write(tmp_path, "q.csv", text)], cfg)
    check_invariant(res)
    assert res.lines["source_line"].to_list() == [2, 3]


def test_missing_required_column_quarantines_every_row(tmp_path, cfg):
    # no order time: every row is quarantined, with a short reason; the report has one line
    # naming the field and the closest unused header
    text = "订单号,门店编号,日子,商品编码,单价\nA1,S1,2026-09-01,K1,2\nA2,S1,2026-09-01,K2,3\n"
    res = read_orders([write(tmp_path, "m.csv", text)], cfg)
    check_invariant(res)
    assert res.lines.height == 0
    assert res.quarantine["line"].to_list() == [2, 3]
    assert set(res.quarantine["reason"]) == {"文件缺少必需列: 下单时间 (created_at)（见扫描摘要）"}
    assert json.loads(res.quarantine["raw"][1]) == {
        "订单号": "A2", "门店编号": "S1", "日子": "2026-09-01", "商品编码": "K2", "单价": "3"}
    report = res.reports[0]
    assert list(report.missing_required) == ["created_at"]
    assert report.missing_required["created_at"][0] == "日子"
    line = report.missing_line()
    assert line.count("\n") == 0 and "created_at" in line and "日子" in line


def test_store_and_quantity_are_no_longer_required(tmp_path, cfg):
    text = "订单号,下单时间,商品编码,单价\nA1,2026-09-01,K1,2\nA2,2026-09-01,K2,3\n"
    res = read_orders([write(tmp_path, "m.csv", text)], cfg)
    assert res.accepted == 2 and res.quarantined == 0
    assert res.lines["store_id"].to_list() == ["default", "default"]
    assert res.lines["quantity"].to_list() == [None, None]
    assert "one store" in res.reports[0].store_note


def test_unparsable_strict_and_empty_required(tmp_path, cfg):
    text = (HEADER + "\n"
            "A1,S1,2026-09-01,K1,abc,2,\n"          # 2: quantity unparsable
            "A2,,2026-09-01,K1,1,x,\n"              # 3: store empty + price unparsable
            "A3,S1,not a date,K1,1,2,\n"            # 4: created_at unparsable
            "A4,S1,2026-09-01,K1,1,2,\n")           # 5: fine
    res = read_orders([write(tmp_path, "s.csv", text)], cfg)
    check_invariant(res)
    assert res.lines["order_id"].to_list() == ["A4"]
    q = dict(zip(res.quarantine["line"].to_list(), res.quarantine["reason"].to_list()))
    assert q[2] == "数量无法解析: 'abc' (quantity)"
    assert q[3] == "必填字段为空: 门店编号 (store_id)；单价无法解析: 'x' (unit_price)"
    assert q[4] == "下单时间无法解析: 'not a date' (created_at)"
    raw = json.loads(res.quarantine.filter(pl.col("line") == 3)["raw"][0])
    # empty cells are null in raw, whatever the format
    assert raw == {"订单号": "A2", "门店编号": None, "下单时间": "2026-09-01", "商品编码": "K1",
                   "数量": "1", "单价": "x", "备注": None}


def test_non_strict_field_is_lenient(tmp_path):
    cfg = load_config(overrides={"ingest": {"strict_fields": ["quantity"]}})
    text = HEADER + "\nA1,S1,2026-09-01,K1,1,oops,\n"
    res = read_orders([write(tmp_path, "n.csv", text)], cfg)
    assert res.accepted == 1 and res.lines["unit_price"].to_list() == [None]


def test_catalog(tmp_path, cfg):
    text = ("商品编码,商品名称,订货步长,最小起订量,标准单价,是否生鲜,库存\n"
            "K1,苹果,6,12,￥3.5,是,100\n"         # 2 superseded by 5
            ",无编码,1,1,1,否,1\n"                # 3
            "K2,牛奶,1,1,8,否,abc\n"              # 4 stock unparsable
            "K1,苹果(新),12,24,3.8,Y,90\n"        # 5
            "K3,面包,1,1,5,N,\n")                 # 6
    cat, q = read_catalog(write(tmp_path, "cat.csv", text, "gbk"), cfg)
    assert cat.schema == pl.Schema(schema.CATALOG)
    assert cat["sku"].to_list() == ["K1", "K3"]
    assert cat.row(0) == ("K1", "苹果(新)", 12.0, 24.0, 3.8, True, 90.0)
    assert cat["fresh"].to_list() == [True, False]
    reasons = dict(zip(q["line"].to_list(), q["reason"].to_list()))
    assert reasons == {
        2: "SKU 重复: 'K1'，以第 5 行为准",
        3: "必填字段为空: 商品编码 (sku)",
        4: "库存无法解析: 'abc' (stock)",
    }


def test_catalog_english_headers_xlsx(tmp_path, cfg):
    p = tmp_path / "cat.xlsx"
    pl.DataFrame({"StockCode": ["85123A", "71053"], "Description": ["HEART", "LANTERN"],
                  "Pack Size": [6, 12], "MOQ": [6, 12], "List Price": [2.55, 3.39],
                  "Is Fresh": ["false", "true"], "Stock": [100, 0]}).write_excel(p)
    cat, q = read_catalog(p, cfg)
    assert q.height == 0
    assert cat.rows() == [("85123A", "HEART", 6.0, 6.0, 2.55, False, 100.0),
                          ("71053", "LANTERN", 12.0, 12.0, 3.39, True, 0.0)]


def test_whitespace_only_and_padded_keys(tmp_path, cfg):
    text = (HEADER + "\n"
            " A1 ,\tS1 ,2026-09-01, K1 , 2 ,2,\n"   # 2: padded keys and quantity
            "A2,   ,2026-09-01,K1,1,2,\n"           # 3: whitespace-only store
            "A3,S1,2026-09-01,K1,  ,2,\n")          # 4: whitespace-only quantity
    res = read_orders([write(tmp_path, "w.csv", text)], cfg)
    check_invariant(res)
    assert res.lines.select("order_id", "store_id", "sku", "quantity").row(0) == ("A1", "S1", "K1", 2.0)
    q = dict(zip(res.quarantine["line"].to_list(), res.quarantine["reason"].to_list()))
    assert q == {3: "必填字段为空: 门店编号 (store_id)", 4: "数量为空（订单未取消或退货）: 数量 (quantity)"}


def test_glob_characters_in_file_name(tmp_path, cfg):
    p = write(tmp_path, "orders[1]*.csv", HEADER + "\nA1,S1,2026-09-01,K1,1,2,\n")
    write(tmp_path, "orders1x.csv", HEADER + "\nZZ,S1,2026-09-01,K1,1,2,\n")
    res = read_orders([p], cfg)
    assert res.lines["order_id"].to_list() == ["A1"]


@pytest.mark.parametrize("long_row", [True, False])
def test_fast_path_and_csv_module_path_agree(tmp_path, long_row):
    """Same records, line numbers and rejects from polars (fast) and the csv module."""
    from ingest.readers import python_csv, read_table

    text = (HEADER + "\n"
            'A1,S1,2026-09-01,K1,1,2,"has, comma"\n'
            "A2,S1,2026-09-01,K1,1,2,\n"
            "\n"
            "A3,S1\n"
            'A4,S1,2026-09-01,K1,1,2,"say ""hi"""\n'
            + ("A5,S1,2026-09-01,K1,1,2,x,y\n" if long_row else "A5,S1,2026-09-01,K1,1,2,x\n")
            + "A6,,,,,,\n")
    p = write(tmp_path, "same.csv", text)
    fast = read_table(p)
    slow = python_csv(text, ",")
    assert fast.frame.equals(slow.frame)
    assert fast.bad.equals(slow.bad)
    assert fast.bad["line"].to_list() == ([5, 7] if long_row else [5])
    assert fast.frame["_line"].to_list() == ([2, 3, 6, 8] if long_row else [2, 3, 6, 7, 8])


def test_row_with_no_order_in_it_is_said_as_such(tmp_path, cfg):
    """A membership or service record mixed into an order export (no time, no state, no
    quantity) is quarantined as 'not an order line', once; a row that lacks only its time is
    still told which field is empty."""
    text = ("订单编号,门店编号,下单时间,订单状态,商品编码,数量,金额\n"
            "A1,S1,2026-09-01 10:00,已发货,K1,2,20\n"
            "A2,S1,,,会员卡,,99\n"                     # 3: a record, not an order
            "A3,S1,,已发货,K1,1,10\n")                 # 4: an order without its time
    res = read_orders([write(tmp_path, "m.csv", text)], cfg)
    check_invariant(res)
    q = dict(zip(res.quarantine["line"].to_list(), res.quarantine["reason"].to_list()))
    assert q[3].startswith("不是订单行") and "必填字段" not in q[3]
    assert q[4] == "必填字段为空: 下单时间 (created_at)"
    assert res.lines["order_id"].to_list() == ["A1"]


def test_one_text_address_gives_province_city_district(tmp_path, cfg):
    """Marketplaces export 收货地址 as one text: its start names the province, city and district
    (a municipality is its own city); an address without them leaves them empty."""
    text = ("订单编号,门店编号,下单时间,商品编码,数量,收货人姓名,联系手机,收货地址\n"
            "A1,S1,2026-09-01 10:00,K1,2,陶梓英,18363912518,江西省 南昌市 东湖区 嵩山路71号\n"
            "A2,S1,2026-09-01 10:00,K1,2,卫涵华,15329046888,上海市浦东新区世纪大道1号\n"
            "A3,S1,2026-09-01 10:00,K1,2,朱轩华,19950877403,嵩山路71号\n")
    res = read_orders([write(tmp_path, "a.csv", text)], cfg)
    rows = res.lines.sort("order_id").select("province", "city", "district").rows()
    assert rows == [("江西省", "南昌市", "东湖区"), ("上海市", "上海市", "浦东新区"), (None, None, None)]
