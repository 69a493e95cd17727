"""Routing tree (labels in → receivers out), config validation, labels and silences matching."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

import pytest

from alerts.labels import labels_of
from alerts.routing import parse_route
from alerts.settings import AlertsConfigError, is_configured, parse_alerts
from alerts.silences import is_silenced
from contracts.config import ConfigError, load_config

RECEIVERS = {"ops", "finance", "robot", "logistics", "night"}
DEPTS = ["customer_service", "finance", "logistics", "purchasing", "store_development", "operations"]

TREE = {
    "receiver": "ops",
    "group_by": ["department", "store_id"],
    "repeat_interval_minutes": 240,
    "send_resolved": True,
    "routes": [
        {"match": {"department": "finance"}, "receiver": "finance", "repeat_interval_minutes": 60,
         "routes": [{"match": {"level": "critical"}, "receiver": "robot", "send_resolved": False}]},
        {"match": {"level": "critical"}, "match_re": {"kind": "amount_spike|volume_surge"},
         "receiver": "robot", "continue": True, "group_by": ["store_id"]},
        {"match_re": {"store_id": "MD00[0-4][0-9]"}, "receiver": "logistics"},
        {"match": {"department": "logistics"}, "receiver": "night"},
    ],
}


def L(department="purchasing", store_id="MD0100", level="warn", kind="quantity", rule_id="big_qty"):
    return {"department": department, "store_id": store_id, "level": level, "kind": kind, "rule_id": rule_id}


@pytest.fixture(scope="module")
def root():
    return parse_route(TREE, RECEIVERS, DEPTS)


@pytest.mark.parametrize("labels, expected", [
    (L(), ["ops"]),                                                   # no child matches: the root
    (L(department="finance"), ["finance"]),                          # first match wins
    (L(department="finance", level="critical", kind="amount_spike"), ["robot"]),  # deepest match
    (L(level="critical", kind="amount_spike"), ["robot"]),           # continue, nothing else matches
    (L(level="critical", kind="volume_surge", store_id="MD0042"), ["robot", "logistics"]),  # continue
    (L(level="critical", kind="amount_spike_x"), ["ops"]),           # match_re is a full match
    (L(level="warn", kind="amount_spike", store_id="MD0042"), ["logistics"]),
    (L(department="logistics", store_id="MD0042"), ["logistics"]),   # first match wins over later sibling
    (L(department="logistics"), ["night"]),
    (L(store_id="MD00420"), ["ops"]),                                # full match, not search
])
def test_route_table(root, labels, expected):
    assert [r.receiver for r in root.route(labels)] == expected


def test_defaults_are_inherited(root):
    fin = root.route(L(department="finance"))[0]
    assert (fin.group_by, fin.repeat_interval, fin.send_resolved) == (
        ("department", "store_id"), timedelta(minutes=60), True)
    fin_crit = root.route(L(department="finance", level="critical"))[0]
    assert fin_crit.repeat_interval == timedelta(minutes=60)          # from its parent, not the root
    assert fin_crit.send_resolved is False and fin_crit.path == "alerts.route.routes[0].routes[0]"
    robot = root.route(L(level="critical", kind="amount_spike"))[0]
    assert robot.group_by == ("store_id",) and robot.repeat_interval == timedelta(minutes=240)
    assert robot.group_key(L(level="critical", kind="amount_spike")) == "store_id=MD0100"
    assert root.group_key(L()) == "department=purchasing,store_id=MD0100"


def test_missing_label_is_empty_string():
    tree = {"receiver": "ops", "routes": [{"match_re": {"store_id": ""}, "receiver": "night"}]}
    root = parse_route(tree, RECEIVERS)
    assert [r.receiver for r in root.route(labels_of({"department": "finance", "store_id": None,
                                                      "level": "warn", "kind": "k", "rule_id": "r"}))] == ["night"]
    assert [r.receiver for r in root.route(L())] == ["ops"]


@pytest.mark.parametrize("tree, message", [
    ({"receiver": "nobody"}, "alerts.route.receiver: unknown receiver 'nobody'"),
    ({"receiver": "ops", "routes": [{"match": {"level": "warn"}}, {"match_re": {"kind": "a(b"}}]},
     "alerts.route.routes[1].match_re.kind: bad regex 'a(b'"),
    ({"receiver": "ops", "routes": [{"match": {"level": "warn"}, "recever": "ops"}]},
     "alerts.route.routes[0].recever: unknown key"),
    ({"receiver": "ops", "routes": [{"match": {"colour": "red"}}]}, "alerts.route.routes[0].match.colour: unknown label"),
    ({"receiver": "ops", "routes": [{"match": {"department": "finanace"}}]},
     "alerts.route.routes[0].match.department: unknown department 'finanace'"),
    ({"receiver": "ops", "routes": [{"routes": [{"receiver": "x"}]}]},
     "alerts.route.routes[0].routes[0].receiver: unknown receiver 'x'"),
    ({"receiver": "ops", "group_by": ["store"]}, "alerts.route.group_by[0]: unknown label 'store'"),
    ({"receiver": "ops", "repeat_interval_minutes": 0}, "alerts.route.repeat_interval_minutes"),
    ({"receiver": "ops", "match": {"level": "warn"}}, "alerts.route: the root route matches every flag"),
    ({"routes": [{"match": {"level": "warn"}}]}, "alerts.route.routes[0].receiver: this route needs a receiver"),
    ({"receiver": "ops", "routes": [{"continue": "yes"}]}, "alerts.route.routes[0].continue: expected true or false"),
])
def test_route_errors_name_the_path(tree, message):
    with pytest.raises(AlertsConfigError) as exc:
        parse_route(tree, RECEIVERS, DEPTS)
    assert message in str(exc.value)
    assert isinstance(exc.value, ConfigError)   # the CLI prints it and exits 2


def _alerts(**over):
    """The shipped section with one receiver set up (ops-mail), then ``over``."""
    raw = copy.deepcopy(load_config().raw["alerts"])
    raw.update(receivers=[{"name": "ops-mail", "email": {"to": ["ops@localhost"]}}],
               route={**raw["route"], "receiver": "ops-mail"}, escalation_receiver="ops-mail")
    raw.update(over)
    return raw


@pytest.mark.parametrize("over, message", [
    ({"receivers": [{"name": "a", "email": {"to": ["a@x"]}, "webhook": {"url": "http://h/"}}]},
     "alerts.receivers[0]: a receiver needs exactly one of email or webhook"),
    ({"receivers": [{"name": "ops-mail", "webhook": {"url": "http://h/", "format": "slack"}}]},
     "alerts.receivers[0].webhook.format: unknown format 'slack'"),
    ({"receivers": [{"name": "ops-mail", "email": {"to": ["x@y"], "bcc": []}}]}, "alerts.receivers[0].email.bcc: unknown key"),
    ({"receivers": [{"name": "ops-mail", "email": {"to": []}}]}, "alerts.receivers[0].email.to: at least one"),
    ({"receivers": [{"name": "ops-mail", "email": {"to": ["x@y"]}}, {"name": "ops-mail", "email": {"to": ["x@y"]}}]},
     "alerts.receivers[1].name: duplicate receiver name"),
    ({"escalation_receiver": "pager"}, "alerts.escalation_receiver: unknown receiver 'pager'"),
    ({"store_contacts": {"MD0001": {"phone": "123"}}}, "alerts.store_contacts.MD0001.phone: unknown key"),
    ({"retry": {"max_attempts": 0}}, "alerts.retry.max_attempts: must be >= 1"),
    ({"smtp": {"host": "h", "prot": 25}}, "alerts.smtp.prot: unknown key"),
    ({"routes": []}, "alerts.routes: unknown key"),
])
def test_alerts_section_errors(over, message):
    with pytest.raises(AlertsConfigError) as exc:
        parse_alerts(_alerts(**over), DEPTS)
    assert message in str(exc.value)


def test_shipped_config_parses_with_alerts_off():
    """Nothing is sent until a site sets receivers: no receiver, no default route receiver."""
    s = parse_alerts(load_config().raw["alerts"], DEPTS)
    assert s.receivers == {} and s.route.receiver is None and s.escalation_receiver is None
    assert not is_configured(s)
    assert s.route.group_by == ("department", "store_id")
    assert s.route.repeat_interval == timedelta(minutes=240) and s.retry.max_attempts == 12
    assert s.smtp.sender == "orderwatch@localhost"
    assert load_config().get("jobs.reports.receivers") == []
    assert is_configured(parse_alerts(_alerts(), DEPTS))
    # receivers without a root receiver: alerts still off; a child route without one is a mistake
    assert not is_configured(parse_alerts(_alerts(route={"receiver": None}), DEPTS))
    with pytest.raises(AlertsConfigError, match=r"routes\[0\]\.receiver: this route needs a receiver"):
        parse_alerts({"receivers": [], "route": {"receiver": None, "routes": [{"match": {"level": "warn"}}]}}, DEPTS)
    s2 = parse_alerts(_alerts(store_contacts={"MD0001": {"email": "m1@example.com"},
                                              "MD0002": {"webhook": {"url": "https://q/x?key=1", "format": "wecom"}}}))
    assert s2.receiver("store:MD0001").email_to == ("m1@example.com",)
    assert s2.receiver("store:MD0002").webhook_format == "wecom"
    assert s2.receiver("store:MD0003") is None and s2.receiver("nobody") is None


def test_is_silenced():
    t = datetime(2026, 11, 30, 8, 0)
    sil = [{"matchers": {"store_id": "MD0001", "department": "finance"}, "starts_at": t, "ends_at": t + timedelta(hours=2)}]
    assert is_silenced(L(store_id="MD0001", department="finance"), sil, t)
    assert is_silenced(L(store_id="MD0001", department="finance"), sil, t + timedelta(minutes=119))
    assert not is_silenced(L(store_id="MD0001", department="finance"), sil, t + timedelta(hours=2))  # ended
    assert not is_silenced(L(store_id="MD0001", department="finance"), sil, t - timedelta(seconds=1))
    assert not is_silenced(L(store_id="MD0001"), sil, t)              # every matcher must match
