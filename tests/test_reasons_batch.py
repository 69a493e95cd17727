"""Reasons rendered together (rules/reasons/batch.py) read exactly as rendered one by one.

Over every flag and late-done row of a demo scan (every detector's templates, fallbacks and the
``also`` of inhibited findings), in both languages, and over a rule's own YAML template with
Python specs and optional parts.
"""

import json

import pytest

from orderwatch.demo import generate
from orderwatch.scan import run_scan
from rules import reasons
from rules.reasons.batch import render_many


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    from contracts.config import load_config
    tmp = tmp_path_factory.mktemp("demo")
    cfg = load_config(overrides={"instance_dir": str(tmp / "instance")})
    demo = generate(tmp / "data", stores=40, days=21, seed=11)
    return run_scan(demo.order_files, cfg, catalog=demo.catalog, as_of=demo.as_of,
                    db_url=f"sqlite:///{tmp / 'demo.db'}")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_batched_sentences_equal_row_by_row(scanned, lang):
    items = [(rid, json.loads(args) if args else None)
             for frame in (scanned.flags, scanned.late_done)
             for rid, args in frame.select("reason_id", "reason_args").iter_rows()]
    assert len({rid for rid, _ in items if rid}) >= 8          # many templates, not one
    one_by_one = [reasons.render(rid, args, lang) for rid, args in items]
    assert render_many(items, lang) == one_by_one
    assert sum(t is not None for t in one_by_one) > 50


def test_stored_reason_is_the_batched_sentence(scanned):
    """The scan's stored text (rendered in batch) is what ``render`` says for each flag."""
    for rid, args, text in scanned.flags.select("reason_id", "reason_args", "reason").iter_rows():
        if rid and not rid.startswith(reasons.RULE_PREFIX):
            assert reasons.render(rid, json.loads(args), "zh") == text


def test_rule_template_with_specs_and_optional_parts():
    templates = {"zh": "订单{order_id}：{qty:.1f}件[[，常量{usual:.0f}件]]。",
                 "en": "Order {order_id}: {qty:.1f}[[, usually {usual:.0f}]]."}
    items = [("rule:r", {"order_id": "A1", "qty": 12.345, "usual": 3.0}),
             ("rule:r", {"order_id": "A2", "qty": 7, "usual": None}),
             ("rule:r", {"order_id": "", "qty": 7}),                     # required figure missing
             ("rule:r", {"order_id": "A3", "qty": "many", "usual": float("nan")}),
             (None, None)]
    for lang in ("zh", "en"):
        expected = [reasons.render(rid, args, lang, templates) for rid, args in items]
        assert render_many(items, lang, templates) == expected
        assert expected[0] and expected[2] is None and expected[4] is None
