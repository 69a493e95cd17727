"""Precision estimates of the dry run come from reviewers' verdicts on the live flags.

Verdicts are seeded through the flag lifecycle (as reviewers give them) on the flags a change
removes and on those it keeps; the dry run's table must count exactly those verdicts.
"""

from __future__ import annotations

import shutil
from datetime import datetime

import polars as pl
import pytest

from contracts.config import load_config
from orderwatch import dryrun_compare as cmp
from orderwatch.dryrun import dry_run
from orderwatch.scan import run_scan
from rules import load_rules
from rules.edit import set_levels
from store import Store
from store.lifecycle import transition

#: verdicts dealt in turn to the removed flags, and to the kept ones (None: left unresolved)
REMOVED_VERDICTS = ("false_positive", "false_positive", "confirmed", None)
KEPT_VERDICTS = ("confirmed", "corrected", "false_positive", "confirmed", None)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    from orderwatch.demo import generate

    tmp = tmp_path_factory.mktemp("precision")
    demo = generate(tmp / "data", stores=30, days=18, seed=5, end=datetime(2026, 11, 30, 16))   # a fixed calendar
    cfg = load_config(overrides={"instance_dir": str(tmp / "instance"), "jobs": {"in_serve": False}})
    url = f"sqlite:///{tmp / 'ow.db'}"
    run_scan(demo.order_files, cfg, catalog=demo.catalog, as_of=demo.as_of, db_url=url)
    rules = tmp / "rules"
    shutil.copytree(cfg.rules_dir, rules)
    vol = rules / "volume.yaml"
    vol.write_text(set_levels(vol.read_text(encoding="utf-8"), "line_qty_outlier",
                              {"warn": "qty_ratio >= 11 and quantity >= 60"}), encoding="utf-8")
    addr = rules / "fulfilment.yaml"
    addr.write_text(set_levels(addr.read_text(encoding="utf-8"), "address_incomplete",
                               {"warn": "missing_count >= 2"}), encoding="utf-8")
    return cfg, url, load_rules(cfg), load_rules(cfg, rules)


def _seed(url: str, d: pl.DataFrame) -> dict[tuple[str, str], str | None]:
    """Resolve the live flags of ``d`` in turn; returns (rule, subject) -> verdict given."""
    given: dict[tuple[str, str], str | None] = {}
    with Store.open(url) as store:
        ids = {(r["rule_id"], r["subject"]): (r["id"], r["version"]) for r in store.flags_frame().iter_rows(named=True)}
        for which, verdicts in (("removed", REMOVED_VERDICTS), ("kept", KEPT_VERDICTS)):
            rows = d.filter((pl.col("change") == "removed") if which == "removed"
                            else pl.col("level_now").is_not_null() & (pl.col("change") != "removed"))
            for i, r in enumerate(rows.sort("rule_id", "subject").iter_rows(named=True)):
                verdict = verdicts[i % len(verdicts)]
                given[(r["rule_id"], r["subject"])] = verdict
                if verdict:
                    fid, version = ids[(r["rule_id"], r["subject"])]
                    transition(store.engine, fid, actor="rev", to_status="resolved", expected_version=version,
                               resolution=verdict)
    return given


def test_precision_counts_the_seeded_verdicts(scanned):
    cfg, url, live, changed = scanned
    first = cmp.diff(dry_run(cfg, live, changed, db_url=url))
    assert first.filter(pl.col("change") == "removed").height >= 4, "the change must remove flags"
    given = _seed(url, first)

    d = cmp.diff(dry_run(cfg, live, changed, db_url=url))
    table = cmp.precision(d).filter(pl.col("level") == cmp.ALL)
    checked = 0
    for rid in d.get_column("rule_id").unique().to_list():
        rows = d.filter((pl.col("rule_id") == rid) & pl.col("level_now").is_not_null())
        verdict = {s: given.get((rid, s)) for s in rows.get_column("subject").to_list()}
        gone = set(rows.filter(pl.col("change") == "removed").get_column("subject").to_list())
        is_true = {s for s, v in verdict.items() if v in ("confirmed", "corrected")}
        is_false = {s for s, v in verdict.items() if v == "false_positive"}
        got = table.filter(pl.col("rule_id") == rid).row(0, named=True)
        assert got["resolved"] == len(is_true | is_false)
        assert (got["true"], got["false"]) == (len(is_true), len(is_false))
        assert got["removed_false"] == len(is_false & gone) and got["removed_true"] == len(is_true & gone)
        assert got["kept_true"] == len(is_true - gone)
        assert got["kept_resolved"] == len((is_true | is_false) - gone)
        if is_true | is_false:
            assert got["precision_now"] == pytest.approx(len(is_true) / len(is_true | is_false))
        kept = (is_true | is_false) - gone
        if kept:
            assert got["precision_with_change"] == pytest.approx(len(is_true - gone) / len(kept))
        checked += 1
    assert checked >= 2
    # removing mostly false positives raises the estimated precision of the changed rules
    moved = table.filter(pl.col("removed_resolved") > 0)
    assert moved.height and (moved["precision_with_change"] >= moved["precision_now"]).all()


def test_precision_of_a_level_counts_its_live_flags(scanned):
    cfg, url, live, changed = scanned
    d = cmp.diff(dry_run(cfg, live, changed, db_url=url))
    per_level = cmp.precision(d).filter(pl.col("level") != cmp.ALL)
    total = cmp.precision(d).filter(pl.col("level") == cmp.ALL)
    for rid in per_level.get_column("rule_id").unique().to_list():
        lv = per_level.filter(pl.col("rule_id") == rid)
        al = total.filter(pl.col("rule_id") == rid).row(0, named=True)
        for c in ("flags", "resolved", "true", "false", "removed_resolved", "kept_true"):
            assert lv[c].sum() == al[c], (rid, c)
