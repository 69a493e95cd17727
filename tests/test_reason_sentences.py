"""Every reason reads as a sentence with its figures, in both languages: checked over every
template of every detector a shipped rule uses (and every rule's own YAML reason), with all
figures and with each figure missing in turn.  A missing figure never prints as a dash, an
empty part or a raw value: the part holding it is left out, or another sentence is chosen."""

from __future__ import annotations

import pytest

from contracts.config import load_config
from i18n.vocabulary import FEATURE_VALUES
from rules import reasons
from rules.loader import load_rules
from rules.reasons import sentence

LANGS = ("zh", "en")
TITLE = {"zh": "测试规则", "en": "A test rule"}

#: a plausible figure per format name (what the detectors hand their templates)
BY_SPEC = {"int": 12, "ratio": 10.0, "money": 1234.5, "hours": 5.5, "pct": 25.0, "share": 0.8,
           "day": "2026-09-01", "fields": ["district", "phone"], "kinds": ["amount_spike", "missing_address"],
           "title": TITLE, "num": 3.5}


def _figure(name: str, spec: str):
    if spec in FEATURE_VALUES:
        return next(iter(FEATURE_VALUES[spec]))
    if spec in BY_SPEC:
        return BY_SPEC[spec]
    if name in reasons.IDENTIFIERS or name.endswith("_id"):
        return f"{name.split('_')[0].upper()}-7"
    return 24


def _args(template: str) -> dict:
    import string

    out = {}
    for _, name, spec, _ in string.Formatter().parse(template.replace("[[", "").replace("]]", "")):
        if name:
            out[name] = _figure(name, spec or "")
    return out


def _shipped() -> list[tuple[str, str, str]]:
    """(rule id, reason id, template) for every reason a shipped rule can give."""
    out = []
    for rule in load_rules(load_config(), include_disabled=True):
        if rule.reason:
            out += [(rule.id, reasons.RULE_PREFIX + rule.id, t) for t in rule.reason.values()]
        else:
            out += [(rule.id, rid, t) for rid, t in reasons.templates(rule.detector).items()]
    return out


SHIPPED = _shipped()


RULES = {r.id: r for r in load_rules(load_config(), include_disabled=True)}


def _templates_of(rule_id: str) -> dict[str, str] | None:
    return RULES[rule_id].reason or None


@pytest.mark.parametrize("rule_id, reason_id, template", SHIPPED, ids=[f"{r}:{i}" for r, i, _ in SHIPPED])
def test_every_reason_of_every_rule_is_a_sentence_with_its_figures(rule_id, reason_id, template):
    args = _args(template)
    for lang in LANGS:
        assert reasons.problems(reason_id, args, lang, _templates_of(rule_id)) == [], (lang, reasons.render(
            reason_id, args, lang, _templates_of(rule_id)))
        text = reasons.render(reason_id, args, lang, _templates_of(rule_id))
        for name, value in args.items():               # every figure is in the sentence
            if isinstance(value, (int, float)) and not isinstance(value, bool) and name in sentence.required(template):
                assert any(str(v) in text for v in (int(value), value, f"{value:,.2f}", f"{value:.1f}")), (name, text)


@pytest.mark.parametrize("rule_id, reason_id, template", SHIPPED, ids=[f"{r}:{i}" for r, i, _ in SHIPPED])
def test_a_missing_figure_is_never_a_dash_or_an_empty_part(rule_id, reason_id, template):
    detector, _, key = reason_id.partition(".")
    full = _args(template)
    for gone in full:
        for empty in (None, "", []):
            args = {**full, gone: empty}
            if reason_id.startswith(reasons.RULE_PREFIX):
                chosen = reasons.by_title(args, TITLE) if sentence.lacking(template, args) else \
                    reasons.Reason(reason_id, args)
            else:
                chosen = reasons.settle(detector, key, args, TITLE)
            for lang in LANGS:
                said = reasons.render(chosen.id, chosen.args, lang, _templates_of(rule_id))
                assert said, (gone, chosen)
                assert reasons.problems(chosen.id, chosen.args, lang, _templates_of(rule_id)) == [], (gone, lang, said)
            if gone not in sentence.required(template):          # an optional part: the same sentence, shorter
                assert chosen.id == reason_id


def test_optional_parts_are_left_out_and_required_figures_refuse_the_template():
    t = "Order {order_id} of {quantity} units[[ ({lines} lines)]]."
    assert sentence.fill(t, {"order_id": "A", "quantity": 3, "lines": 2}, sentence.python_field) == \
        "Order A of 3 units (2 lines)."
    assert sentence.fill(t, {"order_id": "A", "quantity": 3, "lines": None}, sentence.python_field) == \
        "Order A of 3 units."
    with pytest.raises(sentence.Incomplete):
        sentence.fill(t, {"order_id": "A", "quantity": float("nan")}, sentence.python_field)
    assert sentence.required(t) == ["order_id", "quantity"]


def test_the_renderer_never_prints_a_dash_for_a_missing_value():
    """On main the step reason printed "(the nearest are — and —)" for a SKU without a step."""
    args = {"order_id": "O1", "sku": "K1", "quantity": 5, "order_step": 6}
    for lang in LANGS:
        text = reasons.render("step_mismatch.off_step", args, lang)
        assert text and "—" not in text and "()" not in text and "（）" not in text, text
    chosen = reasons.settle("duplicate_order", "same", {"order_id": "O2", "previous_order_id": "O1",
                                                        "minutes_since_previous": 4, "line_count": 1})
    assert reasons.problems(chosen.id, chosen.args, "en") == []


def test_sentence_checks_catch_what_a_reviewer_should_never_read():
    assert "a dash for a missing value" in sentence.problems("Order O1 is — times the usual.")
    assert "a raw 0/1 or a comparison" in sentence.problems("Order O1: over_cap=1.")
    assert "an empty part" in sentence.problems("Store S1 had 3 flags ().")
    assert "a missing value written out" in sentence.problems("Order O1 is None times the usual.")
    assert "does not end as a sentence" in sentence.problems("Order O1 is big")
    assert sentence.problems("Order O1 is far above its history — check it.") == []
    assert sentence.problems("Order A_B-1 is late.", ("A_B-1",)) == []
