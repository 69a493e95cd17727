"""The whole pipeline from the command line: files in, flags and quarantine out, idempotent."""

import csv
import json
from datetime import datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import func, select

from contracts.config import history_dir_for
from orderwatch.cli import main
from orderwatch.scan import run_scan
from store import Flag, FlagEvent, OrderLine, QuarantinedRow, Store, flagged_lines
from store.flagged_lines import FlaggedLines

HEADER = ["订单编号", "门店编号", "下单时间", "确认时间", "商品编码", "订购数量", "单价", "支付方式",
          "收货人", "联系电话", "省份", "城市", "区县", "详细地址"]


def _rows():
    """Three weeks of steady orders from 6 stores, then a day with the planted mistakes."""
    start = datetime(2026, 9, 1, 13, 0)
    rows = []
    for d in range(21):
        for s in range(6):
            at = start + timedelta(days=d, minutes=7 * s)
            oid = f"D{d:02d}S{s}"
            for sku, qty in (("SP1", 12), ("SP2", 6)):
                rows.append([oid, f"MD{s}", f"{at:%Y/%m/%d %H:%M}", f"{at + timedelta(minutes=5):%Y/%m/%d %H:%M}",
                             sku, qty, "￥10.00", "微信支付", "张三", "13812345678", "浙江省", "杭州市", "西湖区", "文三路90号"])
    at = start + timedelta(days=21)
    bad = [
        ["X1", "MD0", f"{at:%Y/%m/%d %H:%M}", "", "SP1", 1200, "￥10.00", "货到付款", "张三", "13812345678", "浙江省", "杭州市", "西湖区", "文三路90号"],
        ["X2", "MD1", f"{at:%Y/%m/%d %H:%M}", "", "SP1", 12, "￥10.00", "货到付款", "", "1381234567", "浙江省", "杭州市", "", "文三路90号"],
        ["X3", "MD2", "yesterday", "", "SP1", 12, "￥10.00", "货到付款", "张三", "13812345678", "浙江省", "杭州市", "西湖区", "文三路90号"],
        ["X4", "", f"{at:%Y/%m/%d %H:%M}", "", "SP1", 12, "￥10.00", "货到付款", "张三", "13812345678", "浙江省", "杭州市", "西湖区", "文三路90号"],
        ["X5", "MD3", f"{at:%Y/%m/%d %H:%M}", "", "SP1", "abc", "￥10.00", "货到付款", "张三", "13812345678", "浙江省", "杭州市", "西湖区", "文三路90号"],
    ]
    return rows + bad


@pytest.fixture
def export(tmp_path):
    path = tmp_path / "门店订单_202609.csv"
    with open(path, "w", encoding="gbk", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(_rows())
    return path


def _count(store, model):
    with store.engine.connect() as c:
        return c.execute(select(func.count()).select_from(model)).scalar_one()


def test_cli_scan_writes_flags_and_quarantine(export, tmp_path, site_config, capsys):
    db = f"sqlite:///{tmp_path / 'ow.db'}"
    out, qfile = tmp_path / "flags.csv", tmp_path / "q.csv"
    code = main(["scan", str(export), "--db", db, "--as-of", "2026-09-22 18:00:00",
                 "--out", str(out), "--quarantine", str(qfile)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "read 257 = accepted 254 + quarantined 3  OK" in printed.replace(",", "")
    flags = pl.read_csv(out, infer_schema=False)
    assert {"rule_id", "kind", "level", "department", "order_id", "store_id", "reason"} <= set(flags.columns)
    got = {(r["order_id"], r["kind"]) for r in flags.iter_rows(named=True)}
    assert ("X1", "volume_surge") in got          # an extra zero: 1200 where 12 is usual
    assert ("X2", "missing_address") in got       # no consignee, no district, 10-digit phone
    assert not {r["rule_id"] for r in flags.iter_rows(named=True) if r["order_id"] == "X1"} & {
        "picking_overdue", "handover_overdue"}      # never confirmed: not a picking matter
    x1 = flags.filter((pl.col("order_id") == "X1") & (pl.col("rule_id") == "line_qty_outlier")).row(0, named=True)
    assert x1["level"] == "critical" and x1["department"] == "customer_service" and "订购1,200件" in x1["reason"]
    assert "常规数量12件的100倍" in x1["reason"] and "疑似多输了一个0" in x1["reason"]   # 100×: an extra zero (or two)
    assert x1["reason_id"] == "volume_surge.line.extra_zero" and json.loads(x1["reason_args"])["usual_qty"] == 12
    q = pl.read_csv(qfile, infer_schema=False)
    assert q.columns == ["source_file", "line", "reason", "raw"]
    assert sorted(q["line"].cast(int).to_list()) == [256, 257, 258]  # header is line 1
    assert any("store_id" in r for r in q["reason"]) and any("quantity" in r for r in q["reason"])
    with Store.open(db) as store:
        assert _count(store, QuarantinedRow) == 3
        assert _count(store, Flag) == flags.height
        pairs = list(zip(flags["store_id"].to_list(), flags["order_id"].to_list()))
        kept = flagged_lines.order_lines(store.engine, FlaggedLines(history_dir_for(db, site_config)), pairs)
        assert {o for (_, o), lines in kept.items() if lines} == set(flags["order_id"].drop_nulls())  # every flagged order's lines kept
        assert kept[("MD0", "X1")][0]["quantity"] == 1200 and _count(store, OrderLine) == 0   # in the file, not the table


def test_rescan_adds_no_lines_and_no_flags(export, tmp_path, site_config):
    db = f"sqlite:///{tmp_path / 'ow.db'}"
    as_of = datetime(2026, 9, 22, 18, 0)
    first = run_scan([export], site_config, db_url=db, as_of=as_of)
    second = run_scan([export], site_config, db_url=db, as_of=as_of)
    assert first.flags.height > 0 and first.flags_created == first.flags.height
    assert second.new_lines == 0 and second.flags_created == 0 and second.flags_raised == 0
    assert second.flags.select("rule_id", "subject", "level").sort("rule_id", "subject").equals(
        first.flags.select("rule_id", "subject", "level").sort("rule_id", "subject"))
    with Store.open(db) as store:
        assert _count(store, Flag) == first.flags.height
        assert _count(store, FlagEvent) == first.flags.height
        # the lines were written once, with the flags that were new: the rescan changed no flag, wrote no lines
        assert FlaggedLines(history_dir_for(db, site_config)).scan_ids() == [first.scan_id]
        assert _count(store, OrderLine) == 0


def test_history_feeds_the_next_scan(export, tmp_path, site_config):
    """Scan the baseline weeks first, then the bad day alone: the baseline comes from history."""
    db = f"sqlite:///{tmp_path / 'ow.db'}"
    rows = _rows()
    for name, part in (("a.csv", rows[:-5]), ("b.csv", rows[-5:])):
        with open(tmp_path / name, "w", encoding="utf-8-sig", newline="") as f:
            csv.writer(f).writerows([HEADER, *part])
    run_scan([tmp_path / "a.csv"], site_config, db_url=db, as_of=datetime(2026, 9, 22, 18))
    second = run_scan([tmp_path / "b.csv"], site_config, db_url=db, as_of=datetime(2026, 9, 22, 18))
    hit = second.flags.filter((pl.col("order_id") == "X1") & (pl.col("rule_id") == "line_qty_outlier"))
    assert hit.height == 1 and json.loads(hit["evidence"][0])["baseline"] == "store_sku"


def test_later_as_of_makes_unpicked_orders_stale(tmp_path, site_config):
    path = tmp_path / "o.csv"
    # the export tracks picking (A2 was picked): A1's empty pick time means it was not picked yet
    path.write_text("订单号,门店编号,下单时间,确认时间,拣货时间,商品编码,数量\n"
                    "A1,MD1,2026-09-01 13:00,2026-09-01 13:05,,SP1,6\n"
                    "A2,MD1,2026-09-01 13:00,2026-09-01 13:05,2026-09-01 14:00,SP1,6\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'ow.db'}"
    early = run_scan([path], site_config, db_url=db, as_of=datetime(2026, 9, 1, 15))
    late = run_scan([path], site_config, db_url=db, as_of=datetime(2026, 9, 1, 23))
    assert early.flags.filter(pl.col("rule_id") == "picking_overdue").height == 0
    assert late.flags.filter(pl.col("rule_id") == "picking_overdue")["level"].to_list() == ["critical"]
    assert late.flags_created == 1


def test_bad_rules_stop_the_scan_with_a_clear_error(export, tmp_path, site_config, capsys, monkeypatch):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "x.yaml").write_text("rules:\n  - id: x1\n    detector: nope\n", encoding="utf-8")
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"instance_dir: {tmp_path / 'instance'}\nrules_dir: {rules}\n", encoding="utf-8")
    monkeypatch.setenv("ORDERWATCH_CONFIG", str(cfg))
    assert main(["scan", str(export), "--db", f"sqlite:///{tmp_path / 'ow.db'}"]) == 2
    err = capsys.readouterr().err
    assert "x.yaml: rule 'x1': detector: unknown detector 'nope'" in err and "Traceback" not in err


def test_unreadable_file_is_a_clear_error(tmp_path, site_config, capsys):
    bad = tmp_path / "orders.xlsx"
    bad.write_bytes(b"not a workbook")
    assert main(["scan", str(bad), "--db", f"sqlite:///{tmp_path / 'ow.db'}"]) == 2
    err = capsys.readouterr().err
    assert "orders.xlsx" in err and "Traceback" not in err


def test_jsonl_out(export, tmp_path, site_config):
    out = tmp_path / "flags.jsonl"
    assert main(["scan", str(export), "--db", f"sqlite:///{tmp_path / 'ow.db'}", "--out", str(out),
                 "--as-of", "2026-09-22 18:00:00"]) == 0
    first = json.loads(out.read_text(encoding="utf-8").splitlines()[0])
    assert {"rule_id", "kind", "level", "department", "order_id", "store_id", "reason"} <= set(first)
