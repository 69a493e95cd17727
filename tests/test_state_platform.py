"""The platform state tables (detectors/state_platform.py) kept scan by scan equal the tables
built from the raw lines — over re-exported lines (returns, cancellations, deliveries, new
quantities and prices) and store-days whose lines arrive in several scans — and what the
detectors read of them (the platform's newest orders and a SKU's newest prices) is the same."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.config import load_config
from contracts.schema import LINE_KEY
from detectors.state_platform import ANY_LINE, SCHEMAS, Bounds, advance, build, empty
from detectors.state_tables import order_values
from tests.factories import frame

CONFIG = load_config()
T0 = datetime(2026, 9, 1, 8, 0)

line_st = st.fixed_dictionaries({
    "store": st.sampled_from(["S1", "S2", "S3"]), "sku": st.sampled_from(["A", "B", None]),
    "qty": st.sampled_from([1.0, 2.0, 5.0, -2.0, None]),
    "price": st.sampled_from([None, 1.5, 10.0, 12.0]),
    "state": st.sampled_from([None, None, "completed", "returned", "cancelled", "delivered"]),
    "pay": st.sampled_from([None, "货到付款", "online"]),
    "delivered": st.sampled_from([None, None, 3]),
    "phone": st.sampled_from([None, "13800138000"]),
    "hours": st.integers(0, 5 * 24),
})
scan_st = st.lists(line_st, min_size=1, max_size=12)
REDO = st.tuples(st.integers(0, 3), st.integers(0, 11), st.sampled_from([None, "returned", "cancelled", "delivered"]),
                 st.sampled_from([1.0, 4.0, None]), st.sampled_from([None, 99.0]))


def _batches(scans: list[list[dict]], redo: list[tuple]) -> list[pl.DataFrame]:
    """Line j of scan i is its own order or joins the previous one; ``redo`` re-exports the order
    of line j of scan i in a later scan with a new state, quantity and price (a whole order: an
    order re-exported in part is the stated tolerance of ``cod_orders``)."""
    out, made = [], []
    for i, lines in enumerate(scans):
        rows = []
        for j, ln in enumerate(lines):
            at = T0 + timedelta(hours=ln["hours"])
            rows.append({"order_id": f"o{i}-{j // 2}", "line_no": j % 2 + 1, "store_id": ln["store"], "sku": ln["sku"],
                         "quantity": ln["qty"], "unit_price": ln["price"], "created_at": at, "source": "t",
                         "state": ln["state"], "payment_method": ln["pay"], "phone": ln["phone"],
                         "delivered_at": at + timedelta(hours=ln["delivered"]) if ln["delivered"] else None})
        for (si, lj, state, qty, price) in redo:
            if si < i and lj < len(made[si]):     # the whole order again, as exports re-send one
                order = made[si][lj]["order_id"]
                rows = [r for r in rows if r["order_id"] != order]
                rows += [dict(r, state=state, quantity=qty, unit_price=price or r["unit_price"])
                         for r in made[si] if r["order_id"] == order]
        made.append(rows)
        out.append(frame(rows))
    return out


def _kept(batches: list[pl.DataFrame], config) -> tuple[dict[str, pl.DataFrame], pl.DataFrame]:
    """(the tables advanced scan by scan, the raw lines: the newest version of each)."""
    state = {t: empty(t) for t in SCHEMAS}
    stored = batches[0].head(0)
    for batch in batches:
        old = stored.join(batch.select(LINE_KEY), on=list(LINE_KEY), how="semi", nulls_equal=True)
        state = advance(state, batch, old, config)
        stored = pl.concat([stored.join(batch.select(LINE_KEY), on=list(LINE_KEY), how="anti", nulls_equal=True),
                            batch])
    return state, stored


def _sorted(df: pl.DataFrame) -> pl.DataFrame:
    return df.sort(df.columns, nulls_last=True)


def _check(scans, redo, config) -> None:
    batches = _batches(scans, redo)
    kept, raw = _kept(batches, config)
    built = build(raw, config)
    # bounded windows keep twice what they serve: the same rows while under half is withdrawn
    for t in ("platform_orders", "sku_prices", "sku_quantities"):
        assert _sorted(kept[t]).equals(_sorted(built[t])), t
    # presence only grows (a field withdrawn by a re-export stays, at its newest time: the stated
    # tolerance): every field raw lines carry is kept, seen at least as late
    both = built["source_fields"].join(kept["source_fields"], on=["source", "field"], how="left", suffix="_kept")
    assert (both["last_seen_kept"] >= both["last_seen"]).all()
    any_line = pl.col("field") == ANY_LINE
    assert _sorted(kept["source_fields"].filter(any_line)).equals(_sorted(built["source_fields"].filter(any_line)))
    # the open cash-on-delivery orders: the same for every batch no older than the store's newest
    # cash-on-delivery order ever exported (the stated tolerance: an order closed before that one
    # is dropped, and stays dropped when that newest one is later withdrawn by a re-export)
    seen = pl.concat(batches).filter(pl.col("payment_method") == "货到付款").group_by("store_id").agg(
        pl.col("created_at").max().alias("_r"))
    ends = pl.min_horizontal(pl.when(pl.col("settled_at").is_not_null()).then("settled_at")
                             .when(pl.col("settled_state")).then("created_at"),
                             pl.col("created_at") + pl.duration(days=Bounds.of(config).cod_days))

    def serving(t: pl.DataFrame) -> pl.DataFrame:
        return t.join(seen, on="store_id", how="inner").filter(ends > pl.col("_r")).drop("_r")
    assert _sorted(serving(kept["cod_orders"])).equals(_sorted(serving(built["cod_orders"])))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scans=st.lists(scan_st, min_size=1, max_size=4), redo=st.lists(REDO, max_size=4))
def test_platform_state_kept_scan_by_scan_equals_raw_lines(scans, redo):
    _check(scans, redo, CONFIG)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scans=st.lists(scan_st, min_size=2, max_size=4))
def test_tight_bounds_drop_the_oldest_and_keep_the_newest(scans):
    """With 4 platform orders and 2 prices (quantities) a SKU kept, the newest still equal raw's newest."""
    config = load_config()
    config.raw.setdefault("history", {})["state"] = {"platform_orders": 4, "sku_prices": 2, "sku_quantities": 2}
    kept, raw = _kept(_batches(scans, []), config)
    built = build(raw, config)
    for t in ("platform_orders", "sku_prices", "sku_quantities"):
        assert _sorted(kept[t]).equals(_sorted(built[t])), t
    assert order_values(kept["platform_orders"]).height <= 4
    # 2 a SKU, and those as new as the last of them (ties of time are all kept)
    for t in ("sku_prices", "sku_quantities"):
        newer = kept[t].group_by("sku").agg((pl.col("created_at") > pl.col("created_at").min()).sum())
        assert (newer["created_at"].max() or 0) < 2, t
