"""Rule validation: every mistake names file, rule and field; no stack trace reaches the author."""

import textwrap
from pathlib import Path

import pytest

from contracts.config import load_config
from orderwatch.cli import main
from rules.loader import RulesInvalid, load_rules, read_rule_files

GOOD = """
rules:
  - id: big_line
    title: {zh: 大数量, en: Big line}
    detector: volume_surge
    params: {scope: line}
    levels:
      warn: "qty_ratio >= 5 and quantity >= 100"
      critical: "qty_ratio >= 50"
    department: customer_service
    notify_store: true
"""


def write(tmp_path: Path, text: str, name: str = "r.yaml") -> Path:
    (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


def problems(tmp_path: Path, text: str) -> list[str]:
    _, found = read_rule_files(write(tmp_path, text), load_config())
    return [str(p) for p in found]


def test_shipped_pack_is_valid():
    config = load_config()
    rules = load_rules(config)
    assert {r.detector for r in rules} >= {"volume_surge", "amount_spike", "step_mismatch", "stage_overdue",
                                          "missing_address", "duplicate_order", "price_deviation",
                                          "payment_mismatch"}
    assert all(r.department in config.departments for r in rules)


def test_good_rule_loads(tmp_path):
    rules, found = read_rule_files(write(tmp_path, GOOD), load_config())
    assert found == []
    (rule,) = rules
    assert rule.params["scope"] == "line" and rule.params["window"] == 56  # defaults filled
    assert rule.fields == ["qty_ratio", "quantity"]  # sorted
    assert rule.notify_store and rule.enabled


@pytest.mark.parametrize("old, new, expected", [
    ("detector: volume_surge", "detector: volume_surgery", "rule 'big_line': detector: unknown detector 'volume_surgery'"),
    ("department: customer_service", "department: sales", "rule 'big_line': department: unknown department 'sales'"),
    ('warn: "qty_ratio >= 5 and quantity >= 100"', 'warn: "qty_ratio >= and quantity"',
     "rule 'big_line': levels.warn: expected a field or value at position 13"),
    ('critical: "qty_ratio >= 50"', 'critical: "qty_rato >= 50"',
     "rule 'big_line': levels.critical: unknown feature(s) qty_rato"),
    ('critical: "qty_ratio >= 50"', 'severe: "qty_ratio >= 50"', "rule 'big_line': levels.severe: unknown level"),
    ("params: {scope: line}", "params: {scope: week}", "rule 'big_line': params.scope: must be one of day, line"),
    ("params: {scope: line}", "params: {scope: line, windw: 3}", "rule 'big_line': params.windw: unknown parameter"),
    ("params: {scope: line}", "params: {scope: line, window: many}", "rule 'big_line': params.window: must be a number"),
    ("notify_store: true", "notify_store: maybe", "rule 'big_line': notify_store: must be true or false"),
    ("title: {zh: 大数量, en: Big line}", "title: {zh: 大数量}", "rule 'big_line': title: needs both zh and en"),
    ("notify_store: true", "notify_store: true\n    colour: red", "rule 'big_line': colour: unknown key"),
    ("id: big_line", "id: Big Line!", "id: is required"),
])
def test_each_mistake_is_named(tmp_path, old, new, expected):
    assert old in GOOD
    found = problems(tmp_path, GOOD.replace(old, new))
    assert any(expected in p for p in found), found
    assert all(p.startswith(str(tmp_path / "r.yaml")) for p in found)


def test_reason_placeholders_are_checked(tmp_path):
    text = GOOD + '    reason: {zh: "数量{quantity}倍数{ratio}"}\n'
    assert any("reason.zh: unknown placeholder(s): ratio" in p for p in problems(tmp_path, text))


def test_yaml_syntax_error_gives_line(tmp_path):
    found = problems(tmp_path, "rules:\n  - id: x\n    title: {zh: a, en: b\n")
    assert len(found) == 1 and "not valid YAML at line" in found[0]


def test_duplicate_ids_across_files(tmp_path):
    write(tmp_path, GOOD, "a.yaml")
    write(tmp_path, GOOD, "b.yaml")
    _, found = read_rule_files(tmp_path, load_config())
    assert [str(p) for p in found] == [f"{tmp_path / 'b.yaml'}: rule 'big_line': id: duplicate rule id (also in {tmp_path / 'a.yaml'})"]


def test_load_rules_raises_all_problems_at_once(tmp_path):
    write(tmp_path, GOOD.replace("volume_surge", "nope").replace("customer_service", "sales"))
    with pytest.raises(RulesInvalid) as exc:
        load_rules(load_config(), tmp_path)
    assert len(exc.value.problems) == 2


def test_cli_rules_check_exit_codes(tmp_path, capsys):
    assert main(["rules", "check"]) == 0
    assert "rule(s) valid" in capsys.readouterr().out
    write(tmp_path, GOOD.replace("qty_ratio >= 50", "qty_ratio >= 50)"))
    assert main(["rules", "check", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "levels.critical: unexpected ')'" in out and "Traceback" not in out


def test_disabled_rules_are_skipped(tmp_path):
    write(tmp_path, GOOD + "    enabled: false\n")
    assert load_rules(load_config(), tmp_path) == []
    assert len(load_rules(load_config(), tmp_path, include_disabled=True)) == 1
