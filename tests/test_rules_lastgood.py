"""Last-good rules: a broken file on disk is reported everywhere, scans refuse to run, and the
UI keeps explaining flags with the last rule set that validated.  Duplicate YAML keys anywhere
are errors naming file, line and key."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from contracts.config import ConfigError, load_config
from orderwatch.cli import main
from rules import loader
from rules.loader import read_rule_files, rules_state
from tests.web_fixtures import PASSWORD, login

PACK = Path(loader.__file__).resolve().parent / "pack"
DUPLICATE = textwrap.dedent("""
    rules:
      - id: big_line
        title: {zh: 大数量, en: Big line}
        detector: volume_surge
        params: {scope: line}
        levels:
          critical: "qty_ratio >= 50"
          critical: "qty_ratio >= 5"
        department: customer_service
""")


def test_duplicate_key_in_a_rule_file_names_file_line_and_key(tmp_path, capsys):
    (tmp_path / "r.yaml").write_text(DUPLICATE, encoding="utf-8")
    _, problems = read_rule_files(tmp_path, load_config())
    assert [str(p) for p in problems] == [
        f"{tmp_path / 'r.yaml'}: line 9: duplicate key 'critical' (first at line 8)"]
    assert main(["rules", "check", str(tmp_path)]) == 1
    assert "duplicate key 'critical'" in capsys.readouterr().out


def test_duplicate_key_in_the_config_is_an_error(tmp_path):
    site = tmp_path / "site.yaml"
    site.write_text("web:\n  port: 8001\nweb:\n  port: 8002\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"site.yaml: line 3: duplicate key 'web'"):
        load_config(site)


@pytest.fixture
def rules_dir(tmp_path):
    d = tmp_path / "rules"
    shutil.copytree(PACK, d)
    return d


def break_file(path: Path) -> None:
    path.write_text(path.read_text(encoding="utf-8").replace("detector: amount_spike", "detector: nope", 1)
                    + "\n# edited\n", encoding="utf-8")


def test_a_broken_file_keeps_the_last_good_set(rules_dir, tmp_path):
    cfg = load_config(overrides={"rules_dir": str(rules_dir), "instance_dir": str(tmp_path / "inst")})
    good = rules_state(cfg)
    assert good.problems == [] and "order_amount_spike" in {r.id for r in good.rules}
    break_file(rules_dir / "amounts.yaml")
    state = rules_state(cfg)
    assert state.problems and "unknown detector 'nope'" in str(state.problems[0])
    assert {r.id for r in state.rules} == {r.id for r in good.rules} and state.source == "memory"
    loader._LAST_GOOD.clear()  # a process started while the file is broken: the snapshot
    loader._CACHE.clear()
    fresh = rules_state(cfg)
    assert fresh.source == "snapshot" and {r.id for r in fresh.rules} == {r.id for r in good.rules}


def test_scan_refuses_with_a_clear_message(rules_dir, tmp_path, capsys):
    site = tmp_path / "site.yaml"
    site.write_text(f"rules_dir: {rules_dir}\ninstance_dir: {tmp_path / 'inst'}\n", encoding="utf-8")
    break_file(rules_dir / "amounts.yaml")
    csv = tmp_path / "o.csv"
    csv.write_text("订单号,门店编号,下单时间,商品编码,数量\nA1,S1,2026-09-01 13:00,K,1\n", encoding="utf-8")
    assert main(["--config", str(site), "scan", str(csv), "--db", f"sqlite:///{tmp_path / 'x.db'}"]) == 2
    err = capsys.readouterr().err
    assert "rules invalid" in err and "unknown detector 'nope'" in err and "Traceback" not in err


def test_ui_and_api_with_a_broken_rules_directory(world, rules_dir, tmp_path):
    from web import create_app
    db = world.store.engine.url.render_as_string(False)
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "inst2"), "database": {"url": db},
                                 "rules_dir": str(rules_dir)})
    app = create_app(cfg, {"TESTING": True})
    try:
        c = app.test_client()
        assert login(c, "admin", PASSWORD).status_code == 302
        fid = world.ids["fin_a"]
        explained = "金额 / 门店中位数 30.5 ≥ 20 ✓"
        assert explained in c.get(f"/flags/{fid}").get_data(as_text=True)   # the good set read
        break_file(rules_dir / "amounts.yaml")
        page = c.get(f"/flags/{fid}").get_data(as_text=True)
        assert explained in page       # still explained, by the last good rules
        rules_page = c.get("/rules/").get_data(as_text=True)
        assert 'id="rules-banner"' in rules_page and "unknown detector" in rules_page
        assert 'data-rule="order_amount_spike"' in rules_page
        token = world.tokens["admin"]
        body = '{"订单号":"A1","门店编号":"S1","下单时间":"2026-09-01 13:00","商品编码":"K","数量":1}\n'
        resp = c.post("/api/v1/orders", data=body, headers={"Authorization": f"Bearer {token}"})
        assert resp.status_code == 422 and resp.json["error"] == "rules_invalid"
        assert any("unknown detector 'nope'" in p for p in resp.json["problems"])
    finally:
        app.extensions["orderwatch.store"].close()
