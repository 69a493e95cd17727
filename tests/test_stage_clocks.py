"""Every stage has its clock, judged only from what the data shows: a later event bounds a stage
but never stands in for its time, a finished stage is counted (level ``report``) and never
queued, done orders never get a time-based flag, an export's own deadline wins over the
configured hours, and the limits follow goods class, logistics method and promotion days."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import func, select

from contracts.config import ConfigError, load_config
from detectors import REGISTRY
from orderwatch.reevaluate import reevaluate
from orderwatch.scan import run_scan
from rules.loader import load_rules
from store import SlaReport, Store
from store.models import Flag
from tests.factories import T0, catalog, context, line

DAY = datetime(2026, 9, 1)


def _scan(tmp_path, name: str, head: str, rows: list[str], cfg, as_of: datetime, db: str = "ow.db"):
    path = tmp_path / name
    path.write_text(head + "".join(r + "\n" for r in rows), encoding="utf-8")
    return run_scan([path], cfg, db_url=f"sqlite:///{tmp_path / db}", as_of=as_of)


def _stage(result, rule_id: str) -> pl.DataFrame:
    return result.flags.filter(pl.col("rule_id") == rule_id)


def _found(result, rule_id: str) -> dict[str, dict]:
    """order -> figures of every finding of ``rule_id``: its own flags and the findings it is in
    another flag's ``explains`` (a waiting stage carries the later stages it holds up)."""
    out = {}
    for row in result.flags.iter_rows(named=True):
        ev = json.loads(row["evidence"]) if row["evidence"] else {}
        if row["rule_id"] == rule_id:
            out[row["order_id"]] = ev
        out.update({row["order_id"]: e["figures"] for e in ev.get("explains", []) if e["rule_id"] == rule_id})
    return out


def _late(result, rule_id: str) -> set[str]:
    return set(result.late_done.filter(pl.col("rule_id") == rule_id)["order_id"])


# -- a later event bounds; it is never the stage's time ------------------------------------------
PAID_SHIPPED = "订单号,门店编号,下单时间,付款时间,发货时间,商品编码,数量\n"


def test_without_a_picking_column_shipping_only_bounds_picking(tmp_path, site_config):
    rows = ["P1,MD1,2026-09-01 07:55,2026-09-01 08:00,2026-09-01 15:00,SP1,6",   # shipped 7 h after payment
            "P2,MD1,2026-09-01 14:25,2026-09-01 14:30,,SP2,6",                    # 5.5 h: within pick + hand-over
            "P3,MD1,2026-09-01 07:55,2026-09-01 08:00,,SP3,6",                    # 12 h: neither picked nor shipped
            "P4,MD2,2026-09-01 12:55,2026-09-01 13:00,2026-09-01 14:00,SP1,6"]
    res = _scan(tmp_path, "t.csv", PAID_SHIPPED, rows, site_config, as_of=DAY.replace(hour=20))
    picking = _stage(res, "picking_overdue")
    assert picking["order_id"].to_list() == ["P3"]
    assert _late(res, "picking_overdue") == set()              # "picked late" cannot be asserted for P1
    row = picking.row(0, named=True)
    evidence = json.loads(row["evidence"])
    assert (evidence["tracked"], evidence["sla_hours"], evidence["hours"]) == (0, 6.0, 12.0)   # 4 h + 2 h hand-over
    assert row["reason_id"] == "stage_overdue.picking.unseen" and "既无拣货也无发货记录" in row["reason"]


def test_picked_by_its_state_or_a_later_event_is_never_stale(tmp_path, site_config):
    head = "订单号,门店编号,下单时间,确认时间,拣货时间,发货时间,订单状态,商品编码,数量\n"
    rows = ["Q1,MD1,2026-09-01 08:00,2026-09-01 08:05,,,已打包,SP1,6",                  # picked: by its state
            "Q2,MD1,2026-09-01 08:00,2026-09-01 08:05,,2026-09-01 19:00,已发货,SP2,6",  # shipped: picked before
            "Q3,MD1,2026-09-01 08:00,2026-09-01 08:05,,,已审核,SP3,6",                   # waiting 12 h
            "Q4,MD2,2026-09-01 08:00,2026-09-01 08:05,2026-09-01 09:00,2026-09-01 10:00,已发货,SP1,6"]
    res = _scan(tmp_path, "t.csv", head, rows, site_config, as_of=DAY.replace(hour=20))
    assert _stage(res, "picking_overdue")["order_id"].to_list() == ["Q3"]
    assert _late(res, "picking_overdue") == set()                                        # no picking time: no judgement


# -- finished late: counted, never queued; done orders: nothing -------------------------------------
FULL = "订单号,门店编号,下单时间,审核时间,拣货时间,发货时间,签收时间,订单状态,商品编码,数量\n"


def test_late_but_done_is_a_report_never_a_flag(tmp_path, site_config):
    rows = ["L1,MD1,2026-08-28 08:00,2026-08-28 08:10,2026-08-28 15:10,2026-08-28 16:00,2026-08-29 10:00,交易成功,SP1,6",
            "L2,MD1,2026-08-28 08:00,2026-08-28 09:30,2026-08-28 10:00,2026-08-28 11:00,2026-08-29 10:00,已签收,SP2,6",
            "L3,MD2,2026-08-28 08:00,2026-08-28 08:10,2026-08-28 09:00,2026-08-28 10:00,2026-09-01 10:00,已签收,SP1,6"]
    res = _scan(tmp_path, "t.csv", FULL, rows, site_config, as_of=DAY.replace(hour=20))
    assert res.flags.filter(pl.col("kind") == "stage_overdue").height == 0
    assert set(res.late_done["level"]) == {"report"}
    assert _late(res, "picking_overdue") == {"L1"}                       # 7 h to pick, completed since
    assert _late(res, "review_overdue") == {"L2"} and _late(res, "auto_review_slow") == {"L1", "L2", "L3"}
    assert _late(res, "delivery_overdue") == {"L3"}                      # 96 h in transit, delivered
    db = f"sqlite:///{tmp_path / 'ow.db'}"
    with Store.open(db) as store, store.engine.connect() as conn:
        kept = conn.execute(select(func.count()).select_from(SlaReport.__table__)).scalar_one()
        levels = set(conn.execute(select(Flag.__table__.c.level)).scalars())
        late = conn.execute(select(SlaReport.__table__.c.overdue_hours).where(
            SlaReport.__table__.c.rule_id == "picking_overdue")).scalar_one()
    assert kept == res.late_done.height and "report" not in levels and late == pytest.approx(3.0)
    again = _scan(tmp_path, "t2.csv", FULL, rows, site_config, as_of=DAY.replace(hour=21))
    with Store.open(db) as store, store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(SlaReport.__table__)).scalar_one() == kept
    assert again.flags_created == 0


def test_completed_closed_and_cancelled_orders_get_no_time_based_flag(tmp_path, site_config):
    head = ("订单号,门店编号,下单时间,付款时间,审核时间,拣货时间,发货时间,签收时间,退款申请时间,退款时间,订单状态,"
            "商品编码,数量\n")
    old = "2026-08-20 08:00"
    rows = [f"D1,MD1,{old},{old},,,,,,,交易成功,SP1,6",            # no review, no picking, nothing: but done
            f"D2,MD1,{old},{old},,,,,{old},,交易关闭,SP1,6",         # closed with an open refund request
            f"D3,MD1,{old},{old},{old},,,,,,已取消,SP1,6",
            f"D4,MD1,{old},{old},{old},{old},{old},,,,已完成,SP1,6",  # completed, never marked delivered
            # the file records every stage (one order that went through all of them)
            "D9,MD2,2026-09-01 08:00,2026-09-01 08:00,2026-09-01 08:02,2026-09-01 09:00,2026-09-01 10:00,"
            "2026-09-01 18:00,2026-09-01 19:00,2026-09-01 19:30,已退款,SP1,6"]
    res = _scan(tmp_path, "t.csv", head, rows, site_config, as_of=DAY.replace(hour=20))
    assert res.flags.filter(pl.col("kind") == "stage_overdue").height == 0
    assert res.reports[0].skipped_detectors.get("stage_overdue (refund)") is None   # judged, and quiet


# -- an export's own deadlines win -----------------------------------------------------------------
def test_the_exports_own_deadlines_win_over_the_configured_hours(tmp_path, site_config):
    head = "订单编号,店铺,下单时间,付款时间,最晚发货时间,发货时间,预计送达时间,签收时间,订单状态,商品编码,数量\n"
    rows = ["S1,MD1,2026-09-01 07:55,2026-09-01 08:00,2026-09-01 10:00,,,,已付款,SP1,6",        # 10 h past ship-by
            "S2,MD1,2026-08-30 07:55,2026-08-30 08:00,2026-09-03 12:00,,,,已付款,SP2,6",        # 60 h, before ship-by
            "S3,MD1,2026-08-30 07:55,2026-08-30 08:00,2026-08-30 09:00,2026-08-30 12:00,,,已发货,SP3,6",
            "S4,MD2,2026-08-25 07:55,2026-08-25 08:00,,2026-08-25 10:00,2026-09-10 00:00,,已发货,SP1,6",   # promised later
            "S5,MD2,2026-08-31 07:55,2026-08-31 08:00,,2026-08-31 10:00,2026-09-01 10:00,,已发货,SP2,6",   # promised 10 h ago
            "S6,MD3,2026-08-28 07:55,2026-08-28 08:00,,2026-08-28 10:00,,2026-08-29 10:00,已签收,SP1,6"]
    res = _scan(tmp_path, "t.csv", head, rows, site_config, as_of=DAY.replace(hour=20))
    ship = _found(res, "shipment_overdue")                            # S1 is not picked either: the
    assert list(ship) == ["S1"]                                       # picking flag carries it
    assert ship["S1"]["deadline"] == 1                                # 12 h after payment, before the 24 h
    assert "最晚发货时间" in res.flags.filter(pl.col("order_id") == "S1")["reason"][0]
    assert _late(res, "shipment_overdue") == {"S3"}                   # shipped 3 h after its ship-by time
    deliver = _stage(res, "delivery_overdue")
    assert deliver["order_id"].to_list() == ["S5"]                    # S4: 7 days in transit, promised later
    assert json.loads(deliver["evidence"][0])["overdue_hours"] == pytest.approx(10.0)


# -- limits per goods class, logistics method and promotion day ---------------------------------------
def _run(batch, params, as_of, cat=None, config=None):
    det = REGISTRY["stage_overdue"]
    ctx = context(batch, cat=cat, as_of=as_of, config=config)
    return {r["order_id"]: r for r in det.compute(ctx, det.with_defaults(params)).collect().iter_rows(named=True)}


def test_fresh_goods_have_the_shorter_picking_limit():
    cat = catalog([{"sku": "F", "fresh": True}, {"sku": "A", "fresh": False}])
    batch = [line("O1", sku="F", confirmed_at=T0), line("O2", sku="A", confirmed_at=T0),
             line("O3", sku="A", confirmed_at=T0, picked_at=T0 + timedelta(hours=1))]
    got = _run(batch, {}, T0 + timedelta(hours=3), cat=cat)
    assert (got["O1"]["sla_hours"], got["O1"]["basis"]) == (2.0, "fresh") and got["O1"]["overdue_hours"] == 1.0
    assert (got["O2"]["sla_hours"], got["O2"]["basis"]) == (4.0, "standard")


DELIVERY = {"stage": "delivery", "start": ["shipped_at"], "end": "delivered_at", "tracked_by": ["state:delivered"],
            "then": "", "deadline": "deliver_by"}


def test_express_delivery_has_its_own_limit():
    shipped = T0 - timedelta(hours=30)
    batch = [line("E1", shipped_at=shipped, shipping_method="顺丰特快"),
             line("E2", shipped_at=shipped, shipping_method="中通快递"),
             line("E3", shipped_at=shipped, shipping_method="Expedited", delivered_at=shipped + timedelta(hours=5))]
    got = _run(batch, DELIVERY, T0)
    assert (got["E1"]["sla_hours"], got["E1"]["latest_hours"], got["E1"]["express"]) == (24.0, 48.0, 1)
    assert (got["E2"]["sla_hours"], got["E2"]["latest_hours"], got["E2"]["express"]) == (72.0, 120.0, 0)
    assert got["E1"]["overdue_hours"] == pytest.approx(6.0) and got["E2"]["overdue_hours"] < 0


SHIPMENT = {"stage": "shipment", "start": ["paid_at", "created_at"], "end": "shipped_at",
            "tracked_by": ["delivered_at", "state:shipped"], "then": "delivery", "deadline": "ship_by"}


def test_orders_of_a_promotion_day_get_the_promotion_limit():
    promo = load_config(overrides={"sla": {"promotion_days": [T0.date().isoformat()]}})
    batch = [line("M1", created_at=T0), line("M2", created_at=T0 - timedelta(days=1)),
             line("M3", created_at=T0, shipped_at=T0 + timedelta(hours=1))]
    got = _run(batch, SHIPMENT, T0 + timedelta(hours=30), config=promo)
    assert (got["M1"]["sla_hours"], got["M1"]["basis"], got["M1"]["promotion"]) == (48.0, "promotion", 1)
    assert (got["M2"]["sla_hours"], got["M2"]["promotion"]) == (24.0, 0)
    assert _run(batch, SHIPMENT, T0 + timedelta(hours=30))["M1"]["sla_hours"] == 24.0   # no promotion days set


# -- one rule per stage and department; refunds; every stage re-evaluated ------------------------------
def test_the_pack_has_one_rule_per_stage_and_department():
    cfg = load_config()
    stages = {r.params["stage"]: (r.id, r.department) for r in load_rules(cfg) if r.detector == "stage_overdue"}
    assert stages == {
        "auto_review": ("auto_review_slow", "customer_service"), "review": ("review_overdue", "customer_service"),
        "picking": ("picking_overdue", "logistics"), "handover": ("handover_overdue", "logistics"),
        "shipment": ("shipment_overdue", "logistics"), "delivery": ("delivery_overdue", "logistics"),
        "refund": ("refund_overdue", "finance")}
    limits = {k: (v.limit.hours, v.limit.latest) for k, v in cfg.sla.stages.items()}
    assert limits == {"auto_review": (5 / 60, 5 / 60), "review": (0.5, 0.5), "picking": (4, 4), "handover": (2, 2),
                      "shipment": (24, 24), "refund": (24, 24), "delivery": (72, 120)}
    assert cfg.sla.stages["picking"].goods["fresh"].hours == 2 and cfg.sla.stages["shipment"].promotion.hours == 48
    assert (cfg.sla.stages["delivery"].methods["express"].hours, cfg.sla.stages["delivery"].methods["express"].latest) \
        == (24, 48)


def test_refunds_have_their_clock(tmp_path, site_config):
    head = "订单号,门店编号,下单时间,付款时间,退款申请时间,退款时间,售后状态,商品编码,数量\n"
    rows = ["R1,MD1,2026-08-30 08:00,2026-08-30 08:01,2026-08-31 10:00,,退款中,SP1,6",          # 34 h waiting
            "R2,MD1,2026-08-29 08:00,2026-08-29 08:01,2026-08-29 10:00,2026-08-31 02:00,退款成功,SP1,6",   # 40 h
            "R3,MD1,2026-09-01 08:00,2026-09-01 08:01,2026-09-01 10:00,,退款中,SP1,6"]         # 10 h: in time
    res = _scan(tmp_path, "t.csv", head, rows, site_config, as_of=DAY.replace(hour=20))
    refund = _stage(res, "refund_overdue")
    assert refund.select("order_id", "level", "department").rows() == [("R1", "warn", "finance")]
    assert "申请退款后已过34.0小时仍未退款" in refund["reason"][0]
    assert _late(res, "refund_overdue") == {"R2"}


def test_reevaluation_covers_every_stage(tmp_path, site_config):
    head = "订单号,门店编号,下单时间,审核时间,退款申请时间,退款时间,商品编码,数量\n"
    rows = ["V1,MD1,2026-09-01 13:00,,,,SP1,6",                                          # awaiting review
            "V2,MD1,2026-09-01 12:00,2026-09-01 12:03,2026-09-01 12:30,,SP1,6",           # awaiting a refund
            "V3,MD1,2026-09-01 11:00,2026-09-01 11:03,2026-09-01 11:30,2026-09-01 12:00,SP2,6"]
    db = f"sqlite:///{tmp_path / 'ow.db'}"
    first = _scan(tmp_path, "t.csv", head, rows, site_config, as_of=DAY.replace(hour=13, minute=10))
    assert first.flags.filter(pl.col("kind") == "stage_overdue").height == 0
    reevaluate(site_config, DAY.replace(hour=13, minute=50), db_url=db)
    reevaluate(site_config, datetime(2026, 9, 2, 14), db_url=db)
    with Store.open(db) as store:
        got = {(r["rule_id"], r["order_id"]): (r["level"], r["department"])
               for r in store.flags_frame().iter_rows(named=True) if r["kind"] == "stage_overdue"}
    assert got == {("review_overdue", "V1"): ("critical", "customer_service"),
                   ("refund_overdue", "V2"): ("warn", "finance")}


# -- the policy's configuration and the rules that name it ------------------------------------------
def test_a_bad_limit_names_its_key():
    with pytest.raises(ConfigError, match=r"sla\.stages\.picking\.limit: a time limit like 30m, 4h or 5d"):
        _ = load_config(overrides={"sla": {"stages": {"picking": {"limit": "soon"}}}}).sla
    with pytest.raises(ConfigError, match=r"sla\.promotion_days\[0\]"):
        _ = load_config(overrides={"sla": {"promotion_days": ["11/11"]}}).sla


@pytest.mark.parametrize("params, problem", [
    ("{stage: packing, start: [confirmed_at], end: picked_at}",
     "params.stage: unknown stage 'packing': config.yaml sla.stages has auto_review, review, picking"),
    ("{stage: picking, start: [confirmed_at], end: picked_at, closes: [done]}", "params.closes: unknown value(s) done"),
    ("{stage: picking, start: confirmed_at, end: picked_at}", "params.start: must be a list of texts"),
    ("{stage: picking, start: [confirmed_at], end: picked_at, then: later}", "params.then: unknown stage 'later'"),
])
def test_a_rule_naming_what_the_policy_lacks_is_refused(tmp_path, params, problem):
    from rules.loader import read_rule_files
    (tmp_path / "r.yaml").write_text(
        "rules:\n  - id: x_overdue\n    title: {zh: x, en: x}\n    detector: stage_overdue\n"
        f"    params: {params}\n"
        "    levels: {report: 'done == 1 and overdue_hours > 0'}\n    department: logistics\n", encoding="utf-8")
    _, problems = read_rule_files(tmp_path, load_config())
    assert any(str(p).endswith(problem) or problem in str(p) for p in problems), [str(p) for p in problems]
    assert all("r.yaml: rule 'x_overdue'" in str(p) for p in problems)


def test_every_stage_sentence_reads_with_its_figures():
    from rules import reasons
    from rules.reasons.stage_overdue import TEMPLATES
    args = {"order_id": "O1", "hours": 7.25, "sla_hours": 4.0, "overdue_hours": 3.25, "start_event": "paid_at",
            "basis": "fresh", "stage": "packing"}
    for key in TEMPLATES:
        for lang in ("zh", "en"):
            text = reasons.render(f"stage_overdue.{key}", args, lang)
            assert text and "—" not in text and "{" not in text and "=1" not in text, (key, lang, text)
            assert "O1" in text and ("3.2" in text or "3.3" in text), (key, lang, text)


# -- SLA statistics: the dashboard and the weekly / monthly workbooks ---------------------------------
def _late_world(tmp_path):
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance"),
                                 "database": {"url": f"sqlite:///{tmp_path / 'sla.db'}"},
                                 "jobs": {"reports": {"dir": str(tmp_path / "reports")}}})
    rows = ["L1,MD1,2026-08-31 08:00,2026-08-31 08:02,2026-08-31 15:00,2026-08-31 16:00,2026-09-01 10:00,交易成功,SP1,6",
            "L2,MD2,2026-08-31 08:00,2026-08-31 08:02,2026-08-31 14:00,2026-08-31 15:00,2026-09-01 10:00,交易成功,SP1,6",
            "W1,MD1,2026-09-01 08:00,2026-09-01 08:02,,,,已审核,SP2,6",            # waiting to be picked: a flag
            "OK,MD2,2026-09-01 08:00,2026-09-01 08:02,2026-09-01 09:00,2026-09-01 10:00,,已发货,SP3,6",
            "RV,MD3,2026-08-31 08:00,2026-08-31 09:00,2026-08-31 10:00,2026-08-31 11:00,2026-09-01 10:00,交易成功,SP1,6"]
    path = tmp_path / "t.csv"
    path.write_text(FULL + "".join(r + "\n" for r in rows), encoding="utf-8")
    run_scan([path], cfg, as_of=DAY.replace(hour=20))
    return cfg


def test_the_dashboard_shows_each_stage_against_its_sla(tmp_path):
    from store.users import add_user
    from web import create_app
    from tests.web_fixtures import PASSWORD, login

    cfg = _late_world(tmp_path)
    app = create_app(cfg, {"TESTING": True})
    store = app.extensions["orderwatch.store"]
    add_user(store.engine, "boss", PASSWORD, role="admin", known_departments=list(cfg.departments))
    add_user(store.engine, "cs", PASSWORD, role="reviewer", departments=["customer_service"],
             known_departments=list(cfg.departments))
    c = app.test_client()
    assert login(c, "boss").status_code == 302
    page = c.get("/dashboard?from=2026-08-25&to=2026-09-05").get_data(as_text=True)
    table = page.split('id="sla-stages"', 1)[1].split("</table>", 1)[0]
    picking = table.split('data-rule="picking_overdue"', 1)[1].split("</tr>", 1)[0]
    cells = [c.split("<", 1)[0] for c in picking.split('class="num')[1:]]
    # limit 4 h; W1 flagged and still open; L1 (7 h) and L2 (6 h) finished late: 2.5 h late on average, 3 at most
    assert [x.split(">", 1)[1] for x in cells] == ["4", "1", "1", "2", "2.5", "3.0"]
    cs = app.test_client()
    login(cs, "cs")
    page = cs.get("/dashboard?from=2026-08-25&to=2026-09-05").get_data(as_text=True)
    assert 'data-rule="picking_overdue"' not in page and 'data-rule="review_overdue"' in page   # their own stages
    store.close()


def test_the_weekly_and_monthly_workbooks_count_late_stages(tmp_path):
    from orderwatch.summaries import Period, write_summary

    cfg = _late_world(tmp_path)
    for period in (Period("weekly", datetime(2026, 8, 31).date(), datetime(2026, 9, 7).date()),
                   Period("monthly", datetime(2026, 8, 1).date(), datetime(2026, 9, 1).date())):
        path = write_summary(cfg, period)
        sheet = pl.read_excel(path, sheet_name="环节时效")
        row = sheet.filter(pl.col("规则") == "picking_overdue").row(0, named=True)
        if period.kind == "weekly":
            assert (row["等待超时（已标记）"], row["其中未关闭"], row["完成但超时（仅统计）"]) == (1, 1, 2)
            assert row["部门"] == "物流部" and row["最长超时小时"] == 3.0
        else:                                                           # August: L1 and L2 only
            assert (row["等待超时（已标记）"], row["完成但超时（仅统计）"]) == (0, 2)


# -- the export's words for deadlines, refunds and logistics -------------------------------------------
@pytest.mark.parametrize("header, field", [
    ("最晚发货时间", "ship_by"), ("承诺发货时间", "ship_by"), ("最晚揽收时间", "ship_by"), ("发货截止时间", "ship_by"),
    ("ship_by", "ship_by"), ("shipping_limit_date", "ship_by"), ("Requested Ship Date", "ship_by"),
    ("Latest Ship Date", "ship_by"), ("预计送达时间", "deliver_by"), ("承诺送达时间", "deliver_by"),
    ("预约配送时间", "deliver_by"), ("estimated_delivery", "deliver_by"), ("Promised Delivery Date", "deliver_by"),
    ("LatestDeliveryDate", "deliver_by"), ("退款申请时间", "refund_requested_at"), ("售后申请时间", "refund_requested_at"),
    ("Refund Requested At", "refund_requested_at"), ("退款完成时间", "refunded_at"), ("配送方式", "shipping_method"),
    ("Shipping Method", "shipping_method"), ("ship-service-level", "shipping_method"), ("支付方式", "payment_method"),
    ("录单日期", "created_at"),
])
def test_deadline_refund_and_logistics_headers_are_recognised(header, field):
    from ingest.recognise import meanings
    assert max(meanings(header), key=lambda m: m.score).field == field


def test_order_fields_on_the_first_line_only_and_cash_on_delivery(tmp_path, site_config):
    """Shopify gives an order's status on its first line only (the others read as awaiting
    payment), and a cash-on-delivery order's payment is "pending" until delivery."""
    head = "Name,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Created at,Lineitem quantity,Lineitem sku," \
           "Cancelled at,Payment Method\n"
    rows = ["#1,refunded,2026-08-20 10:05,unfulfilled,,2026-08-20 10:00,2,A1,2026-08-20 10:30,Card",
            "#1,,,,,2026-08-20 10:00,1,A2,,",                               # cancelled: nothing to pick
            "#2,pending,,unfulfilled,,2026-08-31 10:00,2,A1,,Cash on Delivery (COD)",   # 34 h, not shipped
            "#2,,,,,2026-08-31 10:00,1,A2,,",
            "#3,pending,,unfulfilled,,2026-08-31 10:00,2,A1,,Bank Deposit",   # waiting for the buyer's money
            "#4,paid,2026-08-31 10:05,fulfilled,2026-08-31 12:00,2026-08-31 10:00,2,A1,,Card"]
    res = _scan(tmp_path, "orders_export.csv", head, rows, site_config, as_of=DAY.replace(hour=20))
    assert _stage(res, "picking_overdue")["order_id"].to_list() == ["#2"]
    assert list(_found(res, "shipment_overdue")) == ["#2"]             # a finding of the picking flag


# -- a waiting stage holds up the later ones: one flag, the later clocks as its findings -------------
def test_a_waiting_stage_carries_the_later_stages_it_holds_up(tmp_path, site_config):
    head = "订单号,门店编号,下单时间,付款时间,审核时间,拣货时间,发货时间,订单状态,商品编码,数量\n"
    rows = ["W1,MD1,2026-08-30 07:55,2026-08-30 08:00,,,,待审核,SP1,6",                        # nothing for 60 h
            "W2,MD1,2026-08-30 07:55,2026-08-30 08:00,2026-08-30 08:10,,,已审核,SP2,6",         # reviewed, never picked
            "W3,MD2,2026-09-01 07:55,2026-09-01 08:00,2026-09-01 08:10,,,已审核,SP1,6",         # 12 h: not yet 24 h
            # the file tracks picking and shipping (else those stages are not judged at all)
            "W4,MD2,2026-09-01 07:55,2026-09-01 08:00,2026-09-01 08:10,2026-09-01 09:00,2026-09-01 10:00,已发货,SP1,6"]
    res = _scan(tmp_path, "t.csv", head, rows, site_config, as_of=DAY.replace(hour=20))
    stages = res.flags.filter(pl.col("kind") == "stage_overdue")
    by_order = {o: sorted(g["rule_id"]) for (o,), g in stages.group_by("order_id")}
    assert by_order == {"W1": ["review_overdue"], "W2": ["picking_overdue"], "W3": ["picking_overdue"]}
    explains = {r["order_id"]: sorted(e["rule_id"] for e in json.loads(r["evidence"]).get("explains", []))
                for r in stages.iter_rows(named=True)}
    assert explains == {"W1": ["shipment_overdue"], "W2": ["shipment_overdue"], "W3": []}
    w1 = stages.filter(pl.col("order_id") == "W1").row(0, named=True)
    assert (w1["department"], w1["level"]) == ("customer_service", "critical")
