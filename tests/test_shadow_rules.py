"""Shadow rules: evaluated on every scan and stored as shadow flags, never queued nor sent."""

from __future__ import annotations

import shutil
from datetime import timedelta

import polars as pl
import pytest
import yaml
from sqlalchemy import func, select

from alerts.notify import deliver, plan
from contracts.config import load_config
from orderwatch.reevaluate import reevaluate
from orderwatch.scan import run_scan
from rules import load_rules
from rules.loader import read_rule_files
from store import Flag, Store
from store import shadow as shadow_store
from store.models import Notification
from tests.alerts_support import smtp, utcnow  # noqa: F401  (fixture)

SHADOW = """rules:
  - id: line_qty_outlier_v2
    title: {zh: 单行数量远超常量（试行）, en: "Line quantity far above usual (trial)"}
    detector: volume_surge
    params: {scope: line, min_history: 3}
    mode: shadow
    shadow_of: line_qty_outlier
    levels:
      warn: "qty_ratio >= 3 and quantity >= 10"
      critical: "qty_ratio >= 5 and quantity >= 20"
    department: customer_service
    notify_store: true
  - id: picking_overdue_trial
    title: {zh: 拣货超时（试行）, en: "Picking overdue (trial)"}
    detector: stage_overdue
    params:
      stage: picking
      start: [confirmed_at, paid_at, created_at]
      end: picked_at
      tracked_by: [shipped_at, "state:picking", "state:picked", "state:shipped"]
      then: handover
    mode: shadow
    levels:
      report: "done == 1 and overdue_hours > 0"
      critical: "done == 0 and overdue_hours > -3"
    department: logistics
"""
TRIAL = "（试行）"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from orderwatch.demo import generate

    return generate(tmp_path_factory.mktemp("shadow_demo"), stores=20, days=15, seed=9)


def _config(tmp, smtp_port: int, with_shadow: bool):  # type: ignore[no-untyped-def]
    rules = tmp / "rules"
    shutil.copytree(load_config().rules_dir, rules)
    if with_shadow:
        (rules / "trial.yaml").write_text(SHADOW, encoding="utf-8")
    stores = {f"MD{i:04d}": {"email": {"to": [f"md{i}@example.com"]}} for i in range(1, 25)}
    alerts = {"smtp": {"host": "127.0.0.1", "port": smtp_port, "from": "ow@example.com", "timeout_seconds": 5},
              "receivers": [{"name": "ops-mail", "email": {"to": ["ops@example.com"]}}],
              "route": {"receiver": "ops-mail", "group_by": ["department", "store_id"]},
              "store_contacts": stores}
    path = tmp / "config.yaml"
    path.write_text(yaml.safe_dump({"instance_dir": str(tmp / "instance"), "rules_dir": str(rules),
                                    "alerts": alerts, "jobs": {"in_serve": False}}, allow_unicode=True),
                    encoding="utf-8")
    return load_config(path)


def _count(url: str, model) -> int:  # type: ignore[no-untyped-def]
    with Store.open(url) as store, store.engine.connect() as c:
        return c.execute(select(func.count()).select_from(model)).scalar_one()


def test_shadow_rules_are_judged_kept_apart_and_never_sent(demo, tmp_path, smtp):
    cfg = _config(tmp_path / "a", smtp.port, with_shadow=True)
    plain = _config(tmp_path / "b", smtp.port, with_shadow=False)
    assert {r.id for r in load_rules(cfg)} == {r.id for r in load_rules(plain)}     # live rules only
    result = run_scan(demo.order_files, cfg, catalog=demo.catalog, as_of=demo.as_of)
    baseline = run_scan(demo.order_files, plain, catalog=demo.catalog, as_of=demo.as_of)

    # the live flags are exactly those of the same scan without the shadow rules
    key = ["rule_id", "subject", "level"]
    assert result.flags.select(key).sort(key).equals(baseline.flags.select(key).sort(key))
    with Store.open(cfg.database_url) as store:
        shadow = shadow_store.frame(store.engine, ["line_qty_outlier_v2", "picking_overdue_trial"])
        with store.engine.connect() as c:
            in_flags = c.execute(select(func.count()).select_from(Flag).where(
                Flag.rule_id.in_(["line_qty_outlier_v2", "picking_overdue_trial"]))).scalar_one()
        assert in_flags == 0
        trial = shadow.filter(pl.col("rule_id") == "line_qty_outlier_v2")
        live = result.flags.filter(pl.col("rule_id") == "line_qty_outlier")
        assert trial.height > live.height > 0                 # looser: it would have raised more
        assert trial.filter(pl.col("level") == "critical").height > 0
        assert set(live["subject"]) <= set(trial["subject"])
        assert shadow_store.runs(store.engine, "line_qty_outlier_v2")["scans"] == 1
        assert shadow.filter(pl.col("rule_id") == "picking_overdue_trial").height > 0
        assert "report" not in set(shadow.get_column("level").to_list())   # late-but-done is not a flag

        # nothing of it is planned or sent: the same messages as without it, none naming it
        now = utcnow()
        planned = plan(store.engine, cfg, now)
        assert deliver(store.engine, cfg, now)["sent"] == planned > 0
        with store.engine.connect() as c:
            ids = {i for row in c.execute(select(Notification.flag_ids)).scalars() for i in row}
            flag_ids = set(c.execute(select(Flag.id)).scalars())
        assert ids <= flag_ids
    with Store.open(plain.database_url) as other:
        assert plan(other.engine, plain, now) == planned
    assert smtp.inbox.messages and not any(TRIAL in m["subject"] + m["body"] for m in smtp.inbox.messages)
    assert not any("line_qty_outlier_v2" in m["body"] for m in smtp.inbox.messages)

    # a second scan of the same files: shadow flags are not doubled, the run is counted
    run_scan(demo.order_files, cfg, catalog=demo.catalog, as_of=demo.as_of)
    with Store.open(cfg.database_url) as store:
        again = shadow_store.frame(store.engine, ["line_qty_outlier_v2", "picking_overdue_trial"])
        assert again.height == shadow.height
        assert shadow_store.runs(store.engine, "line_qty_outlier_v2")["scans"] == 2

    # the time-based re-evaluation judges the shadow rule too, into shadow flags only
    flags_before = _count(cfg.database_url, Flag)
    reevaluate(cfg, demo.as_of + timedelta(days=1))
    with Store.open(cfg.database_url) as store:
        later = shadow_store.frame(store.engine, ["picking_overdue_trial"])
        assert later.height >= shadow.filter(pl.col("rule_id") == "picking_overdue_trial").height
        with store.engine.connect() as c:
            assert c.execute(select(func.count()).select_from(Flag).where(
                Flag.rule_id == "picking_overdue_trial")).scalar_one() == 0
    assert _count(cfg.database_url, Flag) >= flags_before


def test_mode_and_shadow_of_are_checked(tmp_path):
    cfg = load_config()
    bad = SHADOW.replace("mode: shadow\n    shadow_of: line_qty_outlier", "mode: trial\n    shadow_of: nope")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "trial.yaml").write_text(bad.replace("  - id: picking_overdue_trial", "  - id: x_trial"),
                                      encoding="utf-8")
    _, problems = read_rule_files(rules, cfg)
    text = "\n".join(map(str, problems))
    assert "rule 'line_qty_outlier_v2': mode: must be one of live, shadow, got 'trial'" in text
    (rules / "trial.yaml").write_text(SHADOW.replace("shadow_of: line_qty_outlier", "shadow_of: nope"),
                                      encoding="utf-8")
    _, problems = read_rule_files(rules, cfg)
    assert any(p.field == "shadow_of" and "no live rule 'nope'" in p.message for p in problems)
