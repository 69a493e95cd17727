"""``orderwatch silences add|list|expire`` and ``orderwatch notifications list``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from alerts import silences
from alerts.notify import deliver, enqueue
from contracts.config import load_config
from orderwatch.cli import main
from store import Store


def test_silences_cli(site_config, tmp_path, capsys):
    db = f"sqlite:///{tmp_path}/cli.db"
    assert main(["silences", "--db", db, "add", "--match", "store_id=MD0001", "--match", "department=finance",
                 "--hours", "2", "--comment", "门店盘点", "--by", "li"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("silence 1: department=finance store_id=MD0001 until ")
    assert main(["silences", "--db", db, "add", "--match", "level=warn", "--until", "2099-01-01 08:00",
                 "--comment", "维护", "--by", "wang"]) == 0
    capsys.readouterr()
    with Store.open(db) as s:
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        active = silences.list_active(s.engine, now)
        assert [a["matchers"] for a in active] == [{"store_id": "MD0001", "department": "finance"}, {"level": "warn"}]
        assert timedelta(hours=1.9) < active[0]["ends_at"] - now <= timedelta(hours=2)
        assert active[1]["ends_at"] == datetime(2099, 1, 1, 0, 0)      # 08:00 Asia/Shanghai = 00:00 UTC
    assert main(["silences", "--db", db, "list"]) == 0
    out = capsys.readouterr().out
    assert "active" in out and "2099-01-01 08:00" in out and "by li: 门店盘点" in out
    assert main(["silences", "--db", db, "expire", "1"]) == 0
    assert capsys.readouterr().out.strip() == "silence 1 expired"
    assert main(["silences", "--db", db, "list"]) == 0
    assert "门店盘点" not in capsys.readouterr().out
    assert main(["silences", "--db", db, "list", "--all"]) == 0
    assert "expired" in capsys.readouterr().out
    # mistakes: one clear message, exit 2
    assert main(["silences", "--db", db, "add", "--match", "colour=red", "--hours", "1",
                 "--comment", "x", "--by", "li"]) == 2
    assert "unknown label 'colour'" in capsys.readouterr().err
    assert main(["silences", "--db", db, "add", "--match", "store_id", "--hours", "1", "--comment", "x", "--by", "li"]) == 2
    assert "expected label=value" in capsys.readouterr().err
    assert main(["silences", "--db", db, "add", "--match", "level=warn", "--until", "2001-01-01 08:00",
                 "--comment", "x", "--by", "li"]) == 2
    assert "must end after it starts" in capsys.readouterr().err
    assert main(["silences", "--db", db, "expire", "42"]) == 2
    assert "no silence 42" in capsys.readouterr().err


def test_notifications_cli(site_config, tmp_path, capsys):
    db = f"sqlite:///{tmp_path}/cli.db"
    with Store.open(db) as s:
        enqueue(s.engine, receiver="ops-mail", kind="digest", group_key=None, dedupe_key="a", subject="日报 A", body="…")
        enqueue(s.engine, receiver="nobody", kind="report", group_key=None, dedupe_key="b", subject="周报 B", body="…")
        config = load_config(overrides={"alerts": {"smtp": {"port": 1}, "route": {"receiver": "ops-mail"},
                                                   "receivers": [{"name": "ops-mail", "email": {"to": ["o@x.y"]}}]}})
        deliver(s.engine, config, datetime.now(timezone.utc).replace(tzinfo=None))
    assert main(["notifications", "--db", db, "list"]) == 0
    out = capsys.readouterr().out
    assert "日报 A" in out and "周报 B" in out and "attempts=1" in out
    assert "last error: unknown receiver 'nobody'" in out and "last error: SMTP 127.0.0.1:1" in out
    assert main(["notifications", "--db", db, "list", "--status", "sent"]) == 0
    assert capsys.readouterr().out.strip() == "no notifications with status sent"
    assert main(["notifications", "--db", db, "list", "--status", "pending"]) == 0
    assert "pending" in capsys.readouterr().out
