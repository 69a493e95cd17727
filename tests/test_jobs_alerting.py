"""The alerting jobs end to end through run_job, with a controlled clock and a real SMTP
server: notify (routed and grouped), escalate, store digests, reports (workbook attached),
re-evaluation."""

from datetime import datetime

import polars as pl
import pytest

from contracts.config import load_config
from jobs.registry import run_job
from orderwatch.scan import run_scan
from store import Store
from tests.alerts_support import SmtpServer

HEAD = "订单号,门店编号,下单时间,确认时间,拣货时间,商品编码,数量,单价,支付方式,实付金额,收货人,联系电话,省份,城市,区县,详细地址\n"
ADDR = "张三,13812345678,浙江省,杭州市,西湖区,文三路90号"


@pytest.fixture
def setup(tmp_path):
    smtp = SmtpServer()
    smtp.start()
    cfg = load_config(overrides={
        "instance_dir": str(tmp_path / "instance"),
        "database": {"url": f"sqlite:///{tmp_path / 'j.db'}"},
        "alerts": {
            "smtp": {"host": "127.0.0.1", "port": smtp.port, "from": "orderwatch@test"},
            "receivers": [{"name": "ops-mail", "email": {"to": ["ops@test"]}},
                          {"name": "finance-mail", "email": {"to": ["fin@test"]}}],
            "route": {"receiver": "ops-mail", "group_by": ["department", "store_id"],
                      "routes": [{"match": {"department": "finance"}, "receiver": "finance-mail"}]},
            "escalation_receiver": "ops-mail",
            "store_contacts": {"MD1": {"email": "md1@test"}},
        },
        "jobs": {"reports": {"dir": str(tmp_path / "reports"), "receivers": ["ops-mail"]}},
    })
    rows = [f"A{i},MD1,2026-09-01 13:0{i},2026-09-01 13:1{i},,SP{i},6,10,微信支付,{50 if i < 2 else 60},{ADDR}"
            for i in range(3)]                                        # 2 paid-amount mismatches at MD1
    rows.append("B1,MD2,2026-09-01 13:00,2026-09-01 13:05,,SP1,6,10,微信支付,60,,1381234567,浙江省,杭州市,,路")
    # the export tracks picking (C1 was picked in time), so an empty pick time means "not picked"
    rows.append(f"C1,MD3,2026-09-01 13:00,2026-09-01 13:05,2026-09-01 13:30,SP1,6,10,微信支付,60,{ADDR}")
    path = tmp_path / "o.csv"
    path.write_text(HEAD + "\n".join(rows) + "\n", encoding="utf-8")
    run_scan([path], cfg, as_of=datetime(2026, 9, 1, 14))
    store = Store.open(cfg.database_url)
    yield cfg, store, smtp
    store.close()
    smtp.stop()


def test_notify_routes_and_groups(setup):
    cfg, store, smtp = setup
    r = run_job("notify", datetime(2026, 9, 1, 14, 5), config=cfg, engine=store.engine)
    assert r.ok, r.error
    got = {(tuple(m["rcpt"]), m["subject"]) for m in smtp.inbox.messages}
    fin = [m for m in smtp.inbox.messages if m["rcpt"] == ["fin@test"]]
    assert len(fin) == 1 and "A0" in fin[0]["body"] and "A1" in fin[0]["body"]   # one mail per store and batch
    assert any(m["rcpt"] == ["ops@test"] and "B1" in m["body"] for m in smtp.inbox.messages), got
    again = run_job("notify", datetime(2026, 9, 1, 14, 6), config=cfg, engine=store.engine)
    assert again.ok and len(smtp.inbox.messages) == len(got)                     # nothing twice


def test_escalation_job_sends_to_the_escalation_receiver(setup):
    cfg, store, smtp = setup
    with store.engine.begin() as conn:
        conn.exec_driver_sql("UPDATE flags SET created_at = ?", (datetime(2026, 9, 1, 5, 0),))
    # 14:00 Shanghai = 06:00 UTC: 60 min after creation; customer service (30 min) is overdue, finance (4 h) not
    r = run_job("escalate", datetime(2026, 9, 1, 14, 0), config=cfg, engine=store.engine)
    assert r.ok and r.summary.startswith("escalated")
    flags = store.flags_frame()
    assert flags.filter(pl.col("department") == "customer_service")["level"].to_list() == ["critical"]
    run_job("notify", datetime(2026, 9, 1, 14, 1), config=cfg, engine=store.engine)
    esc = [m for m in smtp.inbox.messages if "升级" in m["subject"]]
    assert esc and all(m["rcpt"] == ["ops@test"] for m in esc)


def test_store_digest_goes_to_the_store_manager_only(setup):
    cfg, store, smtp = setup
    assert run_job("store_digest", datetime(2026, 9, 2, 8), config=cfg, engine=store.engine).ok
    run_job("notify", datetime(2026, 9, 2, 8, 1), config=cfg, engine=store.engine)
    digest = [m for m in smtp.inbox.messages if "每日异常汇总" in m["subject"]]
    assert len(digest) == 1 and digest[0]["rcpt"] == ["md1@test"]
    assert "A0" in digest[0]["body"] and "B1" not in digest[0]["body"]
    assert run_job("store_digest", datetime(2026, 9, 2, 9), config=cfg, engine=store.engine).summary.startswith("0")


def test_weekly_report_is_written_and_mailed_with_the_workbook(setup):
    cfg, store, smtp = setup
    r = run_job("weekly_report", datetime(2026, 9, 7, 8), config=cfg, engine=store.engine)   # a Monday
    assert r.ok and "orderwatch_weekly_2026-W36.xlsx" in r.summary
    run_job("notify", datetime(2026, 9, 7, 8, 1), config=cfg, engine=store.engine)
    mail = [m for m in smtp.inbox.messages if "周订单与异常汇总" in m["subject"]]
    assert len(mail) == 1
    parts = [p for p in mail[0]["msg"].iter_attachments()]
    assert [p.get_filename() for p in parts] == ["orderwatch_weekly_2026-W36.xlsx"]
    assert parts[0].get_content()[:2] == b"PK"                                  # a real xlsx (zip)


def test_reevaluate_job_raises_picking_overdue_with_time(setup):
    cfg, store, _ = setup
    r = run_job("reevaluate", datetime(2026, 9, 1, 23), config=cfg, engine=store.engine)
    assert r.ok, r.error
    stale = store.flags_frame().filter(pl.col("rule_id") == "picking_overdue")
    assert stale.height == 4 and set(stale["level"]) == {"critical"}
