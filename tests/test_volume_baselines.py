"""Volume baselines that know the store (issue 8): the shipped store_day_surge and
line_qty_outlier rules on small worlds of one or two stores — a weekly rhythm, steady growth,
a new store, a day of few huge lines, case-sold and bottle-sold SKUs, a past surge."""

from datetime import date, datetime, timedelta

import polars as pl
import pytest

from contracts.config import load_config
from detectors import REGISTRY
from rules.condition import to_polars
from rules.loader import load_rules
from tests.factories import catalog, context, line

RULES = {r.id: r for r in load_rules(load_config())}
TODAY = date(2026, 9, 5)          # a Saturday
SKUS = [f"K{i}" for i in range(12)]


def at(d: date, hour: int = 13) -> datetime:
    return datetime(d.year, d.month, d.day, hour)


def day_lines(store: str, d: date, qty: dict[str, float], tag: str = "") -> list[dict]:
    """One order of the store on day ``d``: a line per SKU with its quantity."""
    oid = f"{store}-{d:%m%d}{tag}"
    return [line(oid, store, sku, q, at(d)) for sku, q in qty.items()]


def history(store: str, days: int, per_day, until: date = TODAY) -> list[dict]:
    """``per_day(d, k)`` -> {sku: qty} for each of the ``days`` days before ``until`` (k = days back)."""
    out = []
    for k in range(days, 0, -1):
        d = until - timedelta(days=k)
        q = per_day(d, k)
        if q:
            out += day_lines(store, d, q)
    return out


def judge(rule_id: str, batch, hist, cat=None) -> pl.DataFrame:
    """The rule's detector output for the batch, with ``level`` = warn when the warn condition holds."""
    rule = RULES[rule_id]
    out = REGISTRY[rule.detector].compute(context(batch, hist, cat=cat), rule.params).collect()
    return out.with_columns(to_polars(rule.levels["warn"]).fill_null(False).alias("flagged"))


def flagged(rule_id: str, batch, hist, cat=None) -> bool:
    out = judge(rule_id, batch, hist, cat)
    return bool(out["flagged"].any())


# -- weekday seasonality -------------------------------------------------------------------
def weekly(d: date, k: int = 0, growth: float = 0.0) -> dict[str, float]:
    """A store restocking on Saturdays: 3x its weekday lines, each 2.5x the weekday's 20."""
    scale = (1 + growth) ** (-k / 7)
    n = 12 if d.weekday() == 5 else 4
    return {s: round(20 * scale) for s in SKUS[:n]} if d.weekday() != 5 else \
        {s: round(20 * scale * 2.5) for s in SKUS[:n]}


def test_a_normal_saturday_peak_is_not_a_surge_but_a_tuesday_at_saturday_level_is():
    hist = history("S1", 42, weekly)
    saturday = day_lines("S1", TODAY, weekly(TODAY))
    assert not flagged("store_day_surge", saturday, hist)
    out = judge("store_day_surge", saturday, hist).row(0, named=True)
    assert out["same_weekdays"] >= 3 and out["adj_ratio"] == pytest.approx(1.0, abs=0.15)

    tuesday = TODAY - timedelta(days=4)
    hist_t = history("S1", 42, weekly, until=tuesday)
    assert flagged("store_day_surge", day_lines("S1", tuesday, weekly(TODAY)), hist_t)


# -- trend ----------------------------------------------------------------------------------
def test_steady_growth_of_five_percent_a_week_is_not_a_surge():
    grow = lambda d, k: weekly(d, k, growth=0.05)  # noqa: E731
    hist = history("S1", 70, grow)
    for back in range(0, 14):                     # no day of the last two weeks is a surge
        d = TODAY - timedelta(days=back)
        past = [r for r in hist if r["created_at"].date() < d]
        assert not flagged("store_day_surge", day_lines("S1", d, grow(d, back)), past), d
    out = judge("store_day_surge", day_lines("S1", TODAY, grow(TODAY, 0)), hist).row(0, named=True)
    assert out["index_ratio"] == pytest.approx(1.0, abs=0.15)    # detrended: growth is expected


# -- new store ------------------------------------------------------------------------------
def test_a_store_open_five_days_is_judged_against_its_own_days_never_against_zero():
    normal = {s: 10.0 for s in SKUS[:4]}
    opening = {s: 25.0 for s in SKUS}               # the first, stocking order
    hist = day_lines("N1", TODAY - timedelta(days=5), opening)
    for k in range(4, 0, -1):
        hist += day_lines("N1", TODAY - timedelta(days=k), normal)
    out = judge("store_day_surge", day_lines("N1", TODAY, normal), hist).row(0, named=True)
    assert out["baseline_qty"] is not None and out["baseline_qty"] > 0 and not out["flagged"]
    assert out["qty_ratio"] == pytest.approx(1.0, abs=0.35)
    assert out["expected_index"] > 0 and out["index_ratio"] == pytest.approx(1.0, abs=0.35)
    # two days open: not judged at all (no ratio), so no flag
    young = day_lines("N2", TODAY - timedelta(days=1), opening)
    out = judge("store_day_surge", day_lines("N2", TODAY, normal), young).row(0, named=True)
    assert out["adj_ratio"] is None and not out["flagged"]


# -- mix-independent volume -----------------------------------------------------------------
def test_a_day_of_few_huge_lines_is_a_surge_though_its_units_barely_rise():
    usual = lambda d, k: {s: 10.0 for s in SKUS[(k % 2):(k % 2) + 6]}  # noqa: E731 - six lines of 10
    hist = history("S1", 35, usual)
    few = day_lines("S1", TODAY, {"K1": 50.0, "K2": 50.0})             # two lines, each 5x
    out = judge("store_day_surge", few, hist).row(0, named=True)
    assert out["day_qty"] == 100 and out["baseline_qty"] == pytest.approx(60)   # units: 1.7x only
    assert out["flagged"] and out["line_index"] == pytest.approx(5.0)
    many = day_lines("S1", TODAY, {s: 10.0 for s in SKUS})              # more lines, each usual
    assert not flagged("store_day_surge", many, hist)


# -- pack floors ----------------------------------------------------------------------------
CAT = catalog([{"sku": "CASE", "order_step": 1.0}, {"sku": "BOTTLE", "order_step": 6.0}])


def test_an_extra_zero_on_a_case_sold_sku_is_caught_and_a_normal_sixty_bottle_line_is_not():
    hist = history("S1", 20, lambda d, k: {"CASE": 2.0, "BOTTLE": 60.0})
    assert flagged("line_qty_outlier", day_lines("S1", TODAY, {"CASE": 20.0}), hist, CAT)     # 2 -> 20 cases
    assert not flagged("line_qty_outlier", day_lines("S1", TODAY, {"BOTTLE": 60.0}), hist, CAT)
    assert flagged("line_qty_outlier", day_lines("S1", TODAY, {"BOTTLE": 600.0}), hist, CAT)
    out = judge("line_qty_outlier", day_lines("S1", TODAY, {"CASE": 20.0}), hist, CAT).row(0, named=True)
    assert out["packs"] == 20 and out["excess_packs"] == 18


def test_a_zero_typed_on_a_line_below_the_usual_is_caught():
    hist = history("S1", 20, lambda d, k: {"CASE": 3.0})
    out = judge("line_qty_outlier", day_lines("S1", TODAY, {"CASE": 20.0}), hist, CAT).row(0, named=True)
    assert out["qty_ratio"] == pytest.approx(6.67, abs=0.01) and out["flagged"] and out["zero_shape"] == 1
    # the same ratio without the shape of a typed zero (21 = 2.1 cases) is left alone
    assert not flagged("line_qty_outlier", day_lines("S1", TODAY, {"CASE": 21.0}), hist, CAT)


# -- anomalies out of training --------------------------------------------------------------
def test_a_surge_last_week_does_not_mask_a_surge_this_week():
    def days(d: date, k: int) -> dict[str, float]:
        if k % 2:                                  # the store orders every other day
            return {}
        big = 8 <= k <= 14                         # last week: four orders in a row, each line 5x
        return {s: 50.0 if big else 10.0 for s in SKUS[:4]}

    hist = history("S1", 35, days)
    today = day_lines("S1", TODAY, {s: 50.0 for s in SKUS[:4]})   # this week: every line at 5x
    assert flagged("store_day_surge", today, hist)
    # the same data with past anomalies left in training: last week's surge raises the bar
    rule = RULES["store_day_surge"]
    params = {**rule.params, "sensitivity": 1e9, "sku_outlier": 1e9}
    out = REGISTRY["volume_surge"].compute(context(today, hist), params).collect()
    assert not out.with_columns(to_polars(rule.levels["warn"]).fill_null(False).alias("f"))["f"].any()
