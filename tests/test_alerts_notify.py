"""Planning and delivery against real parts: a real SMTP server (aiosmtpd) and a real HTTP
server for webhooks, a SQLite store with flags upserted the way scans do, a controlled clock."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import polars as pl
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from alerts import notify, silences
from alerts.notify import deliver, enqueue, list_notifications, plan
from orderwatch.config import load_config
from store import Store
from store.lifecycle import transition
from store.models import Flag, Notification
from tests.test_store import pg_url  # noqa: F401  (fixture: a throwaway PostgreSQL database)

T_OCC = datetime(2026, 11, 29, 10, 15)


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- real servers ------------------------------------------------------------------------------
class Inbox:
    """aiosmtpd handler: every accepted message with its envelope."""

    def __init__(self) -> None:
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        self.messages.append({"from": envelope.mail_from, "rcpt": list(envelope.rcpt_tos), "msg": msg,
                              "subject": str(msg["subject"]), "body": msg.get_body().get_content()})
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp():
    s = SmtpServer()
    s.start()
    yield s
    s.stop()


class Hook:
    """A local HTTP server recording POSTed JSON; ``statuses`` are the answers to give, in order."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses: list[int] = []
        self.answers: list[dict] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                data = self.rfile.read(int(self.headers["Content-Length"]))
                hook.requests.append({"path": self.path, "ctype": self.headers["Content-Type"],
                                      "json": json.loads(data.decode("utf-8"))})
                status = hook.statuses.pop(0) if hook.statuses else 200
                answer = json.dumps(hook.answers.pop(0) if hook.answers else {"errcode": 0, "errmsg": "ok"})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(answer.encode())

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    h = Hook()
    yield h
    h.close()


# -- store, flags, config ----------------------------------------------------------------------
@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    """Every test on both backends (PostgreSQL: a throwaway database, see tests/test_store.py)."""
    url = f"sqlite:///{tmp_path}/a.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    s = Store.open(url)
    yield s
    s.close()


def frame(rows: list[dict]) -> pl.DataFrame:
    out = []
    for r in rows:
        d = {"rule_id": "big_qty", "kind": "quantity", "level": "warn", "department": "purchasing",
             "store_id": "MD0001", "store_name": "朝阳门店", "occurred_at": T_OCC,
             "title": "数量异常", "reason": "数量 40，是中位数的 20 倍", **r}
        d.setdefault("subject", f"order:{d['store_id']}:{d['order_id']}")
        out.append(d)
    return pl.DataFrame(out, schema_overrides={"occurred_at": pl.Datetime("us")})


def add_flags(store: Store, rows: list[dict]) -> None:
    store.upsert_flags(store.begin_scan([], T_OCC), frame(rows))


def flag_id(store: Store, order_id: str) -> int:
    t = Flag.__table__
    with store.engine.connect() as conn:
        return conn.execute(select(t.c.id).where(t.c.order_id == order_id)).scalar_one()


def notes(store: Store) -> list[dict]:
    return sorted(list_notifications(store.engine, limit=1000), key=lambda n: n["id"])


def make_config(smtp_port: int = 1, receivers=None, route=None, **alerts):
    a = {"smtp": {"host": "127.0.0.1", "port": smtp_port, "from": "orderwatch@example.com", "timeout_seconds": 5},
         "receivers": receivers or [{"name": "ops-mail", "email": {"to": ["ops@example.com"]}},
                                    {"name": "purchasing-mail",
                                     "email": {"to": ["buyer@example.com", "采购@example.com"], "cc": ["boss@example.com"]}}],
         "route": route or {"receiver": "ops-mail", "group_by": ["department", "store_id"],
                            "repeat_interval_minutes": 240, "send_resolved": True,
                            "routes": [{"match": {"department": "purchasing"}, "receiver": "purchasing-mail"}]},
         "retry": {"max_attempts": 4, "backoff_seconds": 30, "backoff_max_seconds": 3600}, **alerts}
    a.setdefault("escalation_receiver", a["receivers"][0]["name"])
    return load_config(overrides={"alerts": a})


NO_RULES: list = []


# -- tests -------------------------------------------------------------------------------------
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
