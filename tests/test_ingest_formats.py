"""Every input format and encoding reaches the same canonical frame."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl
import pytest

from contracts import schema
from contracts.config import load_config
from ingest import IngestError, read_orders

ZH_HEADER = ["订单号", "门店编号", "门店名称", "下单时间", "商品编码", "商品名称", "数量", "单价", "金额"]
ZH_ROWS = [
    ["SO001", "0012", "徐汇店", "2026-09-01 13:05:00", "00123", "有机菜心", "2", "12.5", "25"],
    ["SO001", "0012", "徐汇店", "2026-09-01 13:05:00", "A-9", "鲜牛奶𠮷", "1", "8", "8"],
    ["SO002", "0345", "浦东店", "2026-09-02 08:00:00", "00123", "有机菜心", "3", "12.5", "37.5"],
]


@pytest.fixture
def cfg():
    return load_config()


def write_text(path: Path, header, rows, sep=",", encoding="utf-8", newline="\n") -> Path:
    text = newline.join(sep.join(r) for r in [header, *rows]) + newline
    path.write_bytes(text.encode(encoding))
    return path


def assert_standard(result, n=3):
    lines = result.lines
    assert result.read == n and result.accepted == n and result.quarantined == 0
    assert lines.schema == pl.Schema({**schema.CANONICAL, **schema.PROVENANCE})
    assert lines["order_id"].to_list() == ["SO001", "SO001", "SO002"]
    assert lines["store_id"].to_list() == ["0012", "0012", "0345"]  # leading zeros kept
    assert lines["sku"].to_list() == ["00123", "A-9", "00123"]
    assert lines["quantity"].to_list() == [2.0, 1.0, 3.0]
    assert lines["unit_price"].to_list() == [12.5, 8.0, 12.5]
    assert lines["line_amount"].to_list() == [25.0, 8.0, 37.5]
    assert lines["created_at"].to_list() == [
        datetime(2026, 9, 1, 13, 5), datetime(2026, 9, 1, 13, 5), datetime(2026, 9, 2, 8, 0)
    ]
    assert lines["line_no"].to_list() == [1, 2, 1]
    assert lines["source_line"].to_list() == [2, 3, 4]
    assert lines["source"].unique().to_list() == ["default"]
    assert lines["goods"].all()
    assert lines["product_name"][1] == "鲜牛奶𠮷"


@pytest.mark.parametrize(
    "name,sep,encoding,newline",
    [
        ("utf8.csv", ",", "utf-8", "\n"),
        ("bom.csv", ",", "utf-8-sig", "\r\n"),
        ("tab.tsv", "\t", "utf-8", "\n"),
        ("semi.csv", ";", "utf-8", "\n"),
        ("pipe.txt", "|", "utf-8", "\n"),
        ("utf16.txt", "\t", "utf-16", "\r\n"),
        ("gb18030.csv", ",", "gb18030", "\n"),
    ],
)
def test_csv_variants(tmp_path, cfg, name, sep, encoding, newline):
    p = write_text(tmp_path / name, ZH_HEADER, ZH_ROWS, sep, encoding, newline)
    res = read_orders([p], cfg)
    assert_standard(res)
    assert res.files[0].path == str(p)


def test_gbk_detected_without_being_told(tmp_path, cfg):
    rows = [r[:5] + ["有机菜心"] + r[6:] for r in ZH_ROWS]  # GBK cannot encode 𠮷
    p = write_text(tmp_path / "gbk.csv", ZH_HEADER, rows, encoding="gbk")
    with pytest.raises(UnicodeDecodeError):
        p.read_bytes().decode("utf-8")
    lines = read_orders([p], cfg).lines
    assert lines["store_name"].to_list() == ["徐汇店", "徐汇店", "浦东店"]
    assert lines["product_name"][1] == "有机菜心"


def test_gb18030_only_characters(tmp_path, cfg):
    p = write_text(tmp_path / "gb.csv", ZH_HEADER, ZH_ROWS, encoding="gb18030")
    with pytest.raises(UnicodeEncodeError):
        "鲜牛奶𠮷".encode("gbk")
    assert read_orders([p], cfg).lines["product_name"][1] == "鲜牛奶𠮷"


def test_utf8_file_with_gbk_after_the_sample(tmp_path, cfg):
    """The sample (first 256 KB) is ASCII; a GB18030 byte later forces the fallback decode."""
    filler = [["F%06d" % i, "0012", "", "2026-09-01", "X", "x", "1", "1", "1"] for i in range(12000)]
    rows = filler + [["SO9", "0012", "徐汇店", "2026-09-01", "S", "菜", "1", "1", "1"]]
    p = write_text(tmp_path / "late.csv", ZH_HEADER, rows, encoding="gb18030")
    assert p.stat().st_size > 256 * 1024
    res = read_orders([p], cfg)
    assert res.accepted == len(rows)
    assert res.lines["store_name"][-1] == "徐汇店"
    assert res.lines["source_line"][-1] == len(rows) + 1


def test_bom_stripped_from_first_header(tmp_path, cfg):
    p = write_text(tmp_path / "b.csv", ZH_HEADER, ZH_ROWS, encoding="utf-8-sig")
    assert p.read_bytes().startswith(b"\xef\xbb\xbf")
    res = read_orders([p], cfg)
    assert res.lines["order_id"][0] == "SO001"


def test_xlsx(tmp_path, cfg):
    p = tmp_path / "orders.xlsx"
    df = pl.DataFrame(dict(zip(ZH_HEADER, map(list, zip(*ZH_ROWS)))))
    df = df.with_columns(
        pl.col("下单时间").str.to_datetime(),
        pl.col("数量").cast(pl.Int64),
        pl.col("单价").cast(pl.Float64),
        pl.col("金额").cast(pl.Float64),
    )
    df.write_excel(p)
    assert_standard(read_orders([p], cfg))


def test_xlsx_row_numbers_skip_blank_rows(tmp_path, cfg):
    import xlsxwriter

    p = tmp_path / "gaps.xlsx"
    wb = xlsxwriter.Workbook(str(p))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["order_id", "store_id", "created_at", "sku", "quantity"])
    ws.write_row(1, 0, ["A1", "S1", "2026-09-01", "K1", 1])
    ws.write_row(3, 0, ["A2", "S1", "2026-09-01", "K2", 2])  # row 3 of the sheet is empty
    ws.write_row(4, 0, ["A3", "S1", "2026-09-01", "K3", "abc"])
    wb.close()
    res = read_orders([p], cfg)
    assert res.lines["source_line"].to_list() == [2, 4]
    assert res.quarantine["line"].to_list() == [5]
    assert res.read == 3


def test_json_array_and_typed_values(tmp_path, cfg):
    recs = [
        {"order_id": "SO001", "store_id": 12, "created_at": "2026-09-01 13:05:00", "sku": "00123",
         "quantity": 2, "unit_price": 12.5, "customer": None},
        {"order_id": "SO001", "store_id": 12.0, "created_at": "2026-09-01 13:05:00", "sku": "A-9",
         "quantity": 1.0, "unit_price": 8},
        {"order_id": "SO002", "store_id": 17850.0, "created_at": "2026-09-02T08:00:00",
         "sku": "00123", "quantity": "3", "unit_price": "12.5", "extra": {"k": [1, 2]}},
    ]
    p = tmp_path / "o.json"
    p.write_text(json.dumps(recs, ensure_ascii=False), encoding="utf-8")
    res = read_orders([p], cfg)
    assert res.lines["store_id"].to_list() == ["12", "12", "17850"]
    assert res.lines["quantity"].to_list() == [2.0, 1.0, 3.0]
    assert res.lines["source_line"].to_list() == [2, 3, 4]


def test_jsonl_line_numbers_and_bad_line(tmp_path, cfg):
    recs = [
        {"订单号": "SO1", "门店编号": "S1", "下单时间": "2026-09-01", "商品编码": "K", "数量": 1},
        {"订单号": "SO2", "门店编号": "S1", "下单时间": "2026-09-01", "商品编码": "K", "数量": 2},
    ]
    text = json.dumps(recs[0], ensure_ascii=False) + "\n\n" + '{"订单号": "SO3", broken\n'
    text += json.dumps(recs[1], ensure_ascii=False) + "\n"
    for ext in ("jsonl", "ndjson"):
        p = tmp_path / f"o.{ext}"
        p.write_text(text, encoding="utf-8")
        res = read_orders([p], cfg)
        assert res.lines["source_line"].to_list() == [1, 4]
        assert res.quarantine["line"].to_list() == [3]
        assert res.quarantine["reason"][0].startswith("JSON 格式错误")
        assert res.read == 3


def test_jsonl_fast_path_with_blank_lines(tmp_path, cfg):
    rec = {"order_id": "O", "store_id": "S", "created_at": "2026-09-01", "sku": "K", "quantity": 1}
    p = tmp_path / "o.jsonl"
    p.write_text("\n".join([json.dumps(rec), "", "   ", json.dumps(rec), ""]), encoding="utf-8")
    assert read_orders([p], cfg).lines["source_line"].to_list() == [1, 4]


def test_parquet_float_ids_become_integral_strings(tmp_path, cfg):
    p = tmp_path / "o.parquet"
    pl.DataFrame({
        "InvoiceNo": ["536365", "C536379"],
        "StockCode": ["85123A", "D"],
        "Quantity": [6, -1],
        "InvoiceDate": [datetime(2010, 12, 1, 8, 26), datetime(2010, 12, 1, 9, 41)],
        "UnitPrice": [2.55, 27.5],
        "CustomerID": [17850.0, 14527.0],
    }).write_parquet(p)
    res = read_orders([p], cfg)
    # an English "customer" is the buyer (the shipped online_retail source maps it to the store)
    assert res.lines["buyer_id"].to_list() == ["17850", "14527"]
    assert res.lines["store_id"].to_list() == ["default", "default"]
    assert res.lines["order_id"].to_list() == ["536365", "C536379"]
    assert res.lines["status"].to_list() == [None, "cancelled"]
    assert res.lines["created_at"][0] == datetime(2010, 12, 1, 8, 26)
    assert res.lines["source_line"].to_list() == [2, 3]


def test_english_headers_and_variants(tmp_path, cfg):
    header = ["Order No.", "Store_Code", "Order Date", "Item-Code", "QTY", "Unit Price",
              "Order Total", "Amount Paid", "Payment Method", "Receiver", "Mobile", "Zip"]
    row = ["O1", "S1", "2026-09-01", "K1", "2", "3", "6", "6", "COD", "Li", "138", "200000"]
    p = write_text(tmp_path / "en.csv", header, [row])
    ln = read_orders([p], cfg).lines
    assert ln.select("order_id", "store_id", "sku", "payment_method", "consignee", "phone",
                     "postcode").row(0) == ("O1", "S1", "K1", "COD", "Li", "138", "200000")
    assert ln.select("quantity", "unit_price", "order_amount", "paid_amount").row(0) == (2, 3, 6, 6)


def test_fullwidth_and_bracketed_chinese_headers(tmp_path, cfg):
    header = ["＊订单编号", "店铺编号", "创建时间", "商品编号", "购买数量", "单价(元)", "实付金额（元）",
              "省份", "城市", "区县", "收货地址", "订单状态", "确认时间", "支付时间", "拣货完成时间",
              "出库时间", "送达时间", "明细行号"]
    row = ["O1", "S1", "2026-09-01 10:00", "K1", "2", "3", "6", "上海", "上海市", "徐汇区", "路1号",
           "已签收", "2026-09-01 10:01", "2026-09-01 10:02", "2026-09-01 11:00", "2026-09-01 12:00",
           "2026-09-02 09:00", "7"]
    p = write_text(tmp_path / "zh.csv", header, [row])
    ln = read_orders([p], cfg).lines
    r = ln.row(0, named=True)
    assert (r["order_id"], r["unit_price"], r["paid_amount"], r["status"]) == ("O1", 3, 6, "已签收")
    assert (r["province"], r["city"], r["district"], r["address"]) == ("上海", "上海市", "徐汇区", "路1号")
    assert r["delivered_at"] == datetime(2026, 9, 2, 9, 0)
    assert r["picked_at"] == datetime(2026, 9, 1, 11, 0)
    assert r["line_no"] == 7


def test_explicit_mapping_and_defaults(tmp_path):
    cfg = load_config(overrides={"sources": [{
        "name": "erp_x", "match": "erpx_*",
        "columns": {"order_id": "单据", "store_id": "机构", "sku": "编码", "quantity": "件",
                    "created_at": "日子", "product_name": "数量"},
        "defaults": {"country": "中国", "payment_method": "在线支付"},
        "non_goods_skus": ["运费"],
    }]})
    header = ["单据", "机构", "日子", "编码", "件", "数量"]
    rows = [["A", "S", "2026-09-01", "K", "5", "苹果"], ["A", "S", "2026-09-01", "运费", "1", "运费"]]
    p = write_text(tmp_path / "erpx_0901.csv", header, rows)
    res = read_orders([p], cfg)
    ln = res.lines
    assert ln["source"].to_list() == ["erp_x", "erp_x"]
    assert ln["quantity"].to_list() == [5.0, 1.0]  # "件", not the header "数量" (explicit wins)
    assert ln["product_name"].to_list() == ["苹果", "运费"]
    assert ln["country"].to_list() == ["中国", "中国"]
    assert ln["goods"].to_list() == [True, False]
    # the same file named by source explicitly
    other = write_text(tmp_path / "other.csv", header, rows)
    assert read_orders([other], cfg, source="erp_x").lines["source"][0] == "erp_x"


def test_multiple_files_and_progress(tmp_path, cfg):
    a = write_text(tmp_path / "a.csv", ZH_HEADER, ZH_ROWS)
    b = write_text(tmp_path / "b.tsv", ZH_HEADER, ZH_ROWS[:1], sep="\t")
    calls = []
    res = read_orders([a, b], cfg, progress=lambda p, f: calls.append((Path(p).name, f)))
    assert [f.read for f in res.files] == [3, 1]
    assert res.read == 4 and res.accepted == 4
    assert res.lines["source_file"].to_list() == [str(a)] * 3 + [str(b)]
    assert calls[0] == ("a.csv", 0.0) and ("a.csv", 1.0) in calls and calls[-1] == ("b.tsv", 1.0)


@pytest.mark.parametrize("name,content,needle", [
    ("missing.csv", None, "文件不存在"),
    ("orders.docx", b"hello", "不支持的文件格式"),
    ("broken.xlsx", b"PK\x03\x04 not really a zip", "Excel"),
    ("broken.parquet", b"PAR1garbage", "Parquet"),
    ("broken.json", b"[{]", "JSON"),
])
def test_unreadable_files_raise_ingest_error(tmp_path, cfg, name, content, needle):
    p = tmp_path / name
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(IngestError) as ei:
        read_orders([p], cfg)
    assert str(p) in str(ei.value) and needle in str(ei.value)


def test_empty_and_header_only_files(tmp_path, cfg):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    head = write_text(tmp_path / "head.csv", ZH_HEADER, [])
    res = read_orders([empty, head], cfg)
    assert res.read == 0 and res.lines.height == 0 and res.quarantine.height == 0
    assert res.lines.schema == pl.Schema({**schema.CANONICAL, **schema.PROVENANCE})


def test_parquet_zoned_datetime_converted_to_config_timezone(tmp_path, cfg):
    p = tmp_path / "z.parquet"
    pl.DataFrame({
        "order_id": ["A"], "store_id": [1], "sku": ["K"], "quantity": [1.5],
        "created_at": [datetime(2026, 9, 1, 5, 5)],
    }).with_columns(pl.col("created_at").dt.replace_time_zone("UTC")).write_parquet(p)
    ln = read_orders([p], cfg).lines
    assert ln.select("store_id", "created_at", "quantity").row(0) == (
        "1", datetime(2026, 9, 1, 13, 5), 1.5)


def test_json_records_with_no_fields_are_quarantined_not_a_crash(tmp_path, cfg):
    """Found by the API fuzz test: objects without a single field used to crash the quarantine."""
    p = tmp_path / "empty.json"
    p.write_text("[{}, {}]", encoding="utf-8")
    res = read_orders([p], cfg)
    assert (res.read, res.accepted, res.quarantined) == (2, 0, 2)
    assert res.quarantine["line"].to_list() == [2, 3]
    assert all("缺少必需列" in r for r in res.quarantine["reason"].to_list())
