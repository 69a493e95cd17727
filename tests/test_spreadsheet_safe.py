"""The CSV files people open in a spreadsheet never run what an export said (OWASP's CSV
injection): a consignee ``=HYPERLINK(…)`` or a raw quarantined row ``@SUM(…)`` arrives as text."""

from __future__ import annotations

import polars as pl
import pytest

from orderwatch.cli import main
from orderwatch.spreadsheet import inert


@pytest.mark.parametrize("value, shown", [
    ("=HYPERLINK(\"http://x\",\"点我\")", "'=HYPERLINK(\"http://x\",\"点我\")"),
    ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
    ("@SUM(1+1)", "'@SUM(1+1)"),
    ("\t=1+1", "'\t=1+1"),
    ("-2+3", "'-2+3"),
    ("+86 138 0013 8000", "'+86 138 0013 8000"),
    ("-5", "-5"), ("+12.5", "+12.5"), ("-1e3", "-1e3"),       # plain numbers stay numbers
    ("张三", "张三"), ("a=b", "a=b"), ("", ""), (None, None),
])
def test_text_a_spreadsheet_would_run_is_made_inert(value, shown):
    out = inert(pl.DataFrame({"t": [value], "n": [-3]}, schema={"t": pl.String, "n": pl.Int64}))
    assert out.row(0) == (shown, -3)                             # numbers are not text: untouched


def test_the_flags_and_quarantine_files_of_a_scan_are_inert(tmp_path, site_config):
    orders = tmp_path / "o.csv"
    orders.write_text(
        "订单号,门店编号,门店名称,下单时间,商品编码,数量,收货人,手机,省,市,区,详细地址\n"
        "A1,MD1,=HYPERLINK(\"http://evil\"),2026-09-01 10:00,SP1,5,张三,1380013,广东省,深圳市,南山区,科技园1号\n"
        "A2,MD1,店,not a time,SP1,@SUM(A1:A9),张三,13800138000,广东省,深圳市,南山区,科技园1号\n",
        encoding="utf-8")
    flags, quarantine = tmp_path / "flags.csv", tmp_path / "quarantine.csv"
    assert main(["scan", str(orders), "--out", str(flags), "--quarantine", str(quarantine),
                 "--as-of", "2026-09-01 12:00:00"]) == 0
    names = pl.read_csv(flags, infer_schema=False)["store_name"].to_list()
    assert names == ["'=HYPERLINK(\"http://evil\")"]              # the phone flag of A1, its store's name inert
    raw = pl.read_csv(quarantine, infer_schema=False)["raw"].to_list()
    assert raw and all(not r.startswith(("=", "+", "-", "@")) for r in raw)
    assert any("@SUM(A1:A9)" in r for r in raw)                 # kept whole, only made inert
