"""A marketplace's one-text address (收货地址) is split into province, city and district from its
start; what is left is the street.  On main an address that was nothing but region names
(``辽宁省 沈阳市 铁西区``: no street) kept its text as the street, and a street ending in 小区
(``金桥路86号小区``) was read as the district, so neither order was judged incomplete."""

from __future__ import annotations

import polars as pl

from ingest.columns import split_address
from tests.factories import context, line
from tests.test_detectors import run


def test_the_street_is_what_follows_the_region():
    df = pl.DataFrame({"address": ["辽宁省 沈阳市 铁西区", "广西壮族自治区 南宁市 金桥路86号小区22号楼",
                                   "河北省 唐山市 路南区 新华道2号", "黑龙江省哈尔滨市道里区中央大街1号", "福建省 福州市 鼓楼区 东明路287号家园15号楼"]})
    out = split_address(df)
    assert out["address"].to_list()[0] is None
    assert out.select("province", "city", "district").rows() == [
        ("辽宁省", "沈阳市", "铁西区"), ("广西壮族自治区", "南宁市", None), ("河北省", "唐山市", "路南区"),
        ("黑龙江省", "哈尔滨市", "道里区"), ("福建省", "福州市", "鼓楼区")]


def test_an_address_without_a_street_or_a_district_is_incomplete():
    parts = split_address(pl.DataFrame({"address": ["辽宁省 沈阳市 铁西区", "广西壮族自治区 南宁市 金桥路86号小区22号楼",
                                                    "河北省 唐山市 路南区 新华道2号"]}))
    batch = [line(f"O{i}", consignee="张三", phone="13812345678", **r) for i, r in enumerate(parts.iter_rows(named=True))]
    out = run("missing_address", context(batch)).sort("order_id")
    assert out["missing_count"].to_list() == [1, 1, 0]
    assert out["missing_fields"].to_list()[:2] == ["详细地址", "区县"]
