"""Quarantine reasons are written in Chinese by ingest/ and shown in the reader's language."""
from __future__ import annotations

from flask_babel import force_locale

from contracts.config import load_config
from ingest.orders import NOT_AN_ORDER
from web import create_app
from web.scan_report import translate_reason

BOTH = "必填字段为空: 下单时间 (created_at)；数量为空（订单未取消或退货）: 数量 (quantity)"


def test_reasons_read_in_english_and_chinese(tmp_path):
    cfg = load_config(overrides={"instance_dir": str(tmp_path / "instance"), "jobs": {"in_serve": False}})
    app = create_app(cfg, {"TESTING": True})
    with app.test_request_context("/"):
        with force_locale("en"):
            assert str(translate_reason(NOT_AN_ORDER, "en")).startswith("not an order line: no order time")
            en = str(translate_reason(BOTH, "en"))
        with force_locale("zh"):
            zh = str(translate_reason(NOT_AN_ORDER, "zh"))
    assert en.startswith("required field empty: ") and "quantity empty on a line" in en
    assert "必填" not in en
    assert zh.startswith("不是订单行") and "membership" not in zh
    app.extensions["orderwatch.store"].close()
