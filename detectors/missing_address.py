"""missing_address: a delivery address that can't be delivered to.

Domestic orders need province, city, district, street address, consignee and a phone that is
an 11-digit mainland mobile (1[3-9]xxxxxxxxx, +86 allowed) or a landline with its area code
(0xx-xxxxxxxx, an extension allowed: ``contracts.phones``) — where an export keeps the
landline in a column of its own beside the mobile (手机 and 固话), the reader has already
taken whichever of the two holds a valid number; overseas orders need street address, consignee, country and postcode.
A source that carries no address data at all (no consignee, phone or address column in the
whole file, e.g. a wholesale invoice list) is not judged: absent is not the same as missing.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from contracts.phones import phone_digits, valid_phone
from detectors.base import DetectContext, Detector, Parts, any_by
from detectors.common import order_subject

FEATURES = {
    "missing_count": "缺失的地址要素个数",
    "missing_fields": "缺失的地址要素",
    "phone_invalid": "电话无效（1 是 / 0 否）",
    "overseas": "境外地址（1 是 / 0 否）",
    "phone": "联系电话（原文）",
}
PARAMS: dict[str, Any] = {}

LABELS = {"province": "省", "city": "市", "district": "区县", "address": "详细地址",
          "consignee": "收货人", "phone": "电话", "country": "国家", "postcode": "邮编"}
DOMESTIC = ("province", "city", "district", "address", "consignee")
OVERSEAS = ("address", "consignee", "country", "postcode")
CHINA = ["中国", "中国大陆", "中华人民共和国", "china", "cn", "prc", "people's republic of china"]

def _blank(name: str) -> pl.Expr:
    return pl.col(name).is_null() | (pl.col(name).str.strip_chars() == "")


def _compute(ctx: DetectContext, p: dict[str, Any]) -> pl.LazyFrame:
    # a file with no consignee, phone or address anywhere carries no address data at all
    has_address = pl.any_horizontal([pl.col(f).is_not_null() for f in ("consignee", "phone", "address")])
    files = ctx.platform("files_with_address", Parts(lambda c: c.orders.filter(pl.col("_in_batch"))
                         .group_by("source_file").agg(has_address.any().alias("_file_has_address")),
                         any_by("source_file", "_file_has_address")))
    orders = (ctx.orders.filter(pl.col("_in_batch")).join(files, on="source_file", how="left", nulls_equal=True)
              .filter(pl.col("_file_has_address")))
    overseas = (~_blank("country") & ~pl.col("country").str.strip_chars().str.to_lowercase().is_in(CHINA))
    digits = phone_digits()
    phone_ok = valid_phone()
    phone_ok_overseas = digits.str.count_matches(r"\d") >= 6
    missing = [
        pl.when(pl.col("_overseas")).then(pl.lit(f in OVERSEAS) & _blank(f))
        .otherwise(pl.lit(f in DOMESTIC) & _blank(f)).alias(f"_m_{f}")
        for f in ("province", "city", "district", "address", "consignee", "country", "postcode")
    ]
    names = pl.concat_str(
        [pl.when(pl.col(f"_m_{f}")).then(pl.lit(LABELS[f])) for f in
         ("province", "city", "district", "address", "consignee", "country", "postcode")],
        separator="、", ignore_nulls=True,
    )
    invalid = pl.when(pl.col("_overseas")).then(~phone_ok_overseas.fill_null(False)).otherwise(~phone_ok.fill_null(False))
    return (
        orders.with_columns(overseas.alias("_overseas"))
        .with_columns(*missing, invalid.alias("_phone_invalid"))
        .select(
            order_subject().alias("subject"), "store_id", "store_name", "order_id",
            pl.col("created_at").alias("occurred_at"),
            pl.sum_horizontal(pl.col("^_m_.*$").cast(pl.Int32)).alias("missing_count"),
            names.alias("missing_fields"),
            pl.col("_phone_invalid").cast(pl.Int8).alias("phone_invalid"),
            pl.col("_overseas").cast(pl.Int8).alias("overseas"),
            "phone",
        )
    )


DETECTOR = Detector(
    name="missing_address",
    title_zh="收货地址缺失或无效",
    params=PARAMS,
    features=lambda p: FEATURES,
    grain=lambda p: "order",
    compute=_compute,
    reason_zh=lambda p: "订单{order_id}收货信息不完整：缺少{missing_fields}；电话“{phone}”无效={phone_invalid}",
    needs=lambda p: (("consignee", "phone", "address"),),
    from_state=lambda p, state: True,     # the batch's orders only
)
