"""Reconciliation that cannot lie: every line ending, stray and unclosed quotes, broken bytes,
JSON shapes, workbooks — each record accepted or quarantined with its own line, and the count
made without the parser agrees (or the scan says loudly that it does not)."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from contracts.config import load_config
from ingest import IngestError, read_orders
from ingest.recount import count_records

H = "订单号,门店编号,下单时间,商品编码,数量"


@pytest.fixture
def cfg():
    return load_config()


def rows(n: int, start: int = 1) -> list[str]:
    return [f"A{i},S1,2026-09-01 13:00,K{i},{i}" for i in range(start, start + n)]


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def accounted(res) -> list[int]:
    """Every line number that ended somewhere, each exactly once."""
    got = sorted(res.lines["source_line"].to_list() + res.quarantine["line"].to_list())
    assert len(got) == len(set(got))
    return got


@pytest.mark.parametrize("ending", ["\r", "\r\n", "\n"])
def test_every_line_ending_reads_every_row(tmp_path, cfg, ending):
    p = write(tmp_path, "o.csv", (ending.join([H, *rows(10)]) + ending).encode())
    res = read_orders([p], cfg)
    assert res.read == 10 and res.accepted == 10 and res.reconciled
    assert res.files[0].counted == 10
    assert res.lines["source_line"].to_list() == list(range(2, 12))


def test_cr_only_gbk_file(tmp_path, cfg):
    p = write(tmp_path, "o.csv", ("\r".join([H, *rows(6)]) + "\r").encode("gbk"))
    res = read_orders([p], cfg)
    assert (res.read, res.accepted) == (6, 6) and res.reconciled


def test_header_with_a_quote_that_never_closes_is_a_clear_error(tmp_path, cfg):
    p = write(tmp_path, "o.csv", ('"订单号,门店编号,下单时间,商品编码,数量\n' + "\n".join(rows(5)) + "\n").encode())
    with pytest.raises(IngestError, match="表头的引号没有闭合"):
        read_orders([p], cfg)


def test_stray_quote_quarantines_each_row_it_would_swallow(tmp_path, cfg):
    body = rows(10)
    body[3] = 'A4,"S1,2026-09-01 13:00,K4,4'   # row 4 of 10 (line 5) opens a quote for good
    p = write(tmp_path, "o.csv", ("\n".join([H, *body]) + "\n").encode())
    res = read_orders([p], cfg)
    assert res.reconciled and res.read == 10 and res.files[0].counted == 10
    assert res.lines["order_id"].to_list() == ["A1", "A2", "A3"]
    q = res.quarantine
    assert q["line"].to_list() == list(range(5, 12))          # its own line, each of them
    assert q["raw"].to_list()[1:] == body[4:]                  # rows 5-10 verbatim, not hidden
    assert "引号没有闭合" in q["reason"][0] and all("第 5 行" in r for r in q["reason"])
    assert accounted(res) == list(range(2, 12))


def test_quote_closed_by_a_later_stray_quote_does_not_hide_rows(tmp_path, cfg):
    body = rows(9)
    body[2] = 'A3,"S1,2026-09-01 13:00,K3,3'
    body[5] = 'A6,"S1,2026-09-01 13:00,K6,6'
    p = write(tmp_path, "o.csv", ("\n".join([H, *body]) + "\n").encode())
    res = read_orders([p], cfg)
    assert res.reconciled and res.read == 9
    assert res.quarantine["line"].to_list() == [4, 5, 6, 7]
    assert set(res.lines["order_id"]) == {"A1", "A2", "A7", "A8", "A9"}
    assert not res.lines["store_id"].str.contains("\n").any()


def test_real_multiline_fields_stay_one_record(tmp_path, cfg):
    text = H + ',备注\n' + 'A1,S1,2026-09-01 13:00,K1,1,"第一行\n第二行"\nA2,S1,2026-09-01 13:00,K2,2,x\n'
    res = read_orders([write(tmp_path, "o.csv", text.encode())], cfg)
    assert res.read == 2 and res.accepted == 2 and res.lines["source_line"].to_list() == [2, 4]


def test_counter_is_independent_of_the_parser(tmp_path, cfg, monkeypatch):
    """A parser that loses a row is caught: reconciliation fails, the CLI says so and exits 1."""
    import ingest.csv_reader as cr
    from orderwatch.cli import main

    real = cr._fast_csv

    def lossy(source, sep, stats):
        table = real(source, sep, stats)
        table.frame = table.frame.head(table.frame.height - 1)
        return table

    def also_lossy(text, sep):
        t = real_python(text, sep)
        t.frame = t.frame.head(t.frame.height - 1)
        return t

    real_python = cr.python_csv
    monkeypatch.setattr(cr, "_fast_csv", lossy)
    monkeypatch.setattr(cr, "python_csv", also_lossy)
    p = write(tmp_path, "o.csv", ("\n".join([H, *rows(5)]) + "\n").encode())
    res = read_orders([p], cfg)
    assert not res.reconciled and res.files[0].counted == 5 and res.read == 4
    code = main(["scan", str(p), "--db", f"sqlite:///{tmp_path / 'ow.db'}", "--as-of", "2026-09-02 12:00"])
    assert code == 1


def test_count_records_follows_the_dialect():
    text = (H + "\n" + 'A1,S1,x,"K\n1",1\n' + "\n" + 'A2,"S1,x,K,1\nA3,S1,x,K,1\n').encode()
    # A1 spans two lines (one record); A2 opens a quote that never closes: it and A3 count alone
    assert count_records(text, ",") == 3


# -- decoding per line --------------------------------------------------------------------
def test_mostly_gbk_file_with_broken_rows(tmp_path, cfg):
    good = [f"A{i},门店{i},2026-09-01 13:00,K{i},{i}".encode("gbk") for i in range(1, 9)]
    good[2] = good[2][:9] + b"\xff\xfe" + good[2][9:]       # two bytes no encoding reads
    data = H.encode("gbk") + b"\n" + b"\n".join(good) + b"\n" + "A9,门".encode("gbk")[:-1] + b"\n"
    res = read_orders([write(tmp_path, "gbk.csv", data)], cfg)
    assert res.reconciled and res.read == 9 and res.accepted == 7
    assert res.lines["store_id"].to_list()[0] == "门店1"    # read as GBK, not garbled
    q = res.quarantine.sort("line")
    assert q["line"].to_list() == [4, 10]
    offset = data.index(b"\xff\xfe")
    assert f"文件第 {offset} 字节" in q["reason"][0] and "ff fe" in q["reason"][0]
    assert "GBK" in q["reason"][1]


def test_mixed_utf8_and_gbk_lines(tmp_path, cfg):
    lines = [H.encode("utf-8")] + [f"A{i},门店{i},2026-09-01 13:00,K{i},{i}".encode("utf-8" if i % 3 else "gbk")
                                   for i in range(1, 10)]
    res = read_orders([write(tmp_path, "mix.csv", b"\n".join(lines) + b"\n")], cfg)
    assert res.reconciled and res.read == 9 and res.accepted == 9
    assert res.lines["store_id"].to_list() == [f"门店{i}" for i in range(1, 10)]


def test_binary_junk_is_still_one_clear_error(tmp_path, cfg):
    p = write(tmp_path, "junk.csv", bytes(range(128, 256)) * 50)
    with pytest.raises(IngestError, match="无法识别文件编码"):
        read_orders([p], cfg)


# -- JSON -----------------------------------------------------------------------------------
def rec(i: int) -> dict:
    return {"订单号": f"J{i}", "门店编号": "S1", "下单时间": "2026-09-01 13:00", "商品编码": "K", "数量": i}


def test_one_over_deep_json_line_is_one_quarantined_line(tmp_path, cfg):
    lines = [json.dumps(rec(i), ensure_ascii=False) for i in range(1, 6)]
    lines[2] = '{"a": ' + "[" * 5000 + "]" * 5000 + "}"
    res = read_orders([write(tmp_path, "o.jsonl", ("\n".join(lines) + "\n").encode())], cfg)
    assert res.reconciled and res.read == 5 and res.accepted == 4
    assert res.quarantine["line"].to_list() == [3] and "嵌套" in res.quarantine["reason"][0]


def test_pretty_printed_object_is_one_record(tmp_path, cfg):
    p = write(tmp_path, "one.json", json.dumps(rec(7), ensure_ascii=False, indent=2).encode())
    res = read_orders([p], cfg)
    assert (res.read, res.accepted, res.quarantined) == (1, 1, 0)
    assert res.lines["order_id"].to_list() == ["J7"]


def test_array_with_a_non_object_element(tmp_path, cfg):
    data = [rec(1), 5, rec(3)]
    res = read_orders([write(tmp_path, "a.json", json.dumps(data, ensure_ascii=False).encode())], cfg)
    assert res.reconciled and (res.read, res.accepted, res.quarantined) == (3, 2, 1)
    assert res.quarantine["line"].to_list() == [3]


# -- Excel ----------------------------------------------------------------------------------
def _strip_cached(path: Path, cell: str) -> None:
    """Remove a formula cell's cached value, as files saved without recalculation have."""
    import re
    import shutil
    import zipfile
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                data = re.sub(rb'(<c r="' + cell.encode() + rb'"[^>]*>)(<f>.*?</f>)<v>[^<]*</v>', rb"\1\2", data)
            dst.writestr(item, data)
    shutil.move(tmp, path)


def test_workbook_title_rows_merged_cells_sheets_and_formulas(tmp_path, cfg):
    import xlsxwriter
    path = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    head = ["订单号", "门店编号", "下单时间", "商品编码", "数量"]
    a = wb.add_worksheet("九月")
    a.merge_range("A1:E1", "2026年9月订单明细")
    a.write_row("A2", ["导出时间", "2026-10-01"])
    a.write_row("A4", head)
    a.merge_range("A5:A7", "M1")                   # one order number over three lines
    for r, (sku, q) in enumerate((("K1", 3), ("K2", 4), ("K3", 5)), start=5):
        a.write_row(f"B{r}", ["S1", "2026-09-01 13:00", sku, q])
    a.write_row("A8", ["M2", "S1", "2026-09-01 14:00", "K1"])
    a.write_formula("E8", "=E5*2")
    b = wb.add_worksheet("十月")
    b.write_row("A1", head)
    b.write_row("A2", ["N1", "S2", "2026-10-01 13:00", "K9", 1])
    wb.add_worksheet("说明").write("A1", "本文件由系统导出")
    wb.close()
    _strip_cached(path, "E8")
    res = read_orders([path], cfg)
    assert res.reconciled
    assert [Path(f.path).name for f in res.files] == ["book.xlsx[九月]", "book.xlsx[十月]"]
    sept = res.lines.filter(pl.col("source_file").str.ends_with("[九月]"))
    assert sept["order_id"].to_list() == ["M1", "M1", "M1"]
    assert sept["source_line"].to_list() == [5, 6, 7]
    assert res.quarantine["line"].to_list() == [8] and "公式没有缓存值: E8" in res.quarantine["reason"][0]
    assert res.lines.filter(pl.col("order_id") == "N1").height == 1


def test_a_configured_sheet_is_the_only_one_read(tmp_path):
    import xlsxwriter
    path = tmp_path / "two.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    for name, oid in (("九月", "M1"), ("十月", "N1")):
        ws = wb.add_worksheet(name)
        ws.write_row("A1", ["订单号", "门店编号", "下单时间", "商品编码", "数量"])
        ws.write_row("A2", [oid, "S1", "2026-09-01 13:00", "K", 1])
    wb.close()
    res = read_orders([path], load_config(overrides={"ingest": {"excel_sheet": "十月"}}))
    assert res.lines["order_id"].to_list() == ["N1"] and res.files[0].path == str(path)
    with pytest.raises(IngestError, match="没有名为 '十一月' 的工作表"):
        read_orders([path], load_config(overrides={"ingest": {"excel_sheet": "十一月"}}))
