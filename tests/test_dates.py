"""Dates in every form a real export writes them; month-first or day-first decided per column
from its values (and said); a column mixing both orders quarantines the rows it cannot read."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

import ingest.dates as dates
from contracts.config import load_config
from ingest import read_orders
from ingest.dates import DAY_FIRST, MONTH_FIRST, detect, parse_datetime

TZ = "Asia/Shanghai"
T = datetime(2026, 9, 1, 13, 5)


@pytest.mark.parametrize("text,expected", [
    ("2026-09-01 13:05:00", T),
    ("2026-09-01 13:05", T),
    ("2026-09-01T13:05:00", T),
    ("2026-09-01T05:05:00Z", T),                              # UTC -> Asia/Shanghai, naive
    ("2026-09-01T13:05:00+08:00", T),
    ("2026-09-01T13:05:00.250+08:00", datetime(2026, 9, 1, 13, 5, 0, 250000)),
    ("2026/9/1 13:05", T),
    ("2026.9.1 13:05:00", T),
    ("20260901", datetime(2026, 9, 1)),
    ("20260901130500", T),
    ("2026年9月1日 13:05", T),
    ("2026年9月1日", datetime(2026, 9, 1)),
    ("２０２６－０９－０１　１３：０５", T),
    ("9/1/2026 13:05", T),                                    # US, month first
    ("9/1/2026 1:05 PM", T),
    ("9/1/2026 01:05:00 PM", T),
    ("09/01/2026", datetime(2026, 9, 1)),
    ("9/1/26 13:05", T),
    ("Sep-01-26 13:05", T),                                   # eBay
    ("1 Sep 2026", datetime(2026, 9, 1)),
    ("45536.54", datetime(2024, 9, 1, 12, 57, 36)),           # Excel serial day number
])
def test_every_form_alone(text, expected):
    out, failed = parse_datetime(pl.Series([text]), TZ)
    assert out.to_list() == [expected] and failed.to_list() == [False]


def test_day_first_decided_by_a_day_above_twelve():
    col = pl.Series(["4/11/2017 12:22", "25/11/2017 08:00", "3/12/2017 09:30"])
    spec = detect(col)
    assert (spec.order, spec.decided_by) == (DAY_FIRST, "values")
    out, failed = parse_datetime(col, TZ)
    assert out.to_list() == [datetime(2017, 11, 4, 12, 22), datetime(2017, 11, 25, 8), datetime(2017, 12, 3, 9, 30)]
    assert "day-first" in spec.label and "from the values" in spec.label


def test_month_first_decided_by_a_second_field_above_twelve():
    col = pl.Series(["08/29/2022", "4/11/2017 12:22", "12/01/2021"])
    spec = detect(col)
    assert (spec.order, spec.decided_by) == (MONTH_FIRST, "values")
    out, _ = parse_datetime(col, TZ)
    assert out.to_list() == [datetime(2022, 8, 29), datetime(2017, 4, 11, 12, 22), datetime(2021, 12, 1)]


def test_undecidable_column_is_assumed_month_first_and_says_so():
    spec = detect(pl.Series(["4/11/2017", "3/12/2017"]))
    assert (spec.order, spec.decided_by) == (MONTH_FIRST, "assumed")
    assert "assumed" in spec.label


def test_configured_order_and_format_win():
    col = pl.Series(["4/11/2017", "3/12/2017"])
    assert parse_datetime(col, TZ, "day_first")[0].to_list() == [datetime(2017, 11, 4), datetime(2017, 12, 3)]
    assert parse_datetime(pl.Series(["01-09-2026 13h05"]), TZ, "%d-%m-%Y %Hh%M")[0].to_list() == [T]


def test_unix_seconds_and_milliseconds_become_local_wall_clock():
    s = pl.Series(["1700000000", "1700000060"])
    assert parse_datetime(s, TZ)[0].to_list() == [datetime(2023, 11, 15, 6, 13, 20), datetime(2023, 11, 15, 6, 14, 20)]
    ms = pl.Series(["1700000000000"])
    assert parse_datetime(ms, TZ)[0].to_list() == [datetime(2023, 11, 15, 6, 13, 20)]


def test_minority_of_odd_forms_in_an_iso_column():
    vals = ["2026-09-01 13:05:00"] * 50 + ["2026/9/1 13:05", "2026-09-01T05:05:00Z", "garbage",
                                            None, "2026-13-45 00:00:00", "45536.54"]
    out, failed = parse_datetime(pl.Series(vals), TZ)
    assert out[:50].to_list() == [T] * 50
    assert out[50:].to_list() == [T, T, None, None, None, datetime(2024, 9, 1, 12, 57, 36)]
    assert failed[50:].to_list() == [False, False, True, False, True, False]


def test_clean_column_is_parsed_once_without_the_slow_path(monkeypatch):
    calls = []
    real = dates.datetime_slow
    monkeypatch.setattr(dates, "datetime_slow", lambda s, *a, **k: calls.append(s.len()) or real(s, *a, **k))
    col = pl.Series([f"{m}/{d}/2026 {h}:05 PM" for m in range(1, 13) for d in range(13, 29) for h in range(1, 12)])
    spec = detect(col)
    assert len(spec.formats) == 1 and spec.order == MONTH_FIRST
    out, failed = parse_datetime(col, TZ)
    assert out.null_count() == 0 and not failed.any()
    assert sum(calls) == 0


def _scan(tmp_path, rows, header="订单号,门店编号,下单时间,商品编码,数量", cfg=None):
    p = tmp_path / "d.csv"
    p.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return read_orders([p], cfg or load_config())


def test_column_mixing_both_orders_quarantines_the_minority_per_row(tmp_path):
    rows = ["A1,S1,13/02/2024 10:00,K,1", "A2,S1,14/02/2024 10:00,K,1", "A3,S1,25/12/2023 10:00,K,1",
            "A4,S1,02/15/2024 10:00,K,1",          # only month-first reads it: the other form
            "A5,S1,03/02/2024 10:00,K,1"]          # both could: the column's order (day first)
    res = _scan(tmp_path, rows)
    assert res.lines["order_id"].to_list() == ["A1", "A2", "A3", "A5"]
    assert res.lines["created_at"][3] == datetime(2024, 2, 3, 10)
    (reason,) = res.quarantine["reason"].to_list()
    assert "02/15/2024" in reason and "日月顺序" in reason and "day-first" in reason
    assert "day-first" in res.reports[0].dates["created_at"]


def test_a_decided_column_decides_the_file_for_the_others(tmp_path):
    header = "订单号,门店编号,下单时间,支付时间,商品编码,数量"
    rows = ["A1,S1,04/11/2017 10:00,04/11/2017 10:05,K,1", "A2,S1,25/11/2017 10:00,05/12/2017 10:05,K,1"]
    res = _scan(tmp_path, rows, header)
    assert res.lines["paid_at"].to_list() == [datetime(2017, 11, 4, 10, 5), datetime(2017, 12, 5, 10, 5)]
    assert "like the file's other dates" in res.reports[0].dates["paid_at"]


def test_source_date_format_in_config(tmp_path):
    cfg = load_config(overrides={"sources": [{"name": "eu", "match": "d.csv", "date_format": "day_first"}]})
    res = _scan(tmp_path, ["A1,S1,04/11/2017,K,1", "A2,S1,03/12/2017,K,1"], cfg=cfg)
    assert res.lines["created_at"].to_list() == [datetime(2017, 11, 4), datetime(2017, 12, 3)]
    assert "as configured" in res.reports[0].dates["created_at"]
