"""A contact phone is a mainland mobile or a landline with its area code, however it is written
(dashes, spaces, brackets, an extension).  On main a landline with an extension (0571-88886666-123,
转 123) was an invalid phone, and the reader never looked at a landline column beside the mobile."""

from __future__ import annotations

import polars as pl
import pytest

from contracts.phones import contact_phone, valid_phone
from tests.factories import context, line
from tests.test_detectors import run

VALID = ["13812345678", "+86 138 1234 5678", "010-12345678", "0571 8888 6666", "(0791)27139595",
         "0571-88886666-123", "0571-88886666转123", "021-6666-8888 ext. 12", "400-800-1234"]
INVALID = ["1381234567", "12345", "8765", "0571-1234", "88886666", "0791-271395951"]


@pytest.mark.parametrize("phone", VALID)
def test_valid(phone):
    assert pl.select(valid_phone(pl.lit(phone))).item() is True


@pytest.mark.parametrize("phone", INVALID)
def test_invalid(phone):
    assert pl.select(valid_phone(pl.lit(phone))).item() is False


def test_the_contact_is_the_valid_one_of_two_columns():
    df = pl.DataFrame({"m": ["13812345678", None, "", "1381234", "1381234", None],
                       "t": ["020-87654321", "020-87654321", "020-87654321", "020-87654321", "99", None]})
    got = df.select(contact_phone(pl.col("m"), pl.col("t"))).to_series().to_list()
    assert got == ["13812345678", "020-87654321", "020-87654321", "020-87654321", "1381234", None]


def test_an_extension_does_not_make_an_address_incomplete():
    full = {"consignee": "张三", "province": "浙江省", "city": "杭州市", "district": "西湖区", "address": "文三路1号"}
    out = run("missing_address", context([line("O1", phone="0571-88886666-123", **full),
                                          line("O2", phone="0571-8888", **full)])).sort("order_id")
    assert out["phone_invalid"].to_list() == [0, 1]
