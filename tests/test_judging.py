"""Judge only what the data shows: detectors skip files that lack what they need, time-based
rules never flag a finished order, a backfill is judged at its own clock, and two buyers'
identical orders are not duplicates."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from detectors import REGISTRY
from orderwatch.scan import run_scan
from tests.factories import T0, context, line


def _scan(tmp_path, name, text, cfg, **kw):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return run_scan([p], cfg, db_url=f"sqlite:///{tmp_path / 'ow.db'}", **kw)


def test_a_file_without_the_needed_fields_is_not_judged_and_the_report_says_so(tmp_path, site_config):
    text = "订单编号,订单创建时间,订单付款时间,总金额,买家实际支付金额\n" + "".join(
        f"{i},2026-09-01 1{i % 10}:00:00,2026-09-01 1{i % 10}:05:00,{37 + i},{37 + i}\n" for i in range(30))
    res = _scan(tmp_path, "tm.csv", text, site_config, as_of=datetime(2026, 9, 2, 12))
    skipped = res.reports[0].skipped_detectors
    for name in ("volume_surge (line)", "volume_surge (day)", "stage_overdue (review)", "stage_overdue (picking)",
                 "stage_overdue (handover)", "stage_overdue (shipment)", "stage_overdue (delivery)",
                 "stage_overdue (refund)", "duplicate_order", "missing_address", "price_deviation",
                 "payment_mismatch"):
        assert name in skipped, name
    assert skipped["stage_overdue (picking)"] == ("needs picked_at or shipped_at or state:picking or state:picked "
                                                  "or state:shipped")
    assert skipped["stage_overdue (delivery)"] == "needs shipped_at, delivered_at or state:delivered"
    assert "amount_spike" not in skipped
    kinds = set(res.flags["kind"].to_list())
    assert not kinds & {"stage_overdue", "duplicate_order", "missing_address", "volume_surge"}


def test_needs_are_declared_per_detector_and_scope():
    vs = REGISTRY["volume_surge"]
    assert vs.unmet({"scope": "line"}, {"quantity"}) == ["sku"]
    assert vs.unmet({"scope": "day"}, {"quantity"}) == []
    picking = REGISTRY["stage_overdue"]
    assert picking.unmet({}, {"paid_at", "state:shipped"}) == []          # a status column that tracks shipping
    # a status column whose words never reach the warehouse (paid, completed) tells nothing of picking
    assert picking.unmet({}, {"paid_at", "status", "state:paid", "state:completed"}) == [
        "picked_at or shipped_at or state:picking or state:picked or state:shipped"]
    delivery = {"stage": "delivery", "start": ["shipped_at"], "end": "delivered_at", "tracked_by": ["state:delivered"]}
    assert picking.unmet(delivery, {"shipped_at", "state:completed"}) == ["delivered_at or state:delivered"]


HEAD = "订单号,门店编号,下单时间,确认时间,拣货时间,发货时间,签收时间,订单状态,商品编码,数量\n"


def test_time_based_rules_never_flag_finished_orders(tmp_path, site_config):
    rows = [
        "A1,MD1,2026-09-01 08:00,2026-09-01 08:05,,,,交易成功,SP1,6",      # done: never stale
        "A2,MD1,2026-09-01 08:00,2026-09-01 08:05,,,,已取消,SP1,6",
        "A3,MD1,2026-09-01 08:00,2026-09-01 08:05,,,,交易关闭,SP1,6",
        "A4,MD1,2026-09-01 08:00,2026-09-01 08:05,,,,已打包,SP1,6",       # picked, time unknown
        "A5,MD1,2026-09-01 08:00,2026-09-01 08:05,,,,待发货,SP1,6",       # waiting: stale
        "B1,MD2,2026-08-25 08:00,2026-08-25 08:05,2026-08-25 09:00,2026-08-25 10:00,,已完成,SP1,6",
        "B2,MD2,2026-08-25 08:00,2026-08-25 08:05,2026-08-25 09:00,2026-08-25 10:00,,已发货,SP1,6",
        "B3,MD2,2026-08-25 08:00,2026-08-25 08:05,2026-08-25 09:00,2026-08-25 10:00,2026-08-26 10:00,已签收,SP1,6",
    ]
    res = _scan(tmp_path, "s.csv", HEAD + "\n".join(rows) + "\n", site_config, as_of=datetime(2026, 9, 1, 20))
    stages = res.flags.filter(pl.col("kind") == "stage_overdue")
    assert sorted(stages.select("rule_id", "order_id").rows()) == [("delivery_overdue", "B2"),
                                                                    ("picking_overdue", "A5")]


def test_backfill_is_judged_as_of_its_newest_event(tmp_path, site_config):
    rows = [
        "H1,MD1,2020-02-29 09:00,2020-02-29 09:05,,,,待发货,SP1,6",         # 14 h before the newest event
        "H2,MD1,2020-02-29 21:30,2020-02-29 21:35,,,,待发货,SP1,6",         # 1.5 h: within the SLA
        "H3,MD1,2020-02-29 22:00,2020-02-29 22:05,2020-02-29 23:00,,,已打包,SP1,6",  # the newest event
    ]
    res = _scan(tmp_path, "old.csv", HEAD + "\n".join(rows) + "\n", site_config, as_of=None)
    r = res.reports[0]
    assert r.backfill and r.judged_as_of == r.newest_event == datetime(2020, 2, 29, 23, 0)
    stale = res.flags.filter(pl.col("rule_id") == "picking_overdue")
    assert stale["order_id"].to_list() == ["H1"]
    assert "13.9小时" in stale["reason"][0]                               # not "waiting 59,918 hours"
    # --as-of given: judged as of then, not a backfill
    again = _scan(tmp_path, "old2.csv", HEAD + "\n".join(rows) + "\n", site_config,
                  as_of=datetime(2020, 3, 1, 0, 0))
    assert not again.reports[0].backfill and again.reports[0].judged_as_of == datetime(2020, 3, 1)


def test_two_buyers_identical_orders_are_not_duplicates():
    at = T0
    same = [line("O1", "S1", "A", 2, at, buyer_id="b1"), line("O2", "S1", "A", 2, at, buyer_id="b2")]
    out = REGISTRY["duplicate_order"].compute(context(same), REGISTRY["duplicate_order"].params).collect()
    assert out.height == 0
    twice = [line("O1", "S1", "A", 2, at, buyer_id="b1"), line("O2", "S1", "A", 2, at, buyer_id="b1")]
    out = REGISTRY["duplicate_order"].compute(context(twice), REGISTRY["duplicate_order"].params).collect()
    assert out["order_id"].to_list() == ["O2"]
    # no buyer column: the store's own repeat is still a duplicate
    plain = [line("O1", "S1", "A", 2, at), line("O2", "S1", "A", 2, at)]
    assert REGISTRY["duplicate_order"].compute(context(plain), REGISTRY["duplicate_order"].params).collect().height == 1
