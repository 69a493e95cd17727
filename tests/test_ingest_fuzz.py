"""The tester's fuzzing, kept (bounded): random CSV, JSON and Excel files — clean and broken —
must reconcile against a count made without the parser: read = accepted + quarantined =
counted, every record's line appears once, and a clean file reads exactly what was written."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.config import load_config
from ingest import read_orders

CFG = load_config()
HEADER = ["订单号", "门店编号", "下单时间", "商品编码", "数量", "备注"]
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

text = st.text(alphabet=st.sampled_from(list('ab1 ,;"\n\r\t门店é=订')), max_size=8)
record = st.lists(text, min_size=6, max_size=6)


def check(res, written: int | None = None) -> None:
    for f in res.files:
        assert f.read == f.accepted + f.quarantined, f
        assert f.counted == f.read, f
    if written is not None:
        assert res.read == written
    seen = list(zip(res.lines["source_file"].to_list() + res.quarantine["source_file"].to_list(),
                    res.lines["source_line"].to_list() + res.quarantine["line"].to_list()))
    assert len(seen) == len(set(seen))


def read(name: str, data: bytes):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / name
        p.write_bytes(data)
        return read_orders([p], CFG)


@SETTINGS
@given(rows=st.lists(record, min_size=1, max_size=25), terminator=st.sampled_from(["\n", "\r\n", "\r"]),
       encoding=st.sampled_from(["utf-8", "gbk", "utf-8-sig"]))
def test_clean_csv_reads_every_record(rows, terminator, encoding):
    buf = io.StringIO()
    # csv.writer quotes a field only for the characters of its own terminator: a bare CR or LF
    # left unquoted ends a line in any reader, so quote everything unless the terminator is CRLF
    w = csv.writer(buf, lineterminator=terminator,
                   quoting=csv.QUOTE_MINIMAL if terminator == "\r\n" else csv.QUOTE_ALL)
    w.writerow(HEADER)
    w.writerows(rows)
    data = buf.getvalue()
    res = read("c.csv", data.encode(encoding))
    check(res, len(rows))   # six empty fields still write ",,,,,": a record


@SETTINGS
@given(rows=st.lists(record, min_size=1, max_size=25), cuts=st.lists(st.tuples(st.integers(0, 10**6),
       st.sampled_from(['"', "\n", "\r", ",", '""', "\n\n"])), max_size=4),
       tail=st.sampled_from([b"", b"\xff", b"\xb5", "门".encode("gbk")[:1]]))
def test_broken_csv_still_reconciles(rows, cuts, tail):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    w.writerows(rows)
    body = buf.getvalue()
    head, rest = body.split("\n", 1)
    for at, junk in cuts:               # stray quotes, lost and extra line breaks, separators
        i = at % (len(rest) + 1)
        rest = rest[:i] + junk + rest[i:]
    res = read("b.csv", (head + "\n" + rest).encode("utf-8") + tail)
    check(res)


json_value = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
                          lambda kids: st.lists(kids, max_size=3) | st.dictionaries(text, kids, max_size=3),
                          max_leaves=8)


@SETTINGS
@given(items=st.lists(st.one_of(
    st.fixed_dictionaries({"订单号": text, "门店编号": text, "下单时间": st.just("2026-09-01 13:00"),
                           "商品编码": text, "数量": st.integers(-5, 500)}),
    json_value,
    st.sampled_from(["not json", "{broken", "[" * 300 + "]" * 300, ""])), min_size=1, max_size=25))
def test_json_lines_reconcile_line_by_line(items):
    lines = [x if isinstance(x, str) and (x.startswith(("not", "{", "[")) or x == "") else
             json.dumps(x, ensure_ascii=False) for x in items]
    res = read("j.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))
    check(res, sum(1 for ln in lines if ln.strip()))


@SETTINGS
@given(items=st.lists(st.one_of(st.fixed_dictionaries({"订单号": text, "门店编号": text, "数量": st.integers()}),
                                json_value), min_size=1, max_size=20))
def test_json_arrays_reconcile_element_by_element(items):
    res = read("a.json", json.dumps(items, ensure_ascii=False).encode("utf-8"))
    check(res, len(items))


cell = st.one_of(st.none(), st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False, width=32),
                 st.text(alphabet=st.sampled_from(list("ab1门店=\"订")), min_size=1, max_size=6))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(cell, min_size=5, max_size=5), min_size=1, max_size=15),
       titles=st.integers(0, 3))
def test_excel_sheets_reconcile_row_by_row(rows, titles):
    import xlsxwriter
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "x.xlsx"
        wb = xlsxwriter.Workbook(str(p), {"strings_to_formulas": False, "strings_to_numbers": False})
        ws = wb.add_worksheet("订单")
        for t in range(titles):
            ws.write(t, 0, f"标题 {t}")
        ws.write_row(titles, 0, HEADER[:5])
        for r, values in enumerate(rows, start=titles + 1):
            for c, v in enumerate(values):
                if v is not None:
                    ws.write(r, c, v)
        wb.close()
        res = read_orders([p], CFG)
    check(res, sum(1 for r in rows if any(v is not None and str(v).strip() for v in r)))
