"""Delivering notifications: SMTP and webhooks down and back, retries with backoff, giving up,
webhook formats, store-manager notices, concurrent deliverers sending once."""

from __future__ import annotations

import threading
from datetime import timedelta
from types import SimpleNamespace

from sqlalchemy import update

from alerts import notify
from alerts.notify import deliver, enqueue, list_notifications, plan
from store.models import Notification
from tests.alerts_support import (  # noqa: F401,F811  (fixtures)
    NO_RULES,
    add_flags,
    flag_id,
    free_port,
    hook,
    make_config,
    notes,
    pg_url,
    smtp,
    store,
    utcnow,
)


def test_smtp_down_then_back_delivers_exactly_once(store, smtp):
    config = make_config(smtp.port)
    add_flags(store, [{"order_id": "A1"}])
    t0 = utcnow()
    assert plan(store.engine, config, t0, rules=NO_RULES) == 1
    smtp.stop()
    assert deliver(store.engine, config, t0) == {"sent": 0, "failed": 1, "dead": 0}
    n = notes(store)[0]
    assert n["status"] == "pending" and n["attempts"] == 1
    assert n["next_attempt_at"] == t0 + timedelta(seconds=30)
    assert f"SMTP 127.0.0.1:{smtp.port}" in n["last_error"] and "Connection" in n["last_error"]
    assert deliver(store.engine, config, t0 + timedelta(seconds=29)) == {"sent": 0, "failed": 0, "dead": 0}  # backing off
    assert deliver(store.engine, config, t0 + timedelta(seconds=30)) == {"sent": 0, "failed": 1, "dead": 0}
    assert notes(store)[0]["next_attempt_at"] == t0 + timedelta(seconds=90)   # 30 s, then 60 s
    smtp.start()
    assert deliver(store.engine, config, t0 + timedelta(seconds=60)) == {"sent": 0, "failed": 0, "dead": 0}
    assert smtp.inbox.messages == []
    assert deliver(store.engine, config, t0 + timedelta(seconds=90)) == {"sent": 1, "failed": 0, "dead": 0}
    assert deliver(store.engine, config, t0 + timedelta(hours=5)) == {"sent": 0, "failed": 0, "dead": 0}
    assert len(smtp.inbox.messages) == 1 and "订单 A1" in smtp.inbox.messages[0]["body"]
    n = notes(store)[0]
    assert (n["status"], n["attempts"], n["sent_at"]) == ("sent", 3, t0 + timedelta(seconds=90))
    assert n["last_error"]                                                     # the history stays visible


def test_gives_up_after_max_attempts(store):
    config = make_config(free_port())
    add_flags(store, [{"order_id": "A1"}])
    t = utcnow()
    plan(store.engine, config, t, rules=NO_RULES)
    results = []
    for _ in range(6):
        results.append(deliver(store.engine, config, t))
        t += timedelta(hours=2)
    assert [r["failed"] for r in results] == [1, 1, 1, 0, 0, 0]
    assert [r["dead"] for r in results] == [0, 0, 0, 1, 0, 0]
    n = notes(store)[0]
    assert (n["status"], n["attempts"]) == ("dead", 4) and n["last_error"]
    assert [x["id"] for x in list_notifications(store.engine, "dead")] == [n["id"]]


def test_backoff_is_capped(store):
    config = make_config()
    from alerts.settings import load_settings
    s = load_settings(config)
    assert [notify.backoff(s, a).total_seconds() for a in (1, 2, 3, 7, 8, 20)] == [30, 60, 120, 1920, 3600, 3600]


def test_unknown_receiver_fails_visibly(store, smtp):
    config = make_config(smtp.port)
    nid = enqueue(store.engine, receiver="pager", kind="escalation", group_key="flag=1", dedupe_key="esc:1",
                  subject="超时未确认", body="…")
    assert enqueue(store.engine, receiver="pager", kind="escalation", group_key="flag=1", dedupe_key="esc:1",
                   subject="again", body="…") is None
    assert deliver(store.engine, config, utcnow()) == {"sent": 0, "failed": 1, "dead": 0}
    n = notes(store)[0]
    assert n["id"] == nid and n["status"] == "pending"
    assert n["last_error"] == "unknown receiver 'pager' (not in alerts.receivers)"


def test_webhook_formats(store, hook):
    receivers = [{"name": "j", "webhook": {"url": f"{hook.url}/j", "format": "json"}},
                 {"name": "d", "webhook": {"url": f"{hook.url}/robot/send?access_token=t", "format": "dingtalk"}},
                 {"name": "w", "webhook": {"url": f"{hook.url}/cgi-bin/webhook/send?key=k", "format": "wecom"}}]
    route = {"receiver": "j", "group_by": ["store_id"],
             "routes": [{"match": {"level": "critical"}, "receiver": "d", "continue": True},
                        {"match_re": {"kind": "amount_.*"}, "receiver": "w"}]}
    config = make_config(receivers=receivers, route=route)
    add_flags(store, [{"order_id": "A1", "level": "critical", "kind": "amount_spike", "title": "金额突增",
                       "reason": "订单金额 ¥98,000，是门店中位数的 30 倍"}])
    t = utcnow()
    assert plan(store.engine, config, t, rules=NO_RULES) == 2               # d (continue) and w
    assert deliver(store.engine, config, t) == {"sent": 2, "failed": 0, "dead": 0}
    by = {r["path"].split("?")[0]: r for r in hook.requests}
    ding = by["/robot/send"]["json"]
    assert ding["msgtype"] == "markdown" and set(ding["markdown"]) == {"title", "text"}
    assert ding["markdown"]["title"].startswith("【异常订单】门店 MD0001 朝阳门店：1 条异常未处理（严重 1）")
    assert "金额突增" in ding["markdown"]["text"] and "¥98,000" in ding["markdown"]["text"]
    assert by["/robot/send"]["ctype"] == "application/json; charset=utf-8"
    wecom = by["/cgi-bin/webhook/send"]["json"]
    assert wecom["msgtype"] == "markdown" and list(wecom["markdown"]) == ["content"]
    assert "订单 A1" in wecom["markdown"]["content"]

    add_flags(store, [{"order_id": "A2", "store_id": "MD0009", "store_name": "西单店"}])
    plan(store.engine, config, t, rules=NO_RULES)
    deliver(store.engine, config, t)
    body = hook.requests[-1]["json"]
    assert hook.requests[-1]["path"] == "/j"
    assert (body["receiver"], body["kind"], body["group_key"]) == ("j", "firing", "store_id=MD0009")
    assert [(f["order_id"], f["level"], f["store_name"], f["title"]) for f in body["flags"]] == [
        ("A2", "warn", "西单店", "数量异常")]
    assert body["flags"][0]["id"] == flag_id(store, "A2") and body["flags"][0]["department_name"] == "采购部"


def test_webhook_500_then_200(store, hook):
    config = make_config(receivers=[{"name": "j", "webhook": {"url": f"{hook.url}/x", "format": "json"}}],
                         route={"receiver": "j"})
    add_flags(store, [{"order_id": "A1"}])
    t = utcnow()
    plan(store.engine, config, t, rules=NO_RULES)
    hook.statuses = [500]
    assert deliver(store.engine, config, t) == {"sent": 0, "failed": 1, "dead": 0}
    n = notes(store)[0]
    assert n["status"] == "pending" and n["attempts"] == 1
    assert n["last_error"].startswith(f"webhook 127.0.0.1:{hook.url.rsplit(':', 1)[1]}: HTTP 500")
    assert deliver(store.engine, config, t + timedelta(seconds=10)) == {"sent": 0, "failed": 0, "dead": 0}
    assert deliver(store.engine, config, t + timedelta(seconds=30)) == {"sent": 1, "failed": 0, "dead": 0}
    assert deliver(store.engine, config, t + timedelta(hours=1)) == {"sent": 0, "failed": 0, "dead": 0}
    assert len(hook.requests) == 2 and hook.requests[0]["json"] == hook.requests[1]["json"]
    assert notes(store)[0]["status"] == "sent"


def test_robot_errcode_is_a_failure(store, hook):
    config = make_config(receivers=[{"name": "d", "webhook": {"url": f"{hook.url}/r", "format": "dingtalk"}}],
                         route={"receiver": "d"})
    add_flags(store, [{"order_id": "A1"}])
    t = utcnow()
    plan(store.engine, config, t, rules=NO_RULES)
    hook.answers = [{"errcode": 310000, "errmsg": "keywords not in content"}]
    assert deliver(store.engine, config, t)["failed"] == 1
    assert "errcode 310000: keywords not in content" in notes(store)[0]["last_error"]


def test_connection_refused_webhook(store):
    config = make_config(receivers=[{"name": "j", "webhook": {"url": f"http://127.0.0.1:{free_port()}/x"}}],
                         route={"receiver": "j"})
    add_flags(store, [{"order_id": "A1"}])
    plan(store.engine, config, utcnow(), rules=NO_RULES)
    assert deliver(store.engine, config, utcnow())["failed"] == 1
    assert "refused" in notes(store)[0]["last_error"].lower()


def test_store_manager_notice(store, smtp, hook):
    contacts = {"MD0001": {"email": "manager.md0001@example.com"},
                "MD0002": {"webhook": {"url": f"{hook.url}/wecom", "format": "wecom"}}}
    config = make_config(smtp.port, store_contacts=contacts)
    rules = [SimpleNamespace(id="big_qty", notify_store=True), SimpleNamespace(id="late_pick", notify_store=False)]
    add_flags(store, [{"order_id": "A1", "level": "critical"}, {"order_id": "A2", "level": "critical"},
                      {"order_id": "A3"},                                          # not critical
                      {"order_id": "A4", "level": "critical", "rule_id": "late_pick"},  # rule doesn't notify
                      {"order_id": "B1", "level": "critical", "store_id": "MD0002", "store_name": "海淀门店"},
                      {"order_id": "C1", "level": "critical", "store_id": "MD0003"}])  # no contact
    t = utcnow()
    assert plan(store.engine, config, t, rules=rules) == 3 + 2                  # 3 department groups + 2 stores
    assert plan(store.engine, config, t, rules=rules) == 0
    assert deliver(store.engine, config, t) == {"sent": 5, "failed": 0, "dead": 0}
    mgr = [m for m in smtp.inbox.messages if m["rcpt"] == ["manager.md0001@example.com"]]
    assert len(mgr) == 1
    assert mgr[0]["subject"] == "【严重异常】门店 MD0001 朝阳门店：2 条严重异常，请立即处理"
    assert "订单 A1" in mgr[0]["body"] and "订单 A2" in mgr[0]["body"] and "订单 A3" not in mgr[0]["body"]
    assert "订单 A4" not in mgr[0]["body"]
    assert [r["path"] for r in hook.requests] == ["/wecom"]
    assert "海淀门店" in hook.requests[0]["json"]["markdown"]["content"]
    assert {n["receiver"] for n in notes(store)} == {"purchasing-mail", "store:MD0001", "store:MD0002"}
    # raised to critical later: one more store notice
    add_flags(store, [{"order_id": "A3", "level": "critical"}])
    assert plan(store.engine, config, t + timedelta(minutes=1), rules=rules) == 2
    assert notes(store)[-1]["receiver"] == "store:MD0001" and notes(store)[-1]["flag_ids"] == [flag_id(store, "A3")]


def test_concurrent_deliverers_send_once(store, smtp):
    config = make_config(smtp.port)
    add_flags(store, [{"order_id": f"A{i}", "store_id": f"MD{i:04d}"} for i in range(12)])
    t = utcnow()
    assert plan(store.engine, config, t, rules=NO_RULES) == 12
    results, barrier = [], threading.Barrier(4)

    def run():
        barrier.wait()
        results.append(deliver(store.engine, config, t))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(r["sent"] for r in results) == 12
    assert len(smtp.inbox.messages) == 12
    assert len({m["subject"] for m in smtp.inbox.messages}) == 12


def test_claimed_row_is_not_sent_again(store, smtp):
    """A row another deliverer holds ('sending') is skipped; an abandoned claim comes back later."""
    config = make_config(smtp.port)
    nid = enqueue(store.engine, receiver="ops-mail", kind="digest", group_key=None, dedupe_key="d1",
                  subject="日报", body="正文")
    t = utcnow()
    t_ = Notification.__table__
    with store.engine.begin() as conn:
        conn.execute(update(t_).where(t_.c.id == nid).values(status="sending", next_attempt_at=t + timedelta(minutes=10)))
    assert deliver(store.engine, config, t) == {"sent": 0, "failed": 0, "dead": 0}
    assert deliver(store.engine, config, t + timedelta(minutes=11))["sent"] == 1
    n = notes(store)[0]
    assert n["status"] == "sent" and n["attempts"] == 2 and "interrupted" in n["last_error"]
    assert smtp.inbox.messages[0]["subject"] == "日报"


def test_one_failure_per_receiver_per_run(store):
    config = make_config(free_port())
    add_flags(store, [{"order_id": f"A{i}", "store_id": f"MD{i:04d}"} for i in range(5)])
    t = utcnow()
    plan(store.engine, config, t, rules=NO_RULES)
    assert deliver(store.engine, config, t) == {"sent": 0, "failed": 1, "dead": 0}
    assert sorted(n["attempts"] for n in notes(store)) == [0, 0, 0, 0, 1]
    assert all(n["status"] == "pending" for n in notes(store))


def test_long_group_is_clipped(store, hook):
    config = make_config(receivers=[{"name": "w", "webhook": {"url": f"{hook.url}/w", "format": "wecom"}}],
                         route={"receiver": "w"})
    add_flags(store, [{"order_id": f"A{i:03d}"} for i in range(80)])
    t = utcnow()
    plan(store.engine, config, t, rules=NO_RULES)
    n = notes(store)[0]
    assert len(n["flag_ids"]) == 80 and "……另有 30 条" in n["body"] and len(n["payload"]["flags"]) == 80
    deliver(store.engine, config, t)
    content = hook.requests[0]["json"]["markdown"]["content"]
    assert len(content.encode("utf-8")) <= 4096 and content.endswith("（内容过长，已截断）")
