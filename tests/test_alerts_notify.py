"""Planning notifications: grouping, repeats, resolved notices, silences."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from alerts import silences
from alerts.notify import deliver, plan
from store.lifecycle import transition
from store.models import Flag
from tests.alerts_support import (  # noqa: F401,F811  (fixtures)
    NO_RULES,
    add_flags,
    flag_id,
    free_port,
    make_config,
    notes,
    pg_url,
    smtp,
    store,
    utcnow,
)


def test_three_flags_of_one_store_make_one_email(store, smtp):
    config = make_config(smtp.port)
    add_flags(store, [{"order_id": "A1"}, {"order_id": "A2", "level": "critical", "reason": "数量 400"},
                      {"order_id": "A3", "store_id": "MD0002", "store_name": "海淀门店"},
                      {"order_id": "A4", "rule_id": "late_pick", "kind": "sla", "title": "拣货超时"}])
    now = utcnow()
    assert plan(store.engine, config, now, rules=NO_RULES) == 2           # MD0001 and MD0002
    assert plan(store.engine, config, now, rules=NO_RULES) == 0           # planning twice: nothing twice
    assert deliver(store.engine, config, now) == {"sent": 2, "failed": 0, "dead": 0}
    assert deliver(store.engine, config, now) == {"sent": 0, "failed": 0, "dead": 0}

    mails = {m["subject"]: m for m in smtp.inbox.messages}
    assert len(smtp.inbox.messages) == 2
    md1 = next(m for s, m in mails.items() if "MD0001" in s)
    assert sorted(md1["rcpt"]) == sorted(["buyer@example.com", "采购@example.com", "boss@example.com"])
    assert md1["from"] == "orderwatch@example.com"
    assert md1["msg"]["Cc"] == "boss@example.com"
    assert md1["subject"] == "【异常订单】采购部 · 门店 MD0001 朝阳门店：3 条异常未处理（严重 1）"
    body = md1["body"]
    assert "新增或升级 3 条" in body and "拣货超时" in body and "数量异常" in body
    assert "- [严重] 数量异常 ｜ 门店 MD0001 朝阳门店 ｜ 订单 A2 ｜ 发生 2026-11-29 10:15 ｜ 原因：数量 400" in body
    assert body.index("订单 A2") < body.index("订单 A1")                   # critical first
    assert "订单 A3" not in body
    rows = notes(store)
    assert [r["status"] for r in rows] == ["sent", "sent"] and all(r["attempts"] == 1 for r in rows)
    assert rows[0]["group_key"] == "department=purchasing,store_id=MD0001"
    assert sorted(rows[0]["flag_ids"]) == sorted(flag_id(store, o) for o in ("A1", "A2", "A4"))
    with store.engine.connect() as conn:
        assert all(conn.execute(select(Flag.__table__.c.notified_at)).scalars())


def test_new_flag_in_open_group_and_level_raise(store, smtp):
    config = make_config(smtp.port)
    add_flags(store, [{"order_id": "A1"}])
    now = utcnow()
    assert plan(store.engine, config, now, rules=NO_RULES) == 1
    add_flags(store, [{"order_id": "A2"}])
    assert plan(store.engine, config, now + timedelta(minutes=1), rules=NO_RULES) == 1
    body = notes(store)[-1]["body"]
    assert "新增或升级 1 条" in body and "订单 A2" in body and "仍未处理 1 条" in body
    assert notes(store)[-1]["subject"].endswith("新增 1 条，共 2 条未处理")
    # acknowledging is no news ...
    transition(store.engine, flag_id(store, "A1"), actor="li", to_status="acknowledged", expected_version=1)
    assert plan(store.engine, config, now + timedelta(minutes=2), rules=NO_RULES) == 0
    # ... a level raise is
    add_flags(store, [{"order_id": "A1", "level": "critical"}])
    assert plan(store.engine, config, now + timedelta(minutes=3), rules=NO_RULES) == 1
    last = notes(store)[-1]
    assert "新增或升级 1 条" in last["body"] and "[严重] 数量异常" in last["body"]
    assert last["payload"]["new_flag_ids"] == [flag_id(store, "A1")]


def test_repeat_interval(store, smtp):
    config = make_config(smtp.port)
    add_flags(store, [{"order_id": "A1"}, {"order_id": "A2"}])
    t0 = utcnow()
    assert plan(store.engine, config, t0, rules=NO_RULES) == 1
    assert deliver(store.engine, config, t0)["sent"] == 1
    for minutes in (1, 60, 239):                                           # within the interval: nothing
        assert plan(store.engine, config, t0 + timedelta(minutes=minutes), rules=NO_RULES) == 0
    assert plan(store.engine, config, t0 + timedelta(minutes=241), rules=NO_RULES) == 1
    assert plan(store.engine, config, t0 + timedelta(minutes=242), rules=NO_RULES) == 0
    rep = notes(store)[-1]
    assert rep["subject"].startswith("【重复提醒】") and "2 条异常未处理" in rep["subject"]
    assert deliver(store.engine, config, t0 + timedelta(minutes=242))["sent"] == 1
    assert plan(store.engine, config, t0 + timedelta(minutes=242 + 239), rules=NO_RULES) == 0
    assert plan(store.engine, config, t0 + timedelta(minutes=242 + 241), rules=NO_RULES) == 1
    # a group whose flags are all acknowledged is not nagged
    for o in ("A1", "A2"):
        transition(store.engine, flag_id(store, o), actor="li", to_status="acknowledged", expected_version=1)
    deliver(store.engine, config, t0 + timedelta(minutes=500))
    assert plan(store.engine, config, t0 + timedelta(minutes=800), rules=NO_RULES) == 0
    assert len(smtp.inbox.messages) == 3


def test_no_repeat_on_top_of_an_undelivered_message(store):
    config = make_config(free_port())                                      # nobody listens
    add_flags(store, [{"order_id": "A1"}])
    t0 = utcnow()
    assert plan(store.engine, config, t0, rules=NO_RULES) == 1
    assert plan(store.engine, config, t0 + timedelta(hours=10), rules=NO_RULES) == 0


def test_resolved_notice(store, smtp):
    config = make_config(smtp.port)
    add_flags(store, [{"order_id": "A1"}, {"order_id": "A2"}])
    t0 = utcnow()
    plan(store.engine, config, t0, rules=NO_RULES)
    deliver(store.engine, config, t0)
    transition(store.engine, flag_id(store, "A1"), actor="li", to_status="resolved", resolution="corrected",
               expected_version=1, note="已联系门店")
    t1 = utcnow() + timedelta(seconds=1)
    assert plan(store.engine, config, t1, rules=NO_RULES) == 1
    assert plan(store.engine, config, t1, rules=NO_RULES) == 0
    assert deliver(store.engine, config, t1)["sent"] == 1
    mail = smtp.inbox.messages[-1]
    assert mail["subject"] == "【已处理】采购部 · 门店 MD0001 朝阳门店：1 条异常已关闭"
    assert "订单 A1" in mail["body"] and "已解决（已更正）" in mail["body"] and "订单 A2" not in mail["body"]
    assert notes(store)[-1]["kind"] == "resolved"
    # a flag resolved before it was ever announced gets no resolved notice
    add_flags(store, [{"order_id": "B1"}])
    fid = flag_id(store, "B1")
    transition(store.engine, fid, actor="li", to_status="dismissed", expected_version=1)
    assert plan(store.engine, config, t1 + timedelta(seconds=5), rules=NO_RULES) == 0
    # reopened: firing again; resolved again: announced again
    transition(store.engine, flag_id(store, "A1"), actor="li", to_status="open", expected_version=2)
    assert plan(store.engine, config, utcnow() + timedelta(seconds=2), rules=NO_RULES) == 1
    assert notes(store)[-1]["kind"] == "firing" and flag_id(store, "A1") in notes(store)[-1]["payload"]["new_flag_ids"]
    transition(store.engine, flag_id(store, "A1"), actor="li", to_status="resolved", resolution="confirmed",
               expected_version=3)
    assert plan(store.engine, config, utcnow() + timedelta(seconds=3), rules=NO_RULES) == 1
    assert notes(store)[-1]["kind"] == "resolved"


def test_send_resolved_false(store, smtp):
    route = {"receiver": "ops-mail", "send_resolved": False}
    config = make_config(smtp.port, route=route)
    add_flags(store, [{"order_id": "A1"}])
    plan(store.engine, config, utcnow(), rules=NO_RULES)
    transition(store.engine, flag_id(store, "A1"), actor="li", to_status="dismissed", expected_version=1)
    assert plan(store.engine, config, utcnow() + timedelta(seconds=1), rules=NO_RULES) == 0
    assert plan(store.engine, config, utcnow() + timedelta(seconds=2), rules=NO_RULES) == 0


def test_silences(store, smtp):
    config = make_config(smtp.port)
    t0 = utcnow()
    with pytest.raises(silences.SilenceError, match="comment"):
        silences.add(store.engine, {"store_id": "MD0001"}, t0, t0 + timedelta(hours=1), "li", " ")
    with pytest.raises(silences.SilenceError, match="creator"):
        silences.add(store.engine, {"store_id": "MD0001"}, t0, t0 + timedelta(hours=1), "", "x")
    with pytest.raises(silences.SilenceError, match="end after"):
        silences.add(store.engine, {"store_id": "MD0001"}, t0, t0, "li", "x")
    with pytest.raises(silences.SilenceError, match="unknown label 'store'"):
        silences.add(store.engine, {"store": "MD0001"}, t0, t0 + timedelta(hours=1), "li", "x")
    with pytest.raises(silences.SilenceError, match="at least one matcher"):
        silences.add(store.engine, {}, t0, t0 + timedelta(hours=1), "li", "x")
    sid = silences.add(store.engine, {"store_id": "MD0001", "department": "purchasing"}, t0 - timedelta(minutes=1),
                       t0 + timedelta(hours=2), "li", "门店盘点，数据异常属正常")
    assert [s["id"] for s in silences.list_active(store.engine, t0)] == [sid]
    assert silences.list_active(store.engine, t0 + timedelta(hours=2)) == []

    add_flags(store, [{"order_id": "A1"}, {"order_id": "A2", "store_id": "MD0002", "store_name": "海淀门店"}])
    assert plan(store.engine, config, t0, rules=NO_RULES) == 1
    assert deliver(store.engine, config, t0)["sent"] == 1
    assert "MD0002" in smtp.inbox.messages[0]["subject"]
    assert plan(store.engine, config, t0 + timedelta(minutes=30), rules=NO_RULES) == 0
    with store.engine.connect() as conn:                                    # silenced: still there, open
        row = conn.execute(select(Flag.__table__).where(Flag.__table__.c.order_id == "A1")).mappings().one()
    assert row["status"] == "open" and row["notified_at"] is None
    # expired → sent at the next run
    assert silences.expire(store.engine, sid, t0 + timedelta(hours=1)) is True
    assert silences.expire(store.engine, sid, t0 + timedelta(hours=1)) is False
    assert plan(store.engine, config, t0 + timedelta(hours=1, minutes=1), rules=NO_RULES) == 1
    assert deliver(store.engine, config, t0 + timedelta(hours=1, minutes=1))["sent"] == 1
    assert "MD0001" in smtp.inbox.messages[1]["subject"] and "订单 A1" in smtp.inbox.messages[1]["body"]
    with pytest.raises(silences.SilenceError, match="no silence 999"):
        silences.expire(store.engine, 999, t0)


def test_silence_that_ends_by_itself(store, smtp):
    config = make_config(smtp.port)
    t0 = utcnow()
    silences.add(store.engine, {"level": "warn"}, t0, t0 + timedelta(hours=1), "li", "维护窗口")
    add_flags(store, [{"order_id": "A1"}])
    assert plan(store.engine, config, t0 + timedelta(minutes=5), rules=NO_RULES) == 0
    assert plan(store.engine, config, t0 + timedelta(hours=1), rules=NO_RULES) == 1
