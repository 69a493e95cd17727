"""Threshold suggestions on seeded verdicts whose right threshold is known."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta

import polars as pl
import pytest

from contracts.config import load_config
from orderwatch.cli import main
from orderwatch.suggestions import evidence_frame, resolved_flags, suggest_all
from rules import load_rules
from rules.suggest import fit, roundest, thresholds, with_values
from store import Store
from store.lifecycle import transition

RULE = "line_qty_outlier"
#: the suggester is measured on a rule of known shape (the shipped line rule's levels before
#: issue 8 moved its floor to packs): warn qty_ratio >= 8 and quantity >= 50, critical ×30 / 200
LEVELS = {"warn": "qty_ratio >= 8 and quantity >= 50", "critical": "qty_ratio >= 30 and quantity >= 200"}


def pack_config(tmp_path):  # noqa: ANN001, ANN201 - a config whose rules_dir is the pack with LEVELS
    from rules.edit import set_levels

    pack = tmp_path / "pack"
    shutil.copytree(load_config().rules_dir, pack)
    vol = pack / "volume.yaml"
    vol.write_text(set_levels(vol.read_text(encoding="utf-8"), RULE, LEVELS), encoding="utf-8")
    return pack


def seeded() -> list[tuple[str, dict]]:
    """20 false positives at ratios 8.0–11.8, 40 confirmed at 15–54 and 2 confirmed at 9 and 10:
    at 0.9 precision the warn threshold belongs in (11.8, 15] and loses exactly those 2."""
    rows = [("false_positive", {"qty_ratio": 8.0 + 0.2 * i, "quantity": 100.0}) for i in range(20)]
    rows += [("confirmed" if i % 3 else "corrected", {"qty_ratio": 15.0 + i, "quantity": 100.0}) for i in range(40)]
    rows += [("confirmed", {"qty_ratio": 9.0, "quantity": 100.0}), ("confirmed", {"qty_ratio": 10.0, "quantity": 100.0})]
    return rows


@pytest.fixture
def rule(tmp_path):
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance"), "rules_dir": str(pack_config(tmp_path))})
    return next(r for r in load_rules(cfg) if r.id == RULE)


def _warn_ratio(s) -> float:  # type: ignore[no-untyped-def]
    warn = next(f for f in s.levels if f.level == "warn")
    return next(t.value for t in thresholds(warn.after) if t.field == "qty_ratio")


def test_the_known_threshold_is_found(rule):
    s = fit(rule, evidence_frame(seeded()), min_resolved=30, target=0.9)
    assert s.status == "suggested"
    assert (s.resolved, s.true, s.false) == (62, 42, 20)
    assert 11.8 < _warn_ratio(s) <= 15
    assert _warn_ratio(s) == 12          # the roundest number in the gap
    warn = next(f for f in s.levels if f.level == "warn")
    assert (warn.true_before, warn.false_before, warn.true_after, warn.false_after) == (42, 20, 40, 0)
    assert (s.lost_true, s.removed_false) == (2, 20)
    assert warn.precision_after == 1.0 and warn.precision_before == pytest.approx(42 / 62)
    assert s.changed == {"warn": "qty_ratio >= 12 and quantity >= 50"}


def test_a_lower_target_keeps_more_confirmed(rule):
    """At 0.7 precision the 2 confirmed at 9 and 10 can stay, with the 15 false positives from 9
    up (42 / 57 = 0.74): the threshold sits right at the confirmed flag at 9."""
    s = fit(rule, evidence_frame(seeded()), min_resolved=30, target=0.6)
    assert s.status == "meets_target"            # 42 / 62 = 0.68 already
    s = fit(rule, evidence_frame(seeded()), min_resolved=30, target=0.7)
    warn = next(f for f in s.levels if f.level == "warn")
    assert (warn.true_after, warn.false_after) == (42, 15)
    assert 8.8 < _warn_ratio(s) <= 9.0


def test_critical_is_fitted_on_its_own_flags(rule):
    rows = [("false_positive", {"qty_ratio": 30.0 + i, "quantity": 300.0}) for i in range(10)]
    rows += [("confirmed", {"qty_ratio": 60.0 + i, "quantity": 300.0}) for i in range(30)]
    s = fit(rule, evidence_frame(rows), min_resolved=30, target=0.9)
    crit = next(f for f in s.levels if f.level == "critical")
    t = next(x.value for x in thresholds(crit.after) if x.field == "qty_ratio")
    assert 39 < t <= 60 and (crit.true_after, crit.false_after) == (30, 0)
    # the false positives no longer critical would still be warned about: warn tightens too
    warn = next(f for f in s.levels if f.level == "warn")
    assert (warn.true_after, warn.false_after) == (30, 0) and 39 < _warn_ratio(s) <= 60


def test_too_few_and_unreachable(rule):
    assert fit(rule, evidence_frame(seeded()[:20]), min_resolved=30).status == "too_few"
    mixed = [("false_positive" if i % 2 else "confirmed", {"qty_ratio": 10.0 + i // 2, "quantity": 100.0})
             for i in range(60)]
    s = fit(rule, evidence_frame(mixed), min_resolved=30, target=0.9)
    assert s.status == "unreachable" and not s.changed


def test_thresholds_of_a_condition():
    ts = thresholds("qty_ratio >= 8 and quantity >= 50 or 5 < gap_pct")
    assert [(t.field, t.op, t.value) for t in ts] == [("qty_ratio", ">=", 8), ("quantity", ">=", 50), ("gap_pct", ">", 5)]
    assert with_values("qty_ratio >= 8 and 5 < gap_pct", {0: 12.5, 1: 7}) == "qty_ratio >= 12.5 and 7 < gap_pct"
    assert thresholds("not qty_ratio >= 8") == []          # tightening under `not` is ambiguous
    assert thresholds("ref_source == 'catalog'") == []
    assert roundest(11.8, 15, False, True) == 12 and roundest(1999, 2400, False, True) == 2000


def _store_with_verdicts(url: str) -> None:
    at = datetime(2026, 9, 1, 13, 0)
    rows = seeded()
    flags = pl.DataFrame({
        "rule_id": [RULE] * len(rows), "kind": ["volume_surge"] * len(rows), "level": ["warn"] * len(rows),
        "department": ["customer_service"] * len(rows), "subject": [f"order:s:MD1:O{i}" for i in range(len(rows))],
        "order_id": [f"O{i}" for i in range(len(rows))], "store_id": ["MD1"] * len(rows),
        "occurred_at": [at + timedelta(hours=i) for i in range(len(rows))],
        "evidence": [json.dumps(ev) for _, ev in rows]})
    with Store.open(url) as store:
        scan = store.begin_scan(["seed.csv"], at)
        ids = store.write_flags(scan, flags).ids.sort("subject")
        by_subject = dict(zip(ids["subject"], ids["flag_id"]))
        for i, (verdict, _) in enumerate(rows):
            transition(store.engine, by_subject[f"order:s:MD1:O{i}"], actor="rev", to_status="resolved",
                       expected_version=1, resolution=verdict)


def test_suggestions_read_the_store_and_the_cli_writes_a_copy(tmp_path, monkeypatch, capsys):
    import yaml

    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"instance_dir": str(tmp_path / "instance"),
                                    "rules_dir": str(pack_config(tmp_path))}), encoding="utf-8")
    monkeypatch.setenv("ORDERWATCH_CONFIG", str(path))
    site_config = load_config()
    url = f"sqlite:///{tmp_path / 'ow.db'}"
    _store_with_verdicts(url)
    with Store.open(url) as store:
        assert resolved_flags(store.engine, RULE).height == 62
    found = {s.rule_id: s for s in suggest_all(site_config, load_rules(site_config), db_url=url)}
    assert found[RULE].changed == {"warn": "qty_ratio >= 12 and quantity >= 50"}
    assert found["order_amount_spike"].status == "too_few"

    out = tmp_path / "suggested"
    assert main(["rules", "suggest", "--db", url, "--rule", RULE, "--out-dir", str(out)]) == 0
    printed = capsys.readouterr()
    assert "qty_ratio >= 12 and quantity >= 50" in printed.out and "precision" in printed.out
    assert 'warn: "qty_ratio >= 12 and quantity >= 50"' in (out / "volume.yaml").read_text(encoding="utf-8")
    live = (site_config.rules_dir / "volume.yaml").read_text(encoding="utf-8")
    assert "qty_ratio >= 12" not in live                       # never applied by itself
    assert main(["rules", "check", str(out)]) == 0


def test_a_suggestion_that_loses_most_confirmed_says_so(rule):
    """Only the top 10 confirmed stand apart; the other 30 are mixed with the false positives."""
    rows = [("confirmed", {"qty_ratio": 100.0 + i, "quantity": 100.0}) for i in range(10)]
    rows += [("false_positive" if i % 2 else "confirmed", {"qty_ratio": 10.0 + i, "quantity": 100.0})
             for i in range(60)]
    s = fit(rule, evidence_frame(rows), min_resolved=30, target=0.9)
    assert s.status == "suggested" and s.costly
    # it keeps the 10 and the last confirmed below them (68) with one false positive: 11 / 12 >= 0.9
    assert (s.lost_true, s.removed_false) == (29, 29) and s.changed == {"warn": "qty_ratio >= 68 and quantity >= 50"}
    assert fit(rule, evidence_frame(seeded()), min_resolved=30).costly is False
