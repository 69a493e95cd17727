"""Header recognition on header sets as real systems write them (``tests/header_sets.py``):
every header must get exactly the reading the table gives it, no more, no less."""

from __future__ import annotations

import polars as pl
import pytest

from ingest.profile import profiles
from ingest.recognise import analyse, recognise
from tests.header_sets import SETS

TYPICAL: dict[str, list[str]] = {
    "order_id": ["SO20260901001", "SO20260901002", "SO20260901003"],
    "line_no": ["1", "2", "3"],
    "store_id": ["S0012", "S0345", "S0012"],
    "store_name": ["徐汇店", "浦东店", "徐汇店"],
    "buyer_id": ["buyer_01", "buyer_02", "buyer_03"],
    "consignee": ["张三", "李四", "Jane Doe"],
    "phone": ["13812345678", "13987654321", "021-64871234"],
    "address": ["科技园路1号", "建国路88号", "1 Main St"],
    "province": ["广东省", "浙江省", "上海"],
    "city": ["深圳市", "杭州市", "上海市"],
    "district": ["南山区", "西湖区", "徐汇区"],
    "postcode": ["518000", "310000", "200030"],
    "country": ["中国", "中国", "中国"],
    "status": ["已发货", "交易成功", "待发货"],
    "payment_status": ["paid", "pending", "refunded"],
    "aftersale_status": ["退款成功", "无售后", "退款中"],
    "sku": ["SKU-1001", "SKU-1002", "A-9"],
    "product_name": ["有机菜心 500g", "鲜牛奶 1L", "Office Chair"],
    "quantity": ["2", "1", "12"],
    "tracking_no": ["SF1234567890", "YT9876543210", "ZT5555555555"],
    "currency": ["USD", "USD", "CNY"],
    "payment_method": ["微信支付", "支付宝", "货到付款"],
    "_region": ["广东省 深圳市 南山区", "浙江省 杭州市 西湖区", "上海 上海市 徐汇区"],
}
MONEY = ["12.50", "99.00", "1,234.50"]
TIME = ["2026-09-01 13:05:00", "2026-09-02 08:00:00", "2026-09-03 21:40:10"]
TEXT = ["备注一", "some text", "其他"]


def typical(field: str | None) -> list[str]:
    if field is None:
        return TEXT
    if field in TYPICAL:
        return TYPICAL[field]
    if field.endswith("_at") or field in ("ship_by", "deliver_by"):
        return TIME
    return MONEY  # amounts


def _frame(spec: list[tuple]) -> pl.DataFrame:
    cols = {}
    for item in spec:
        header, field = item[0], item[1]
        samples = item[2] if len(item) > 2 else typical(field)
        if isinstance(samples, str):
            samples = typical(samples)
        cols[header] = [samples[i % len(samples)] or None for i in range(12)]
    return pl.DataFrame(cols, schema={h: pl.String for h in cols})


@pytest.mark.parametrize("system,spec", SETS, ids=[s for s, _ in SETS])
def test_header_set(system, spec):
    frame = _frame(spec)
    headers = frame.columns
    rec = recognise(headers, profiles(frame, headers))
    got = {h: f for f, h in rec.mapping.items()}
    want = {item[0]: item[1] for item in spec}
    wrong = {h: (got.get(h), f) for h, f in want.items() if got.get(h) != f}
    assert not wrong, f"{system}: header -> (got, want): {wrong}"


def test_at_least_forty_systems_and_every_family():
    assert len(SETS) >= 40
    names = " ".join(s for s, _ in SETS)
    for family in ("Taobao", "Tmall", "JD", "Pinduoduo", "Douyin", "Youzan", "WeChat", "Meituan", "Ele.me",
                   "旺店通", "聚水潭", "管家婆", "金蝶", "用友", "吉客云", "Shopify", "WooCommerce", "Amazon",
                   "Magento", "Odoo", "Wayfair", "Olist"):
        assert family in names, family


def test_explicit_columns_always_win():
    frame = pl.DataFrame({"订单号": ["A"], "下单时间": ["2026-09-01"], "备用单号": ["B"]})
    rec = recognise(frame.columns, profiles(frame, frame.columns), {"order_id": "备用单号"})
    assert rec.mapping["order_id"] == "备用单号" and rec.matches["order_id"].how == "config"
    assert "订单号" in rec.unused


def test_tokens_split_every_spelling():
    assert analyse("Order Date & Time").tokens == ("order", "date", "time")
    assert analyse("created_timestamp").tokens == ("created", "timestamp")
    assert analyse("LatestShipDate").tokens == ("latest", "ship", "date")
    assert analyse("amazon-order-id").tokens == ("amazon", "order", "id")
    assert analyse("用户实付金额(元)").joined == "用户实付金额"
    assert analyse("訂單編號").joined == "订单编号"


def test_how_each_field_was_found_is_recorded():
    frame = pl.DataFrame({"订单号": ["A1"], "订单创建时间": ["2026-09-01 10:00"], "收货地址": ["广东省"],
                          "交易情况": ["交易成功"]})
    rec = recognise(frame.columns, profiles(frame, frame.columns))
    assert rec.matches["order_id"].how == "alias"
    assert rec.matches["created_at"].how == "meaning"
    assert rec.matches["province"].how == "value"     # an address column holding provinces only
    assert rec.matches["status"].how == "value"       # a header we don't know, holding status words
