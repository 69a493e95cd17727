"""The dry run (``orderwatch rules test``) judges stored history exactly as a scan of it does.

The same demo files are scanned into one database with the shipped pack; the dry run there with
a changed pack must raise the very flags a real scan of the same files with that changed pack
raises in a fresh database — on SQLite and on PostgreSQL — while writing nothing.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from contracts.config import history_dir_for, load_config
from orderwatch import dryrun_compare as cmp
from orderwatch.dryrun import DryRunError, dry_run, rule_changes
from orderwatch.scan import run_scan
from rules import load_rules
from rules.edit import set_levels
from store import Flag, History, Scan, Store
from tests.factories import SHIPPED_LINE_WARN

KEY = ["rule_id", "subject", "level", "department", "reason", "evidence"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from orderwatch.demo import generate

    return generate(tmp_path_factory.mktemp("dryrun_demo"), stores=30, days=18, seed=5)


def changed_pack(src: Path, dest: Path) -> Path:
    """The shipped pack with a looser line rule, a stricter critical day surge, the step rule
    switched off and one new rule: flags are added, moved between levels and removed."""
    shutil.copytree(src, dest)
    vol = dest / "volume.yaml"
    text = set_levels(vol.read_text(encoding="utf-8"), "line_qty_outlier",
                      {"warn": "qty_ratio >= 5 and quantity >= 20", "critical": "qty_ratio >= 300 and quantity >= 2000"})
    text = set_levels(text, "store_day_surge", {"critical": "adj_ratio >= 60 and surge_z >= 10 and day_qty >= 100"})
    text += ("\n  - id: line_qty_huge\n    title: {zh: 单行数量极大, en: Huge line quantity}\n"
             "    detector: volume_surge\n    params: {scope: line, min_history: 3}\n"
             "    levels:\n      critical: \"qty_ratio >= 50\"\n    department: finance\n")
    vol.write_text(text, encoding="utf-8")
    ful = dest / "fulfilment.yaml"
    ful.write_text(ful.read_text(encoding="utf-8").replace(
        "    detector: step_mismatch\n    levels:\n      warn: \"off_step == 1 or under_min == 1\"\n"
        "    department: customer_service\n    notify_store: true\n    enabled: true",
        "    detector: step_mismatch\n    levels:\n      warn: \"off_step == 1 or under_min == 1\"\n"
        "    department: customer_service\n    notify_store: true\n    enabled: false"), encoding="utf-8")
    return dest


def _flags(df: pl.DataFrame) -> pl.DataFrame:
    return df.select(KEY).sort("rule_id", "subject")


def _counts(url: str) -> tuple[int, int]:
    with Store.open(url) as store, store.engine.connect() as c:
        return (c.execute(select(func.count()).select_from(Flag)).scalar_one(),
                c.execute(select(func.count()).select_from(Scan)).scalar_one())


def _equal_to_a_real_scan(demo, tmp_path: Path, url_live: str, url_fresh: str) -> None:
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance"), "jobs": {"in_serve": False}})
    scanned = run_scan(demo.order_files, cfg, catalog=demo.catalog, as_of=demo.as_of, db_url=url_live)
    rules_dir = changed_pack(cfg.rules_dir, tmp_path / "rules")
    history = History(history_dir_for(url_live, cfg))
    parts_before = history.partition_scan_ids()
    before = _counts(url_live)

    run = dry_run(cfg, load_rules(cfg), load_rules(cfg, rules_dir), db_url=url_live)

    # nothing was written: no flag, no scan, no history partition
    assert _counts(url_live) == before
    assert history.partition_scan_ids() == parts_before
    # the live rules reproduce what the scan stored
    assert _flags(run.live).equals(_flags(scanned.flags))
    # and the changed rules what a real scan with them raises
    cfg2 = load_config(overrides={"instance_dir": str(tmp_path / "instance2"), "rules_dir": str(rules_dir),
                                  "jobs": {"in_serve": False}})
    real = run_scan(demo.order_files, cfg2, catalog=demo.catalog, as_of=demo.as_of, db_url=url_fresh)
    assert _flags(run.new).equals(_flags(real.flags))
    # the change does something in every direction, so the equality above is not vacuous
    d = cmp.diff(run)
    changes = set(d.get_column("change").to_list())
    assert {"added", "removed", "lowered", "unchanged"} <= changes, changes
    assert d.filter(pl.col("rule_id") == "line_qty_huge").height == real.flags.filter(
        pl.col("rule_id") == "line_qty_huge").height
    assert d.filter((pl.col("rule_id") == "qty_step_mismatch") & (pl.col("change") != "removed")).height == 0


def test_dry_run_equals_a_real_scan_sqlite(demo, tmp_path):
    _equal_to_a_real_scan(demo, tmp_path, f"sqlite:///{tmp_path / 'live.db'}", f"sqlite:///{tmp_path / 'fresh.db'}")


def test_dry_run_equals_a_real_scan_postgresql(demo, tmp_path, pg_database):
    _equal_to_a_real_scan(demo, tmp_path, pg_database(), pg_database())


def test_period_and_rule_filter(demo, tmp_path):
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance"), "jobs": {"in_serve": False}})
    url = f"sqlite:///{tmp_path / 'ow.db'}"
    scanned = run_scan(demo.order_files, cfg, catalog=demo.catalog, as_of=demo.as_of, db_url=url)
    live = load_rules(cfg)
    last = demo.as_of.date()
    run = dry_run(cfg, live, live, db_url=url, since=last, until=last)
    assert (run.since, run.until) == (last, last) and not run.changes
    day = scanned.flags.filter(pl.col("occurred_at").dt.date() == last)
    assert _flags(run.live).equals(_flags(day)) and _flags(run.new).equals(_flags(day))
    only = dry_run(cfg, live, live, db_url=url, rule_id="line_qty_outlier")
    assert set(only.live.get_column("rule_id").to_list()) <= {"line_qty_outlier"}
    assert _flags(only.live).equals(_flags(scanned.flags.filter(pl.col("rule_id") == "line_qty_outlier")))
    with pytest.raises(DryRunError, match="no rule 'nope'"):
        dry_run(cfg, live, live, db_url=url, rule_id="nope")
    with pytest.raises(DryRunError, match="empty"):
        dry_run(cfg, live, live, db_url=url, since=last, until=last - timedelta(days=1))


def test_no_history_is_a_clear_error(tmp_path):
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance")})
    with pytest.raises(DryRunError, match="scan some orders first"):
        dry_run(cfg, load_rules(cfg), load_rules(cfg), db_url=f"sqlite:///{tmp_path / 'empty.db'}")


def test_rule_changes_name_each_field(tmp_path):
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance")})
    new_dir = changed_pack(cfg.rules_dir, tmp_path / "rules")
    changes = {c.rule_id: c for c in rule_changes(load_rules(cfg), load_rules(cfg, new_dir, include_disabled=True))}
    assert changes["line_qty_huge"].change == "new"
    assert ("levels.warn", SHIPPED_LINE_WARN, "qty_ratio >= 5 and quantity >= 20") in \
        changes["line_qty_outlier"].fields
    assert ("enabled", "true", "false") in changes["qty_step_mismatch"].fields
    assert "order_amount_spike" not in changes
