"""``orderwatch inspect`` says what a scan would understand, without scanning; the scan summary
says the same after its counts."""

from __future__ import annotations

import yaml

from orderwatch.cli import main

TEXT = ("订单编号,订单创建时间,收货地址,买家实际支付金额,日期备注,交易情况,状态码\n"
        "1,2020-02-21 00:00:00,上海,21,x,交易成功,7\n"
        "2,2020-02-21 00:01:00,广东省,37,y,交易关闭,7\n")


def _snippet(out: str) -> dict:
    return yaml.safe_load(out[out.index("sources:"):])


def test_inspect_prints_fields_samples_and_a_sources_snippet(tmp_path, site_config, capsys):
    p = tmp_path / "tmall_report1.csv"
    p.write_text(TEXT, encoding="utf-8")
    assert main(["inspect", str(p)]) == 0
    out = capsys.readouterr().out
    assert "tmall_report1.csv: CSV, utf-8, comma-separated; 2 rows" in out
    assert "订单创建时间" in out and "meaning" in out and "2020-02-21 00:00:00" in out      # a sample value
    assert "province" in out and "values" in out                                            # 收货地址 by its values
    assert "unused 未用: 日期备注" in out and "状态码" in out
    assert "not judged 不判断:" in out and "volume_surge (line) (needs sku, quantity)" in out
    assert "backfill" in out and "2 read = 2 accepted + 0 quarantined" in out
    snip = _snippet(out)["sources"][0]
    assert snip["match"] == "tmall_report*.csv"
    assert snip["columns"] == {"province": "收货地址", "status": "交易情况"}   # the ambiguous ones, chosen
    assert snip["defaults"] == {"store_id": "tmall_report"}
    assert "# ?: 日期备注" in out                                               # unrecognised: a comment


def test_inspect_names_a_missing_required_field_and_the_closest_headers(tmp_path, site_config, capsys):
    p = tmp_path / "x.csv"
    p.write_text("订单号,门店编号,日子,商品编码\nA1,S1,2026-09-01,K1\n", encoding="utf-8")
    assert main(["inspect", str(p)]) == 1
    out = capsys.readouterr().out
    assert "no column for created_at; closest unused headers: 日子" in out
    assert "# created_at: ???" in out


def test_scan_summary_shows_the_field_report(tmp_path, site_config, capsys):
    p = tmp_path / "tmall_report1.csv"
    p.write_text(TEXT, encoding="utf-8")
    assert main(["scan", str(p), "--db", f"sqlite:///{tmp_path / 'ow.db'}"]) == 0
    out = capsys.readouterr().out
    assert "tmall_report1.csv: CSV, utf-8, comma-separated" in out
    assert "created_at 下单时间" in out and "YYYY-MM-DD HH:mm:ss" in out
    assert "no store column" in out and "not judged 不判断" in out and "backfill 历史导出" in out
