"""Real parts for the alerts tests: an SMTP server (aiosmtpd) and an HTTP server for webhooks,
a store on SQLite and PostgreSQL with flags upserted the way scans do, a controlled clock."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import polars as pl
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from alerts.notify import list_notifications
from contracts.config import load_config
from store import Store
from store.models import Flag
from tests.test_store import pg_url  # noqa: F401  (fixture, re-exported: a throwaway PostgreSQL database)

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
