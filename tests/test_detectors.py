"""Each detector on small, readable batches: the anomaly it exists for, and its edge cases
(empty batch, no history, nulls, a single store)."""

from datetime import timedelta

import polars as pl
import pytest

from detectors import REGISTRY
from tests.factories import T0, catalog, context, daily_history, line

ALL = sorted(REGISTRY)


def run(name: str, ctx, **params) -> pl.DataFrame:
    det = REGISTRY[name]
    return det.compute(ctx, det.with_defaults(params)).collect()


@pytest.mark.parametrize("name", ALL)
def test_empty_batch_yields_no_rows(name):
    params = {"scope": "day"} if name == "volume_surge" else {}
    out = run(name, context([], cat=catalog([{"sku": "A", "order_step": 6, "min_order_qty": 6}])), **params)
    assert out.height == 0


@pytest.mark.parametrize("name", ALL)
def test_features_declared_are_produced(name):
    det = REGISTRY[name]
    batch = [line("O1", phone="13812345678", consignee="张三", province="北京", city="北京", district="朝阳",
                  address="建国路1号", confirmed_at=T0, payment_method="微信支付", paid_amount=10.0,
                  unit_price=1.0)]
    for scope in (det.choices or {}).get("scope", (None,)):
        params = det.with_defaults({"scope": scope} if scope else {})
        out = det.compute(context(batch, cat=catalog([{"sku": "A", "order_step": 1, "list_price": 1.0}])),
                          params).collect()
        assert set(det.features(params)) <= set(out.columns)
        assert {"subject", "store_id", "order_id", "occurred_at"} <= set(out.columns)


# -- volume_surge ---------------------------------------------------------------------------
def test_store_day_surge_against_own_baseline():
    hist = daily_history("S1", 20, 10) + daily_history("S2", 20, 100)
    batch = [line("N1", "S1", quantity=80), line("N2", "S2", quantity=100)]
    out = run("volume_surge", context(batch, hist), scope="day").sort("store_id")
    s1, s2 = out.row(0, named=True), out.row(1, named=True)
    assert s1["baseline_qty"] == 10 and s1["qty_ratio"] == pytest.approx(8)
    assert s2["qty_ratio"] == pytest.approx(1)
    assert s1["history_days"] == 20


def test_store_day_without_history_has_no_baseline():
    out = run("volume_surge", context([line("N1", "S1", quantity=500)]), scope="day")
    assert out.height == 1 and out["baseline_qty"][0] is None and out["qty_ratio"][0] is None


def test_platform_wide_promotion_is_netted_out():
    stores = [f"S{i}" for i in range(8)]
    hist = [r for s in stores for r in daily_history(s, 15, 10)]
    batch = [line(f"N{s}", s, quantity=30) for s in stores]            # everyone ×3
    batch[0] = line("NS0", "S0", quantity=300)                         # one store ×30
    out = run("volume_surge", context(batch, hist), scope="day").sort("store_id")
    assert out["platform_factor"].to_list() == pytest.approx([3.0] * 8)
    assert out.filter(pl.col("store_id") == "S1")["adj_ratio"][0] == pytest.approx(1.0)
    assert out.filter(pl.col("store_id") == "S0")["adj_ratio"][0] == pytest.approx(10.0)


def test_line_extra_zero_against_store_sku_usual():
    hist = daily_history("S1", 10, 12, sku="A")
    out = run("volume_surge", context([line("N1", "S1", "A", 120)], hist), scope="line", min_history=3)
    row = out.row(0, named=True)
    assert row["baseline"] == "store_sku" and row["usual_qty"] == 12 and row["qty_ratio"] == pytest.approx(10)


def test_line_falls_back_to_platform_when_store_is_new():
    hist = [r for s in ("S2", "S3") for r in daily_history(s, 5, 6, sku="A")]
    out = run("volume_surge", context([line("N1", "S9", "A", 600)], hist), scope="line", min_history=3)
    row = out.row(0, named=True)
    assert row["baseline"] == "platform_sku" and row["qty_ratio"] == pytest.approx(100)


def test_returns_and_cancelled_lines_do_not_feed_or_trigger():
    hist = daily_history("S1", 10, 12, sku="A")
    batch = [line("C1", "S1", "A", -1200), line("N2", "S1", "A", 1200, status="已取消")]
    assert run("volume_surge", context(batch, hist), scope="line").height == 0


def test_null_quantity_history_is_ignored():
    hist = daily_history("S1", 10, 12, sku="A") + [line("X", "S1", "A", None, T0 - timedelta(hours=1))]
    out = run("volume_surge", context([line("N1", "S1", "A", 24)], hist), scope="line", min_history=3)
    assert out["usual_qty"][0] == 12


# -- amount_spike ---------------------------------------------------------------------------
def test_amount_against_store_history():
    hist = daily_history("S1", 10, 1, unit_price=100.0)
    batch = [line("N1", "S1", quantity=1, unit_price=3000.0, payment_method="货到付款"),
             line("N2", "S1", quantity=1, unit_price=90.0, payment_method="微信支付", created_at=T0 + timedelta(hours=1))]
    out = run("amount_spike", context(batch, hist)).sort("order_id")
    n1 = out.row(0, named=True)
    assert n1["amount_ratio"] == pytest.approx(30)
    assert "门店历史中位数" in n1["comparison"]
    assert "over_cap" not in out.columns       # a platform-wide constant cap is no feature of the amount


def test_cash_on_delivery_against_the_stores_credit_limit():
    """The cod cap of main (one 20,000 for every store) became a credit limit per store."""
    hist = daily_history("S1", 10, 1, unit_price=100.0, payment_method="货到付款", status="已完成")
    batch = [line("N1", "S1", quantity=1, unit_price=3000.0, payment_method="货到付款"),
             line("N2", "S1", quantity=1, unit_price=3000.0, payment_method="微信支付", created_at=T0 + timedelta(hours=1)),
             line("N3", "S2", quantity=1, unit_price=3000.0, payment_method="货到付款", created_at=T0 + timedelta(hours=2))]
    ctx = context(batch, hist)
    assert run("credit_limit", ctx).height == 0                     # no limit known: nothing judged
    ctx.limits = pl.LazyFrame({"store_id": ["S1"], "credit_limit": [2000.0]})
    out = run("credit_limit", ctx)
    assert out.select("order_id", "credit_limit", "over_limit", "limit_source").rows() == [("N1", 2000.0, 1000.0, "store")]
    ctx.cod_cap = 2500.0                                               # the site's cap for stores without one
    out = run("credit_limit", ctx).sort("order_id")
    assert out.select("order_id", "credit_limit", "limit_source").rows() == [("N1", 2000.0, "store"),
                                                                             ("N3", 2500.0, "platform")]


def test_amount_first_order_uses_platform_median():
    hist = daily_history("S2", 10, 1, unit_price=100.0)
    out = run("amount_spike", context([line("N1", "S9", quantity=1, unit_price=50000.0)], hist))
    row = out.row(0, named=True)
    assert row["baseline_amount"] is None and row["history_orders"] == 0
    assert row["platform_ratio"] > 100 and "门店历史不足" in row["comparison"]


def test_order_amount_column_wins_over_line_sum():
    batch = [line("N1", "S1", quantity=2, unit_price=10.0, order_amount=999.0),
             line("N1", "S1", sku="B", quantity=1, unit_price=5.0, order_amount=999.0)]
    assert run("amount_spike", context(batch))["order_amount"].to_list() == [999.0]


# -- step_mismatch --------------------------------------------------------------------------
def test_step_and_minimum():
    cat = catalog([{"sku": "A", "order_step": 6, "min_order_qty": 12}, {"sku": "W", "order_step": 0.5}])
    batch = [line("O1", sku="A", quantity=18), line("O2", sku="A", quantity=7), line("O3", sku="A", quantity=6),
             line("O4", sku="W", quantity=1.5), line("O5", sku="W", quantity=1.2), line("O6", sku="Z", quantity=7)]
    out = run("step_mismatch", context(batch, cat=cat)).sort("order_id")
    got = {r["order_id"]: (r["off_step"], r["under_min"]) for r in out.iter_rows(named=True)}
    assert got == {"O1": (0, 0), "O2": (1, 1), "O3": (0, 1), "O4": (0, 0), "O5": (1, 0)}  # Z: not in catalog


def test_step_without_catalog_yields_nothing():
    assert run("step_mismatch", context([line("O1", quantity=7)])).height == 0


# -- stage_overdue (picking, the default stage) ------------------------------------------------
def test_picking_judged_against_as_of():
    cat = catalog([{"sku": "F", "fresh": True}, {"sku": "A", "fresh": False}])
    batch = [
        line("O1", sku="A", confirmed_at=T0),                                      # 5 h, unpicked
        line("O2", sku="F", confirmed_at=T0 + timedelta(hours=2)),                 # fresh, 3 h
        line("O3", sku="A", confirmed_at=T0, picked_at=T0 + timedelta(hours=6)),   # picked late: done
        line("O4", sku="A", confirmed_at=T0, picked_at=T0 + timedelta(hours=1)),   # on time
        line("O5", sku="A"),                                                       # never confirmed
    ]
    out = run("stage_overdue", context(batch, cat=cat, as_of=T0 + timedelta(hours=5))).sort("order_id")
    got = {r["order_id"]: (round(r["hours"], 2), r["sla_hours"], r["done"], r["fresh"])
           for r in out.iter_rows(named=True)}
    assert got == {"O1": (5.0, 4.0, 0, 0), "O2": (3.0, 2.0, 0, 1), "O3": (6.0, 4.0, 1, 0), "O4": (1.0, 4.0, 1, 0)}


def test_picking_grows_with_time():
    # the file records picking (O0 was picked), so O1's empty picking time means "not picked yet"
    batch = [line("O0", confirmed_at=T0, picked_at=T0 + timedelta(hours=1)), line("O1", confirmed_at=T0)]
    early = run("stage_overdue", context(batch, as_of=T0 + timedelta(hours=1))).filter(pl.col("order_id") == "O1")
    late = run("stage_overdue", context(batch, as_of=T0 + timedelta(hours=9))).filter(pl.col("order_id") == "O1")
    assert early["overdue_hours"][0] == pytest.approx(-3) and late["overdue_hours"][0] == pytest.approx(5)


# -- missing_address ------------------------------------------------------------------------
FULL = dict(consignee="张三", phone="13812345678", province="浙江省", city="杭州市", district="西湖区",
            address="文三路 90 号")


@pytest.mark.parametrize("change, missing, invalid", [
    ({}, 0, 0),
    ({"district": None}, 1, 0),
    ({"province": " ", "city": None, "consignee": None}, 3, 0),
    ({"phone": "1381234567"}, 0, 1),
    ({"phone": "+86 138-1234-5678"}, 0, 0),
    ({"phone": "010-62345678"}, 0, 0),
    ({"phone": "62345678"}, 0, 1),
    ({"phone": None}, 0, 1),
    ({"country": "Japan", "province": None, "district": None, "postcode": None, "phone": "+81 3 1234 5678"}, 1, 0),
])
def test_address_completeness(change, missing, invalid):
    out = run("missing_address", context([line("O1", **{**FULL, **change})]))
    assert (out["missing_count"][0], out["phone_invalid"][0]) == (missing, invalid)


def test_source_without_address_columns_is_not_judged():
    assert run("missing_address", context([line("O1")])).height == 0


# -- duplicate_order ------------------------------------------------------------------------
def test_duplicate_same_lines_minutes_apart():
    t1 = T0 + timedelta(minutes=7)
    batch = [line("O1", sku="A", quantity=6), line("O1", sku="B", quantity=12),
             line("O2", sku="B", quantity=12, created_at=t1), line("O2", sku="A", quantity=6, created_at=t1),
             line("O3", sku="A", quantity=6, created_at=t1 + timedelta(minutes=1)),       # different lines
             line("O4", "S2", sku="A", quantity=6, created_at=t1), line("O4", "S2", sku="B", quantity=12, created_at=t1)]
    out = run("duplicate_order", context(batch))
    assert out.select("order_id", "previous_order_id").rows() == [("O2", "O1")]
    assert out["minutes_since_previous"][0] == pytest.approx(7)


def test_duplicate_of_an_order_in_history():
    hist = [line("O1", sku="A", quantity=6, created_at=T0 - timedelta(minutes=20))]
    out = run("duplicate_order", context([line("O2", sku="A", quantity=6)], hist))
    assert out["previous_order_id"].to_list() == ["O1"]


# -- price_deviation & payment_mismatch ----------------------------------------------------
def test_price_against_catalog_then_platform():
    cat = catalog([{"sku": "A", "list_price": 10.0}])
    hist = [line(f"H{i}", sku="B", unit_price=4.0, created_at=T0 - timedelta(days=1)) for i in range(6)]
    batch = [line("O1", sku="A", unit_price=5.0), line("O2", sku="B", unit_price=8.0), line("O3", sku="C", unit_price=1.0)]
    out = run("price_deviation", context(batch, hist, cat=cat)).sort("order_id")
    got = {r["order_id"]: (r["ref_source"], round(r["deviation_pct"], 1)) for r in out.iter_rows(named=True)}
    assert got == {"O1": ("catalog", -50.0), "O2": ("platform", 100.0)}


def test_a_price_off_the_platform_median_is_off_by_a_factor_either_way(site_config):
    """Without a catalog price, half the usual price is as far off as twice it: the
    shipped rule flags both, and neither a 30 % dearer nor a 30 % cheaper line."""
    from rules.condition import to_polars
    from rules.loader import load_rules

    hist = [line(f"H{i}", sku="B", unit_price=10.0, created_at=T0 - timedelta(days=1)) for i in range(6)]
    batch = [line("O1", sku="B", unit_price=5.0), line("O2", sku="B", unit_price=30.0),
             line("O3", sku="B", unit_price=13.0), line("O4", sku="B", unit_price=7.0)]
    out = run("price_deviation", context(batch, hist)).sort("order_id")
    assert [round(v, 2) for v in out["price_fold"]] == [2.0, 3.0, 1.3, 1.43]          # O1: half the price
    rule = next(r for r in load_rules(site_config) if r.id == "unit_price_off_catalog")
    assert out.filter(to_polars(rule.levels["warn"]))["order_id"].to_list() == ["O1", "O2"]


def test_payment_mismatch_only_for_online_payments():
    batch = [line("O1", quantity=1, unit_price=100.0, payment_method="支付宝", paid_amount=90.0),
             line("O2", quantity=1, unit_price=100.0, payment_method="货到付款", paid_amount=0.0),
             line("O3", quantity=1, unit_price=100.0, payment_method="微信支付", paid_amount=100.0),
             line("O4", quantity=1, unit_price=100.0, payment_method="微信支付")]
    out = run("payment_mismatch", context(batch)).sort("order_id")
    assert out.select("order_id", "paid_gap", "gap_pct").rows() == [("O1", -10.0, 10.0), ("O3", 0.0, 0.0)]


# -- stage_overdue (delivery) ------------------------------------------------------------------
DELIVERY = {"stage": "delivery", "start": ["shipped_at"], "end": "delivered_at", "tracked_by": ["state:delivered"],
            "then": "", "deadline": "deliver_by"}


def test_delivery_judged_against_as_of():
    shipped = T0 + timedelta(hours=2)
    batch = [line("O1", shipped_at=shipped),
             line("O2", shipped_at=shipped, delivered_at=shipped + timedelta(hours=100)),
             line("O3", shipped_at=shipped, delivered_at=shipped + timedelta(hours=10)),
             line("O4")]
    out = run("stage_overdue", context(batch, as_of=shipped + timedelta(hours=80)), **DELIVERY).sort("order_id")
    got = {r["order_id"]: (round(r["hours"]), r["overdue_hours"] > 0, r["done"], r["past_latest"])
           for r in out.iter_rows(named=True)}
    assert got == {"O1": (80, True, 0, 0), "O2": (100, True, 1, 0), "O3": (10, False, 1, 0)}
    past = run("stage_overdue", context(batch[:1], as_of=shipped + timedelta(hours=121)), **DELIVERY)
    assert past["past_latest"].to_list() == [1]                        # past the 5 days of "3-5 days"
