"""The scan stores its flags' JSON without parsing it again (``write_flags(json_encoded=True)``):
that is only safe because ``rules.flags.build_flags`` always writes strict JSON — NaN and
infinite figures as null, quotes, newlines and non-ASCII text escaped.  Text from elsewhere is
still parsed and refused when it is not JSON."""

from __future__ import annotations

import json
import math
from datetime import datetime

import polars as pl
import pytest

from contracts.config import load_config
from rules import load_rules
from rules.flags import build_flags
from store.flag_write import flag_rows, write_flags
from store.repository import Store


def _strict(text: str) -> object:
    """json.loads that refuses NaN/Infinity (which Python's json accepts by default)."""
    def bad(token: str) -> object:
        raise ValueError(f"not JSON: {token}")
    return json.loads(text, parse_constant=bad)


def _candidates() -> pl.DataFrame:
    odd = [math.nan, math.inf, -math.inf, None, 1e-7, 2.5]
    rows = [{"subject": f"order:t:S1:O{i}", "order_id": f'O"{i}\n', "store_id": "门店\\1", "line_no": 1,
             "sku": f"SP{i}", "quantity": q, "qty_ratio": q, "usual_qty": q, "baseline": "store_sku",
             "zero_shape": 0} for i, q in enumerate(odd)]
    return pl.DataFrame(rows).with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))


def test_built_flags_are_strict_json_whatever_the_figures() -> None:
    rule = next(r for r in load_rules(load_config()) if r.id == "line_qty_outlier")
    cands = _candidates()
    fired = cands.select("_row", pl.lit("warn").alias("level"))
    flags = build_flags(rule, rule.detector, ["quantity", "qty_ratio", "usual_qty"], cands, fired)
    assert flags.height == cands.height
    for ev, args in flags.select("evidence", "reason_args").iter_rows():
        assert isinstance(_strict(ev), dict)
        assert args is None or isinstance(_strict(args), dict)
    # what the scan writes unparsed is exactly what a parsing write keeps
    assert flag_rows(flags, json_encoded=True).equals(flag_rows(flags))


def test_text_from_elsewhere_is_still_parsed(tmp_path) -> None:
    store = Store.open(f"sqlite:///{tmp_path / 'f.db'}")
    try:
        bad = pl.DataFrame({"rule_id": ["r"], "kind": ["k"], "level": ["warn"], "department": ["d"],
                            "subject": ["order:S:1"], "evidence": ["{not json"]})
        with store.transaction() as conn, pytest.raises(ValueError, match="not valid JSON"):
            write_flags(conn, None, bad, actor="t", now=datetime(2026, 1, 1))
    finally:
        store.close()
