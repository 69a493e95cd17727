"""Alerts that are not set up stay quiet and say so; ``orderwatch alerts test RECEIVER`` sends one
real message (aiosmtpd, a local HTTP server) and prints the outcome."""

from __future__ import annotations

import yaml

from alerts.notify import list_notifications, plan
from contracts.config import load_config
from orderwatch.cli import main
from store import Store
from tests.alerts_support import free_port, hook, smtp  # noqa: F401  (fixtures)


def _site(tmp_path, monkeypatch, alerts: dict | None = None) -> None:
    cfg = {"instance_dir": str(tmp_path / "instance")}
    if alerts is not None:
        cfg["alerts"] = alerts
    path = tmp_path / "site.yaml"
    path.write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("ORDERWATCH_CONFIG", str(path))


def test_demo_queues_no_mail_until_receivers_are_configured(tmp_path, monkeypatch):
    _site(tmp_path, monkeypatch)
    config = load_config()
    from orderwatch.demo import generate
    from orderwatch.scan import run_scan

    demo = generate(tmp_path / "demo", stores=20, days=15, seed=3)
    result = run_scan(demo.order_files, config, catalog=demo.catalog, as_of=demo.as_of)
    assert result.flags.height > 0
    with Store.open(config.database_url) as store:
        plan(store.engine, config, result.as_of)
        assert list_notifications(store.engine, limit=10) == []


def test_alerts_test_sends_one_mail_and_prints_the_outcome(tmp_path, monkeypatch, capsys, smtp):  # noqa: F811
    _site(tmp_path, monkeypatch, {
        "smtp": {"host": "127.0.0.1", "port": smtp.port, "from": "orderwatch@example.com"},
        "receivers": [{"name": "ops-mail", "email": {"to": ["ops@example.com"], "cc": ["lead@example.com"]}}],
        "route": {"receiver": "ops-mail"}})
    assert main(["alerts", "test", "ops-mail"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sent    ops-mail: e-mail to ops@example.com, lead@example.com via SMTP 127.0.0.1:")
    assert len(smtp.inbox.messages) == 1
    m = smtp.inbox.messages[0]
    assert sorted(m["rcpt"]) == ["lead@example.com", "ops@example.com"]
    assert "test message" in m["subject"] and "测试消息" in m["body"]


def test_alerts_test_reports_a_failure(tmp_path, monkeypatch, capsys):
    _site(tmp_path, monkeypatch, {
        "smtp": {"host": "127.0.0.1", "port": free_port(), "from": "orderwatch@example.com", "timeout_seconds": 3},
        "receivers": [{"name": "ops-mail", "email": {"to": ["ops@example.com"]}}], "route": {"receiver": "ops-mail"}})
    assert main(["alerts", "test", "ops-mail"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAILED  ops-mail") and "ConnectionRefusedError" in out


def test_alerts_test_posts_to_a_webhook(tmp_path, monkeypatch, capsys, hook):  # noqa: F811
    _site(tmp_path, monkeypatch, {
        "receivers": [{"name": "cs-robot", "webhook": {"url": f"{hook.url}/robot?access_token=secret",
                                                       "format": "dingtalk"}}]})
    assert main(["alerts", "test", "cs-robot"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sent    cs-robot: webhook dingtalk") and "secret" not in out
    assert "alerts.route.receiver is not set" in out
    assert len(hook.requests) == 1 and hook.requests[0]["json"]["msgtype"] == "markdown"
    hook.statuses.append(500)
    assert main(["alerts", "test", "cs-robot"]) == 1
    assert "HTTP 500" in capsys.readouterr().out


def test_alerts_test_names_the_keys_when_nothing_is_configured(tmp_path, monkeypatch, capsys):
    _site(tmp_path, monkeypatch)
    assert main(["alerts", "test", "ops-mail"]) == 2
    err = capsys.readouterr().err
    assert "unknown receiver 'ops-mail'" in err and "alerts.receivers" in err and "alerts.route.receiver" in err
