"""``rules test --exact`` replays each stored scan: on a history stored week by week it raises the
very flags the same weekly scans raise with the changed rules (the one pass judges the period as
one batch, which pooled baselines see differently)."""

from __future__ import annotations

from datetime import datetime, time

import polars as pl
import pytest

import ingest
from contracts.config import load_config
from orderwatch.dryrun import dry_run
from orderwatch.scan import run_scan
from rules import load_rules
from tests.test_dryrun import _flags, changed_pack


@pytest.fixture(scope="module")
def weekly(tmp_path_factory):
    """The demo's lines cut into three weekly Parquet files, each scanned at the end of its week."""
    from orderwatch.demo import generate

    tmp = tmp_path_factory.mktemp("exact")
    demo = generate(tmp / "data", stores=30, days=21, seed=5)
    cfg = load_config(overrides={"instance_dir": str(tmp / "probe")})
    lines = ingest.read_orders(demo.order_files, cfg).lines.with_columns(pl.col("created_at").dt.date().alias("_d"))
    days = sorted(lines.get_column("_d").unique().to_list())
    files = []
    for i in range(0, len(days), 7):
        week = days[i:i + 7]
        path = tmp / "data" / f"week{i // 7}.parquet"
        lines.filter(pl.col("_d").is_in(week)).drop("_d", "source", "source_file", "source_line", "goods").write_parquet(path)
        files.append((path, datetime.combine(week[-1], time(23, 0))))
    return tmp, demo, files


def _scan_weekly(cfg, files, catalog) -> pl.DataFrame:  # type: ignore[no-untyped-def]
    out = [run_scan([p], cfg, catalog=catalog, as_of=at).flags for p, at in files]
    return pl.concat(out).sort("level", descending=True).unique(subset=["rule_id", "subject"], keep="first")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_exact_dry_run_equals_the_weekly_scans(weekly, tmp_path, backend, request):
    tmp, demo, files = weekly
    urls = ([f"sqlite:///{tmp_path / 'live.db'}", f"sqlite:///{tmp_path / 'fresh.db'}"] if backend == "sqlite"
            else [request.getfixturevalue("pg_database")() for _ in range(2)])
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "i1"), "database": {"url": urls[0]},
                                 "jobs": {"in_serve": False}})
    rules_dir = changed_pack(cfg.rules_dir, tmp_path / "rules")
    cfg2 = load_config(overrides={"instance_dir": str(tmp_path / "i2"), "database": {"url": urls[1]},
                                  "rules_dir": str(rules_dir), "jobs": {"in_serve": False}})
    stored = _scan_weekly(cfg, files, demo.catalog)
    real = _scan_weekly(cfg2, files, demo.catalog)
    last = files[-1][1].date()
    run = dry_run(cfg, load_rules(cfg), load_rules(cfg, rules_dir), until=last, exact=True)
    period = (pl.col("occurred_at").dt.date() >= run.since) & (pl.col("occurred_at").dt.date() <= run.until)
    assert _flags(run.live).equals(_flags(stored.filter(period)))
    assert _flags(run.new).equals(_flags(real.filter(period)))
    assert {"line_qty_outlier", "store_day_surge", "line_qty_huge"} <= set(run.new.get_column("rule_id").to_list())
