"""Correlation rules: several orders of one store with several kinds of trouble within a day
raise one store-level flag for store development; a cancelled order re-placed within the hour
is one informational flag, not two alarms."""

import json
from datetime import datetime

import polars as pl

from orderwatch.scan import run_scan

HEAD = "订单号,门店编号,下单时间,订单状态,商品编码,数量,收货人,联系电话,省份,城市,区县,详细地址\n"
OK_ADDR = "张三,13812345678,浙江省,杭州市,西湖区,文三路90号"
BAD_ADDR = ",1381234567,浙江省,杭州市,,文三路90号"   # no consignee, no district, 10-digit phone


def test_several_orders_with_several_kinds_of_trouble_within_a_day(tmp_path, site_config):
    rows = [f"A{i},MD1,2026-09-01 1{i}:00,已确认,SP{i},6,{BAD_ADDR}" for i in range(3)]      # 3 address flags
    rows += ["A3,MD1,2026-09-01 12:05,已确认,SP2,6," + OK_ADDR]                               # A2 entered twice
    rows += [f"B{i},MD2,2026-09-0{1 + 2 * i} 10:00,已确认,SP1,6,{BAD_ADDR}" for i in range(2)]  # 2 flags, days apart
    rows += [f"D{i},MD4,2026-09-01 1{i}:00,已确认,SP{i},6,{BAD_ADDR}" for i in range(4)]     # one kind, 4 times
    rows += ["C1,MD3,2026-09-01 10:00,已确认,SP1,6," + OK_ADDR]
    path = tmp_path / "o.csv"
    path.write_text(HEAD + "\n".join(rows) + "\n", encoding="utf-8")
    result = run_scan([path], site_config, db_url=f"sqlite:///{tmp_path / 'c.db'}", as_of=datetime(2026, 9, 6))
    cluster = result.flags.filter(pl.col("rule_id") == "store_flag_cluster")
    # MD4's four address flags are one problem, already queued four times: no cluster echoes them
    # (on main, which counted flags, MD4 had a cluster of 4 and MD1 one of its 3 address flags)
    assert cluster["store_id"].to_list() == ["MD1"]
    row = cluster.row(0, named=True)
    assert row["department"] == "store_development" and row["level"] == "warn"
    evidence = json.loads(row["evidence"])
    assert (evidence["orders_in_window"], evidence["kinds_in_window"]) == (4, 2)
    again = run_scan([path], site_config, db_url=f"sqlite:///{tmp_path / 'c.db'}", as_of=datetime(2026, 9, 6))
    assert again.flags_created == 0  # the cluster flag is not raised twice


def test_cancelled_and_replaced_order_is_one_informational_flag(tmp_path, site_config):
    rows = [
        f"X1,MD1,2026-09-01 13:00,已取消,SP1,12,{OK_ADDR}", f"X1,MD1,2026-09-01 13:00,已取消,SP2,6,{OK_ADDR}",
        f"X2,MD1,2026-09-01 13:20,已确认,SP1,12,{OK_ADDR}", f"X2,MD1,2026-09-01 13:20,已确认,SP2,6,{OK_ADDR}",
        f"Y1,MD2,2026-09-01 13:00,已取消,SP1,12,{OK_ADDR}",
        f"Y2,MD2,2026-09-01 15:00,已确认,SP1,12,{OK_ADDR}",                                # 2 h later: no
    ]
    path = tmp_path / "o.csv"
    path.write_text(HEAD + "\n".join(rows) + "\n", encoding="utf-8")
    result = run_scan([path], site_config, db_url=f"sqlite:///{tmp_path / 'c.db'}", as_of=datetime(2026, 9, 2))
    corr = result.flags.filter(pl.col("rule_id") == "order_corrected_by_store")
    assert corr.select("order_id", "level").rows() == [("X2", "info")]
    assert json.loads(corr["evidence"][0])["cancelled_order_id"] == "X1"
    assert result.flags.filter(pl.col("kind") == "duplicate_order").height == 0
