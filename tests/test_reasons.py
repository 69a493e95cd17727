"""Reasons as reviewers speak: one sentence per detector and situation in both languages, with
the figures written the reader's way; no raw 0/1 flags, no internal tokens; "an extra zero" only
when the ratio has that shape; stored as data so each reader gets their language, and flags
stored before (text only) still read."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest
from sqlalchemy import insert, select

from detectors import REGISTRY
from rules import reasons
from store import Store
from store.db import make_engine, upgrade
from store.models import Flag

TOKENS = re.compile(r"=\s*[01]\b|[a-z]+_[a-z_]+")                       # raw flags, internal keys
LATIN = re.compile(r"[A-Za-z]{3,}")                                         # English words in Chinese


def test_every_detector_has_its_reasons():
    for name in REGISTRY:
        assert reasons.templates(name), f"{name}: no rules/reasons/{name}.py"


@pytest.mark.parametrize("ratio, extra_zero", [(10.0, True), (9.0, True), (100.0, True), (1030.0, True),
                                               (79.0, False), (30.0, False), (8.0, False), (5.0, False),
                                               (1.0, False),
                                               (None, False), (float("inf"), False)])
def test_extra_zero_only_near_a_power_of_ten(ratio, extra_zero):
    assert reasons.near_power_of_ten(ratio) is extra_zero
    row = {"order_id": "O1", "sku": "S1", "quantity": 79.0, "qty_ratio": ratio, "usual_qty": 1.0,
           "baseline": "store_sku"}
    chosen = reasons.choose("volume_surge", "critical", row, {"scope": "line"})
    assert (chosen.id == "volume_surge.line.extra_zero") is extra_zero
    text = reasons.render(chosen.id, chosen.args, "zh")
    assert ("多输了一个0" in text) is extra_zero


def test_79_against_a_usual_1_is_not_called_an_extra_zero():
    row = {"order_id": "O1", "sku": "S1", "quantity": 79.0, "qty_ratio": 79.0, "usual_qty": 1.0, "baseline": "platform_sku"}
    r = reasons.choose("volume_surge", "critical", row, {"scope": "line"})
    assert reasons.render(r.id, r.args, "zh") == (
        "订单O1：商品S1订购79件，是全平台该商品的常规数量1件的79.0倍，远超正常订单，请在拣货前与门店核实。")
    assert reasons.render(r.id, r.args, "en") == (
        "Order O1: 79 of product S1, 79.0 times all stores' usual for the product of 1 — far beyond a normal "
        "order; check with the store before it is picked.")


def test_flags_read_as_sentences_in_both_languages(tmp_path, site_config):
    """Every flag of a demo scan: a sentence in each language, no raw flags or internal tokens."""
    from orderwatch.demo import generate
    from orderwatch.scan import run_scan

    demo = generate(tmp_path / "demo", stores=20, days=15, seed=5)
    result = run_scan(demo.order_files, site_config, catalog=demo.catalog, as_of=demo.as_of,
                      db_url=f"sqlite:///{tmp_path / 'r.db'}")
    assert result.flags.height > 10 and result.flags["reason_id"].null_count() == 0
    seen = set()
    for f in result.flags.iter_rows(named=True):
        args = json.loads(f["reason_args"])
        zh, en = reasons.render(f["reason_id"], args, "zh"), reasons.render(f["reason_id"], args, "en")
        assert zh == f["reason"]                                   # the stored text is the Chinese one
        for text in (zh, en):
            assert not TOKENS.search(text), (f["reason_id"], text)
            assert "—" not in text.replace(" — ", ""), (f["reason_id"], text)   # every figure present
        ids = " ".join(str(v) for v in args.values() if isinstance(v, str))
        assert not [w for w in LATIN.findall(zh) if w not in ids], zh   # Latin letters only in ids
        assert not re.search(r"[\u4e00-\u9fff]", en.replace(f["store_name"] or "", "")), en
        seen.add(f["kind"])
    assert {"volume_surge", "amount_spike", "missing_address", "step_mismatch", "stage_overdue"} <= seen


def test_figures_follow_the_reader(tmp_path):
    args = {"order_id": "O9", "store_id": "S9", "order_amount": 12345.6, "amount_ratio": 31.25,
            "baseline_amount": 395.0}
    assert reasons.render("amount_spike.store.warn", args, "zh") == \
        "门店S9的订单O9金额12,345.60，是该门店订单金额中位数395.00的31.2倍。"
    html = reasons.render("amount_spike.store.warn", {**args, "order_id": "<b>O9</b>"}, "en", markup=True)
    assert '<span translate="no" class="id">&lt;b&gt;O9&lt;/b&gt;</span>' in str(html)
    assert reasons.render("nope.x", {}, "zh") is None and reasons.render(None, None, "en") is None


def test_old_rows_without_reason_data_stay_readable(tmp_path, world, client_for):
    """A flag stored before migration 0005 (reason text only) keeps its text on every page."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    upgrade(engine, "0004")
    with engine.begin() as conn:
        conn.execute(insert(Flag.__table__).values(
            rule_id="r", kind="amount_spike", level="warn", department="finance", subject="s1", reason="旧原因",
            severity=2, status="open", version=1))  # noqa: E501
    engine.dispose()
    with Store.open(url) as s:                     # migrates to head
        with s.engine.connect() as conn:
            row = conn.execute(select(Flag.__table__.c.reason, Flag.__table__.c.reason_id)).one()
        assert tuple(row) == ("旧原因", None)
        assert s.flags_frame().select("reason", "reason_id").row(0) == ("旧原因", None)
    # and on a page: the web world's flags carry text only
    page = client_for("fin").get(f"/flags/{world.ids['fin_a']}").get_data(as_text=True)
    assert "原因 fin_a" in page


def test_english_reader_gets_the_english_reason_of_the_same_flag(tmp_path):
    from datetime import datetime

    from contracts.config import load_config
    from store.users import add_user
    from tests.web_fixtures import PASSWORD, login
    from web import create_app

    cfg = load_config(overrides={"instance_dir": str(tmp_path / "i"), "database": {"url": f"sqlite:///{tmp_path}/e.db"}})
    app = create_app(cfg, {"TESTING": True})
    store = app.extensions["orderwatch.store"]
    args = {"order_id": "O1", "sku": "K1", "quantity": 120, "qty_ratio": 10, "usual_qty": 12, "basis": "store_sku"}
    store.upsert_flags(store.begin_scan([], datetime(2026, 1, 1)), pl.DataFrame({
        "rule_id": ["line_qty_outlier"], "kind": ["volume_surge"], "level": ["critical"], "department": ["finance"],
        "subject": ["x"], "order_id": ["O1"], "store_id": ["S1"], "reason": ["中文原因"],
        "reason_id": ["volume_surge.line.extra_zero"], "reason_args": [json.dumps(args)]}))
    for name, lang in (("en_user", "en"), ("zh_user", "zh")):
        add_user(store.engine, name, PASSWORD, "reviewer", departments=["finance"], language=lang,
                 known_departments=list(cfg.departments))
    pages = {}
    for name in ("en_user", "zh_user"):
        c = app.test_client()
        assert login(c, name).status_code == 302
        pages[name] = c.get("/queue/finance").get_data(as_text=True)
    assert 'Order <span translate="no" class="id">O1</span>: 120 of product' in pages["en_user"]
    assert "looks like a zero too many was typed" in pages["en_user"] and "中文原因" not in pages["en_user"]
    assert "疑似多输了一个0" in pages["zh_user"]
    store.close()
