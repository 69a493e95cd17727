"""Weekly and monthly workbooks from a scanned demo week: the right period, sheets and figures."""

from datetime import date

import polars as pl

from orderwatch.demo import generate
from orderwatch.scan import run_scan
from orderwatch.summaries import last_month, last_week, write_summary


def test_periods():
    assert (last_week(date(2026, 11, 30)).start, last_week(date(2026, 11, 30)).end) == (date(2026, 11, 23), date(2026, 11, 30))
    assert last_week(date(2026, 12, 2)).label == "2026-W48"
    assert (last_month(date(2026, 12, 3)).start, last_month(date(2026, 12, 3)).end) == (date(2026, 11, 1), date(2026, 12, 1))


def test_weekly_and_monthly_workbooks(tmp_path, site_config):
    demo = generate(tmp_path / "d", stores=20, days=21, seed=3)
    db = f"sqlite:///{tmp_path / 's.db'}"
    result = run_scan(demo.order_files, site_config, catalog=demo.catalog, as_of=demo.as_of, db_url=db)
    week = last_week(demo.as_of.date())
    path = write_summary(site_config, week, db_url=db, out_dir=tmp_path / "r")
    assert path.name == f"orderwatch_weekly_{week.label}.xlsx"
    sheets = pl.read_excel(path, sheet_id=0)
    assert set(sheets) == {"订单按日", "订单按门店", "异常汇总", "异常明细", "环节时效"}
    days = sheets["订单按日"]
    assert days.height == 7 and days["订单数"].sum() > 0
    in_week = result.flags.filter(pl.col("occurred_at").dt.date().is_between(week.start, week.end, closed="left"))
    assert sheets["异常明细"].height == in_week.height
    month = write_summary(site_config, last_month(demo.as_of.date()), db_url=db, out_dir=tmp_path / "r")
    assert {"部门处理", "规则误报率", "门店排行"} <= set(pl.read_excel(month, sheet_id=0))
