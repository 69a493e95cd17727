"""``orderwatch rules test``: exit status says whether the change is valid; the working copy
(drafts over the live directory) is what it tests by default; level edits keep the YAML."""

from __future__ import annotations

import csv
import shutil

import pytest
import yaml

from contracts.config import load_config
from orderwatch.cli import main
from rules import working
from rules.edit import EditError, levels_of, set_levels
from tests.factories import SHIPPED_LINE_WARN


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A scanned demo set, a site config whose rules directory is a copy of the pack."""
    from orderwatch.demo import generate
    from orderwatch.scan import run_scan

    tmp = tmp_path_factory.mktemp("rules_test_cli")
    shutil.copytree(load_config().rules_dir, tmp / "rules")
    cfg_path = tmp / "config.yaml"
    cfg_path.write_text(yaml.safe_dump({"instance_dir": str(tmp / "instance"), "rules_dir": str(tmp / "rules")}),
                        encoding="utf-8")
    cfg = load_config(cfg_path)
    demo = generate(tmp / "data", stores=20, days=15, seed=3)
    run_scan(demo.order_files, cfg, catalog=demo.catalog, as_of=demo.as_of)
    return tmp, cfg_path


@pytest.fixture
def cfg(site, monkeypatch):
    tmp, path = site
    monkeypatch.setenv("ORDERWATCH_CONFIG", str(path))
    config = load_config()
    yield config
    for name in list(working.drafts(config)):
        working.discard(config, name)


def _loose(text: str) -> str:
    return set_levels(text, "line_qty_outlier", {"warn": "qty_ratio >= 3 and quantity >= 10"})


def test_a_valid_change_exits_0_and_writes_what_moved(cfg, tmp_path, capsys):
    changed = tmp_path / "changed"
    shutil.copytree(cfg.rules_dir, changed)
    vol = changed / "volume.yaml"
    vol.write_text(_loose(vol.read_text(encoding="utf-8")), encoding="utf-8")
    out = tmp_path / "moved.csv"
    assert main(["rules", "test", str(changed), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"levels.warn: {SHIPPED_LINE_WARN} → qty_ratio >= 3 and quantity >= 10" in printed
    assert "per rule and level" in printed and "by department" in printed and "flags added" in printed
    with out.open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {r["rule_id"] for r in rows} >= {"line_qty_outlier"}
    assert all(r["change"] in ("added", "removed", "raised", "lowered") and r["reason"] for r in rows)


def test_an_invalid_change_exits_1_naming_file_rule_and_field(cfg, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(cfg.rules_dir, broken)
    vol = broken / "volume.yaml"
    vol.write_text(set_levels(vol.read_text(encoding="utf-8"), "line_qty_outlier", {"warn": "qty_ratoi >= 3"}),
                   encoding="utf-8")
    assert main(["rules", "test", str(broken)]) == 1
    captured = capsys.readouterr()
    assert f"{vol}: rule 'line_qty_outlier': levels.warn: unknown feature(s) qty_ratoi" in captured.out
    assert "not valid" in captured.err and "Traceback" not in captured.out + captured.err


def test_what_cannot_run_exits_2(cfg, tmp_path, capsys):
    assert main(["rules", "test", "--db", f"sqlite:///{tmp_path / 'empty.db'}"]) == 2
    assert "scan some orders first" in capsys.readouterr().err
    assert main(["rules", "test", "--rule", "no_such_rule"]) == 2
    with pytest.raises(SystemExit):
        main(["rules", "test", "--since", "yesterday"])


def test_the_default_is_the_live_directory_with_the_working_copy(cfg, capsys):
    assert main(["rules", "test"]) == 0
    assert "changes 改动: none" in capsys.readouterr().out
    live = cfg.rules_dir / "volume.yaml"
    working.write_draft(cfg, "volume.yaml", _loose(live.read_text(encoding="utf-8")))
    assert main(["rules", "test", "--rule", "line_qty_outlier"]) == 0
    printed = capsys.readouterr().out
    assert "volume.yaml" in printed and "→ qty_ratio >= 3 and quantity >= 10" in printed
    assert "qty_ratio >= 3 and quantity >= 10" not in live.read_text(encoding="utf-8")   # a draft is not in force


def test_save_puts_a_draft_in_force_unless_the_live_file_moved(cfg):
    live = cfg.rules_dir / "amounts.yaml"
    original = live.read_text(encoding="utf-8")
    try:
        edited = set_levels(original, "paid_amount_mismatch", {"warn": "abs_gap >= 2 and gap_pct >= 0.5"})
        working.write_draft(cfg, "amounts.yaml", edited)
        assert working.text_of(cfg, "amounts.yaml") == edited
        working.save(cfg, "amounts.yaml")
        assert live.read_text(encoding="utf-8") == edited and "amounts.yaml" not in working.drafts(cfg)
        # a draft made from that version, then someone edits the live file: saving is refused
        working.write_draft(cfg, "amounts.yaml", original)
        live.write_text(edited + "\n# edited by hand\n", encoding="utf-8")
        with pytest.raises(working.DraftConflict):
            working.save(cfg, "amounts.yaml")
        assert working.discard(cfg, "amounts.yaml") and not working.drafts(cfg)
    finally:
        live.write_text(original, encoding="utf-8")


def test_level_edits_keep_comments_order_and_other_rules():
    text = ("# money rules\nrules:\n  - id: a\n    title: {zh: 甲, en: A}\n    levels:\n"
            "      # the usual case\n      warn: 'x >= 1'   # loose\n      critical: \"x >= 5\"\n    department: finance\n"
            "  - id: b\n    levels: {warn: \"y >= 1\"}\n")
    out = set_levels(text, "a", {"warn": "x >= 2", "info": "x >= 0.5", "critical": None})
    assert out.startswith("# money rules\n") and "# the usual case\n" in out
    assert "      warn: \"x >= 2\"   # loose\n" in out and "critical" not in out
    assert "      info: \"x >= 0.5\"\n    department: finance\n" in out
    assert levels_of(out, "a") == {"warn": "x >= 2", "info": "x >= 0.5"} and levels_of(out, "b") == {"warn": "y >= 1"}
    flow = set_levels(out, "b", {"critical": "y >= 9", "warn": "y >= 2"})
    assert "levels: {warn: \"y >= 2\", critical: \"y >= 9\"}" in flow
    assert set_levels(flow, "b", {"warn": None}).endswith("levels: {critical: \"y >= 9\"}\n")
    with pytest.raises(EditError, match="no rule 'c'"):
        set_levels(text, "c", {"warn": "x >= 1"})
