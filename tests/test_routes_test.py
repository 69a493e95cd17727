"""``orderwatch routes test``: receivers for a label set, and silences in effect at a given time."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import yaml

from alerts import silences
from alerts.route_check import LabelsError, parse_labels
from contracts.config import load_config
from orderwatch.cli import main
from store import Store

ROUTE = {
    "receiver": "ops-mail", "group_by": ["department", "store_id"],
    "routes": [
        {"match": {"department": "finance"}, "receiver": "finance-mail",
         "routes": [{"match": {"level": "critical"}, "receiver": "finance-boss", "repeat_interval_minutes": 30}]},
        {"match": {"level": "critical"}, "match_re": {"kind": "amount_spike|volume_surge"}, "receiver": "cs-robot",
         "continue": True},
        {"match_re": {"store_id": "MD000[0-4]"}, "receiver": "north-mail"},
    ],
}
RECEIVERS = [{"name": n, "email": {"to": [f"{n}@example.com"]}}
             for n in ("ops-mail", "finance-mail", "finance-boss", "north-mail")]
RECEIVERS.append({"name": "cs-robot", "webhook": {"url": "http://127.0.0.1:9/hook", "format": "json"}})
UTC_OFFSET = timedelta(hours=8)          # Asia/Shanghai, the configured timezone


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({
        "instance_dir": str(tmp_path / "instance"),
        "alerts": {"receivers": RECEIVERS, "route": ROUTE, "store_contacts": {"MD0001": {"email": "m1@example.com"}}},
    }), encoding="utf-8")
    monkeypatch.setenv("ORDERWATCH_CONFIG", str(path))
    url = load_config().database_url
    with Store.open(url) as store:
        local = datetime(2026, 9, 1, 12, 0)
        silences.add(store.engine, {"department": "finance"}, local - UTC_OFFSET, local + timedelta(hours=6) - UTC_OFFSET,
                     "li", "盘点中")
        silences.add(store.engine, {"store_id": "MD0003", "kind": "volume_surge"}, local - UTC_OFFSET,
                     local + timedelta(days=1) - UTC_OFFSET, "chen", "门店促销")
    return url


CASES = [
    # labels, --at (local), receivers, muted
    ("department=finance,level=warn", "2026-09-01 11:59", ["finance-mail"], False),
    ("department=finance,level=critical", "2026-09-01 11:59", ["finance-boss"], False),
    ("department=finance,level=critical", "2026-09-01 12:00", ["finance-boss"], True),    # a silence starts
    ("department=finance,level=warn", "2026-09-01 17:59", ["finance-mail"], True),
    ("department=finance,level=warn", "2026-09-01 18:00", ["finance-mail"], False),      # and ends (exclusive)
    ("department=customer_service,level=critical,kind=volume_surge,store_id=MD0003", "2026-09-01 11:00",
     ["cs-robot", "north-mail"], False),                                                  # continue: true
    ("department=customer_service,level=critical,kind=volume_surge,store_id=MD0003", "2026-09-01 13:00",
     ["cs-robot", "north-mail"], True),                                                   # both matchers hold
    ("department=customer_service,level=critical,kind=amount_spike,store_id=MD0003", "2026-09-01 13:00",
     ["cs-robot", "north-mail"], False),                                                  # kind differs: not muted
    ("department=logistics,level=warn,store_id=MD0090", "2026-09-01 13:00", ["ops-mail"], False),   # the root
    ("department=finance,level=critical,rule_id=order_amount_spike,store_id=MD0001", "2026-09-01 11:00",
     ["finance-boss", "store:MD0001"], False),                                            # notify_store rule
    ("department=finance,level=warn,rule_id=order_amount_spike,store_id=MD0001", "2026-09-01 11:00",
     ["finance-mail"], False),                                                            # not critical: no store
    ("department=finance,level=critical,rule_id=paid_amount_mismatch,store_id=MD0001", "2026-09-01 11:00",
     ["finance-boss"], False),                                                            # notify_store: false
]


@pytest.mark.parametrize("labels, at, receivers, muted", CASES)
def test_routes_test_table(db, capsys, labels, at, receivers, muted):
    code = main(["routes", "test", "--labels", labels, "--at", at])
    out = capsys.readouterr().out
    assert code == (1 if muted else 0), out
    if muted:
        assert f"→ not sent at {at}: muted by" in out and f"it goes to {', '.join(receivers)} once they end" in out
        assert "silenced by silence" in out
    else:
        assert f"→ sent to {', '.join(receivers)}" in out and "silenced" not in out
    assert f"at: {at} (Asia/Shanghai)" in out


def test_route_lines_name_the_path_group_and_repeat(db, capsys):
    assert main(["routes", "test", "--labels", "department=finance,level=critical,store_id=MD0009",
                 "--at", "2026-09-02 09:00"]) == 0
    out = capsys.readouterr().out
    assert ("route alerts.route.routes[0].routes[0]  match level=critical  → finance-boss  "
            "(group department=finance,store_id=MD0009; repeat every 30 min; resolved notices yes)") in out


def test_alerts_off_and_bad_labels(tmp_path, monkeypatch, capsys):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"instance_dir": str(tmp_path / "instance")}), encoding="utf-8")
    monkeypatch.setenv("ORDERWATCH_CONFIG", str(path))
    assert main(["routes", "test", "--labels", "department=finance"]) == 1
    assert "alerts are off" in capsys.readouterr().out
    assert main(["routes", "test", "--labels", "department=finance,colour=red"]) == 2
    assert "unknown label 'colour'" in capsys.readouterr().err
    assert main(["routes", "test", "--labels", "level=urgent"]) == 2
    assert main(["routes", "test", "--labels", "department=finance", "--at", "noon"]) == 2
    assert "--at: expected" in capsys.readouterr().err
    with pytest.raises(LabelsError, match="unknown department 'sales'"):
        parse_labels("department=sales", ["finance"])
    with pytest.raises(LabelsError, match="given twice"):
        parse_labels("level=warn,level=critical")
