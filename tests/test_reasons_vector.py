"""Every detector's sentence choice as polars expressions (``rules.reasons.vector``) gives, row
for row, the reason id and the figures' JSON text that the Python ``choose`` + ``settle`` give —
on frames of every awkward value (missing, NaN, infinite, zero, blank text, a power of ten),
with columns missing, at every level and for every parameter that changes the choice."""

from __future__ import annotations

import json
import random
from datetime import datetime
from typing import Any

import polars as pl
import pytest

from rules import reasons
from rules.reasons.vector import choose_all

_to_json = json.JSONEncoder(ensure_ascii=False).encode

FLOATS = [None, float("nan"), float("inf"), 0.0, 1.0, 1.2, 1.19, 2.5, 5.0, 9.0, 10.0, 99.0, 100.0, 116.0,
          316.22776601683796, 1000.0, 0.3, -3.0, 12.0, 7.5]
INTS = [None, 0, 1, 2, 5]
TEXT = [None, "", " ", "MD0001", "SO1", "SP1"]
SPECIAL: dict[str, list[Any]] = {
    "measure": ["line_index", "qty_index", None],
    "limit_source": ["platform", "store", None],
    "missing_fields": [None, "", "省", "省、市", "、区县", "收货人、电话、邮编", "别的"],
    "phone": [None, "", " ", "13812345678", " 010-1234567 ", "123"],
    "kinds": [None, "", "数量", "数量、地址、"],
    "baseline": ["store_sku", "platform_sku", None],
    "ref_source": ["catalog", "platform", None],
    "weekday": [0, 3, 6, None],
    "start_event": ["confirmed_at", "paid_at", None],
    "basis": ["sla", "export", None],
    "occurred_at": [datetime(2026, 9, 1, 13), datetime(2026, 9, 2, 0, 0, 0, 5), None],
}
INT_COLS = {"done", "deadline", "tracked", "zero_shape", "off_step", "under_min", "phone_invalid", "line_count",
            "same_weekdays", "history_days", "open_cod_orders", "orders_in_window", "kinds_in_window",
            "critical_orders", "day_lines", "history_orders", "minutes_since_previous", "minutes_after_cancel"}
TEXT_COLS = {"order_id", "store_id", "sku", "previous_order_id", "cancelled_order_id"}
FLOAT_COLS = {"quantity", "qty_ratio", "usual_qty", "day_qty", "qty_index", "line_index", "adj_ratio",
              "baseline_qty", "platform_factor", "hours", "sla_hours", "overdue_hours", "order_amount",
              "amount_ratio", "baseline_amount", "store_high", "high_ratio", "amount_z", "platform_amount",
              "platform_ratio", "platform_high", "platform_high_ratio", "order_step", "min_order_qty",
              "credit_limit", "over_limit", "cod_exposure", "exposure_over", "unit_price", "abs_deviation_pct",
              "deviation_pct", "ref_price", "paid_amount", "abs_gap", "gap_pct", "paid_gap", "order_qty",
              "similarity", "window_hours"}

#: detector -> the parameter sets that change its choice
CASES: dict[str, list[dict[str, Any]]] = {
    "volume_surge": [{"scope": "day"}, {"scope": "line"}],
    "stage_overdue": [{"end": e, "start": s, "stage": "x"} for e, s in (
        ("confirmed_at", None), ("picked_at", None), ("shipped_at", ["picked_at"]), ("shipped_at", ["confirmed_at"]),
        ("delivered_at", None), ("refunded_at", None), ("packed_at", None))],
    "amount_spike": [{}], "missing_address": [{}], "step_mismatch": [{}], "credit_limit": [{}],
    "price_deviation": [{}], "payment_mismatch": [{}], "duplicate_order": [{}], "cancel_reorder": [{}],
    "flag_cluster": [{}],
}


def _frame(rnd: random.Random, n: int, drop: set[str]) -> pl.DataFrame:
    cols: dict[str, pl.Series] = {"level": pl.Series([rnd.choice(["info", "warn", "critical", "report"])
                                                      for _ in range(n)], dtype=pl.String)}
    for name, values in SPECIAL.items():
        dtype = pl.Datetime("us") if name == "occurred_at" else pl.Int64 if name == "weekday" else pl.String
        cols[name] = pl.Series(name, [rnd.choice(values) for _ in range(n)], dtype=dtype)
    for name in FLOAT_COLS:
        cols[name] = pl.Series(name, [rnd.choice(FLOATS) for _ in range(n)], dtype=pl.Float64)
    for name in INT_COLS:
        cols[name] = pl.Series(name, [rnd.choice(INTS) for _ in range(n)], dtype=pl.Int64)
    for name in TEXT_COLS:
        cols[name] = pl.Series(name, [rnd.choice(TEXT) for _ in range(n)], dtype=pl.String)
    return pl.DataFrame([s.alias(k) for k, s in cols.items() if k not in drop])


@pytest.mark.parametrize("detector", sorted(CASES))
def test_expressions_choose_what_python_chooses(detector: str) -> None:
    rnd = random.Random(detector)
    title = {"zh": "标题", "en": "Title"}
    checked = 0
    for params in CASES[detector]:
        for drop in (set(), {"store_id", "platform_factor", "store_high", "phone", "missing_fields", "hours"},
                     {"order_id", "tracked", "deadline", "order_step", "kinds"}):
            rows = _frame(rnd, 600, drop)
            got = choose_all(detector, rows, params, title)
            assert got is not None
            ids, texts, figures = got
            for i, row in enumerate(rows.iter_rows(named=True)):
                try:
                    want = reasons.choose(detector, row["level"], row, params, title)
                except (OverflowError, ValueError):   # Python's math.floor of an infinite quantity
                    assert detector == "step_mismatch" and figures[i].get("lower") is None   # the figure left out
                    continue
                assert (ids[i], texts[i]) == (want.id, _to_json(want.args)), (params, row)
                assert figures[i] == want.args
                checked += 1
    assert checked >= 1500   # rows the Python reference could not choose for are left out


def test_a_detector_without_expressions_keeps_the_python_path() -> None:
    assert choose_all("no_such_detector", pl.DataFrame({"level": ["warn"]}), {}, None) is None
