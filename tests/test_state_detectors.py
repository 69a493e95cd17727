"""Detectors in state mode (issue 9): given the baseline state and only the batch with its
narrowed slice of raw lines, each detector (but volume_surge) returns what it returns from the
raw history window — over stores with few or no orders, re-exported lines and returns."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contracts.config import load_config
from rules import load_rules
from detectors.state_slice import recent_slice
from tests.factories import catalog, frame
from tests.state_support import Given, assert_same_output, outputs

CONFIG = load_config()
T0 = datetime(2026, 9, 1, 0, 0)
DAYS = 6                      # history days 0..4, the batch on day 5 (and re-exports)
STORES, SKUS = ["S1", "S2", "S3", "S4"], ["A", "B", "C"]
CAT = catalog([{"sku": "A", "order_step": 6, "min_order_qty": 6, "list_price": 10.0},
               {"sku": "B", "order_step": 1, "min_order_qty": 2}])
ADDRESS = {"consignee": "张三", "phone": "13800138000", "province": "浙江省", "city": "杭州市",
           "district": "西湖区", "address": "文三路1号"}

order_st = st.fixed_dictionaries({
    "store": st.sampled_from(STORES),
    "day": st.sampled_from([0, 2, DAYS - 2, DAYS - 2, DAYS - 1, DAYS - 1]),
    "minute": st.sampled_from([600, 660, 5, 1420, 1420, 1439]),   # around midnight mostly
    "skus": st.lists(st.sampled_from(SKUS), min_size=1, max_size=3, unique=True),
    "qty": st.sampled_from([1.0, 2.0, 6.0, 12.0, 13.0, -1.0]),
    "price": st.sampled_from([None, 8.0, 10.0, 25.0]),
    "amount": st.sampled_from([None, None, 50.0, 900.0]),
    "state": st.sampled_from([None, None, None, "cancelled", "completed", "returned", "delivered"]),
    "pay": st.sampled_from([None, "货到付款", "online"]),
    "paid": st.sampled_from([None, 30.0]),
    "buyer": st.sampled_from([None, None, "b1"]),
    "address": st.booleans(),
    "settle_h": st.sampled_from([None, None, 5, 30]),      # delivered that many hours later
})


def _rows(orders: list[dict], redo: list[tuple[int, str | None]],
          twins: list[tuple[int, int]] = ()) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(history, batch): orders before the last day are history; ``redo`` re-exports order i
    in the batch with a new state (a return, a cancellation, a delivery); ``twins``: order i
    placed again ``m`` minutes later (a duplicate, or a correction when i is cancelled)."""
    hist, batch = [], []
    orders = list(orders)
    for i, m in twins:
        if orders:
            o = orders[i % len(orders)]
            at = o["day"] * 1440 + o["minute"] + m
            orders.append(dict(o, day=min(at // 1440, DAYS - 1), minute=at % 1440 if at // 1440 < DAYS else 1439,
                               state=None))
    for i, o in enumerate(orders):
        at = T0 + timedelta(days=o["day"], minutes=o["minute"])
        rows = [{"order_id": f"o{i}", "line_no": j + 1, "store_id": o["store"], "store_name": o["store"],
                 "sku": sku, "quantity": o["qty"], "unit_price": o["price"], "order_amount": o["amount"],
                 "created_at": at, "source": "t", "state": o["state"], "payment_method": o["pay"],
                 "paid_amount": o["paid"], "buyer_id": o["buyer"], **(ADDRESS if o["address"] else {}),
                 "delivered_at": at + timedelta(hours=o["settle_h"]) if o["settle_h"] else None}
                for j, sku in enumerate(o["skus"])]
        (batch if o["day"] == DAYS - 1 else hist).extend(rows)
    for i, state in redo:
        i %= len(orders) or 1
        if i < len(orders) and orders[i]["day"] < DAYS - 1:
            batch.extend(dict(r, state=state) for r in hist if r["order_id"] == f"o{i}")
    return frame(hist), frame(batch)


def _settlement_only_in_replaced_lines(history: pl.DataFrame, batch: pl.DataFrame) -> bool:
    """A source whose only cash-on-delivery lines showing a settlement are stored versions the
    batch re-sends without one: the state remembers it tracks settlements, the raw window (the
    newest versions only) no longer sees it — the stated tolerance of ``source_fields``."""
    from contracts.schema import LINE_KEY
    from detectors.common import prepare
    from detectors.state_platform import settles_shown
    g = _given(catalog=CAT, limits=LIMITS, cod_cap=2000.0)

    def showing(df: pl.DataFrame) -> pl.DataFrame:
        return (prepare(df.lazy(), g.config).filter(pl.col("is_cod") & settles_shown())
                .select(*LINE_KEY).collect())
    shown = showing(history)
    if shown.is_empty():
        return False
    resent = batch.select(*LINE_KEY)
    still = shown.join(resent, on=list(LINE_KEY), how="anti", nulls_equal=True)
    return still.is_empty() and showing(batch).is_empty()


LIMITS = pl.DataFrame({"store_id": ["S1", "S2", "S3"], "credit_limit": [100.0, 1000.0, 5000.0]})


def _given(**kw) -> Given:
    return Given(config=CONFIG, as_of=T0 + timedelta(days=DAYS), **kw)


NO_HISTORY_NEEDED = ["payment_mismatch", "step_mismatch", "missing_address"]
RECENT = ["duplicate_order", "cancel_reorder"]
FROM_STATE = ["credit_limit"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders=st.lists(order_st, min_size=1, max_size=40),
       redo=st.lists(st.tuples(st.integers(0, 39), st.sampled_from([None, "cancelled", "returned", "delivered"])),
                     max_size=4),
       twins=st.lists(st.tuples(st.integers(0, 39), st.sampled_from([10, 30, 45, 59, 61, 200])), max_size=8))
@example(orders=[{"store": "S1", "day": 0, "minute": 600, "skus": ["A"], "qty": 1.0, "price": None, "amount": None,
                  "state": "completed", "pay": "货到付款", "paid": None, "buyer": None, "address": False,
                  "settle_h": None}], redo=[(0, None)], twins=[])   # a settled order re-sent without its state
@pytest.mark.parametrize("name", NO_HISTORY_NEEDED + RECENT + FROM_STATE)
def test_state_mode_equals_raw_mode(name, orders, redo, twins):
    history, batch = _rows(orders, redo, twins)
    if batch.is_empty():
        return
    if name == "credit_limit" and _settlement_only_in_replaced_lines(history, batch):
        return      # the stated tolerance: what a source has shown only grows (README, Baselines as state)
    assert_same_output(name, {}, history, batch, _given(catalog=CAT, limits=LIMITS, cod_cap=2000.0))



#: every stage rule of the shipped pack (each its own start, end, closing states and SLA)
STAGES = [r.params for r in load_rules(CONFIG) if r.detector == "stage_overdue"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(orders=st.lists(order_st, min_size=1, max_size=40),
       redo=st.lists(st.tuples(st.integers(0, 39), st.sampled_from([None, "cancelled", "returned", "delivered"])),
                     max_size=4),
       twins=st.lists(st.tuples(st.integers(0, 39), st.sampled_from([10, 30, 45, 59, 61, 200])), max_size=8))
@pytest.mark.parametrize("stage", range(len(STAGES)))
def test_stage_clocks_on_state_equal_raw_mode(stage, orders, redo, twins):
    """An order's stage times come from its own lines: the batch and its store-days' stored lines."""
    history, batch = _rows(orders, redo, twins)
    if batch.is_empty():
        return
    assert_same_output("stage_overdue", STAGES[stage], history, batch, _given(catalog=CAT, limits=LIMITS))

def _pairs() -> tuple[pl.DataFrame, pl.DataFrame]:
    """A store's order at 23:40 yesterday and the same lines again at 00:20 today (a duplicate
    across midnight), and one cancelled at 23:50 re-placed at 00:30 (a correction)."""
    day = T0 + timedelta(days=1)
    hist = frame([
        {"order_id": "a", "store_id": "S1", "sku": "A", "quantity": 6.0, "created_at": day - timedelta(minutes=20), "source": "t"},
        {"order_id": "c", "store_id": "S1", "sku": "B", "quantity": 2.0, "created_at": day - timedelta(minutes=10),
         "source": "t", "status": "已取消"},
        {"order_id": "old", "store_id": "S1", "sku": "A", "quantity": 6.0, "created_at": day - timedelta(hours=5), "source": "t"},
    ])
    batch = frame([
        {"order_id": "a2", "store_id": "S1", "sku": "A", "quantity": 6.0, "created_at": day + timedelta(minutes=20), "source": "t"},
        {"order_id": "c2", "store_id": "S1", "sku": "B", "quantity": 2.0, "created_at": day + timedelta(minutes=30), "source": "t"},
    ])
    return hist, batch


@pytest.mark.parametrize("name, key, found", [("duplicate_order", "previous_order_id", {"a2": "a"}),
                                             ("cancel_reorder", "cancelled_order_id", {"a2": "c", "c2": "c"})])
def test_pairs_across_midnight_are_found_from_the_recent_slice(name, key, found):
    hist, batch = _pairs()
    out = assert_same_output(name, {}, hist, batch, _given())
    assert dict(zip(out["order_id"], out[key])) == found


def test_without_the_declared_minutes_the_pair_is_lost():
    """The slice is what makes it equal: a detector declaring no ``recent`` would miss it."""
    from detectors import REGISTRY
    from tests.state_support import raw_context, state_context

    hist, batch = _pairs()
    det = REGISTRY["duplicate_order"]
    p = det.with_defaults({})
    assert det.compute(raw_context(hist, batch, _given()), p).collect().height == 1
    assert det.compute(state_context(hist, batch, _given(), None), p).collect().height == 0


def test_recent_slice_keeps_the_batch_days_and_the_minutes_before_them():
    day = T0 + timedelta(days=3)
    past = frame([
        {"order_id": n, "store_id": s, "sku": "A", "quantity": 1.0, "created_at": at, "source": "t"}
        for n, s, at in [("same-day-late", "S1", day + timedelta(hours=23)),
                         ("just-before", "S1", day - timedelta(minutes=30)),
                         ("too-early", "S1", day - timedelta(minutes=90)),
                         ("other-store", "S2", day + timedelta(hours=1)),
                         ("two-days-before", "S1", day - timedelta(hours=30))]])
    batch = frame([{"order_id": "n", "store_id": "S1", "sku": "A", "quantity": 1.0,
                    "created_at": day + timedelta(hours=9), "source": "t"}])
    got = recent_slice(past.lazy(), batch, timedelta(minutes=60)).collect()
    assert sorted(got["order_id"]) == ["just-before", "same-day-late"]
    far = recent_slice(past.lazy(), batch, timedelta(hours=31)).collect()
    assert sorted(far["order_id"]) == ["just-before", "same-day-late", "too-early", "two-days-before"]


def test_a_store_without_history_and_an_empty_history():
    _hist, batch = _pairs()
    for name in NO_HISTORY_NEEDED + RECENT:
        raw, state = outputs(name, {}, batch.head(0), batch, _given(catalog=CAT))
        assert raw.height == state.height


def _busy(n_orders: int, stores: list[str], seed: int) -> pl.DataFrame:
    """Stores ordering every few hours for weeks: a store's order amounts vary, some big."""
    import random
    rnd = random.Random(seed)
    rows = []
    for i in range(n_orders):
        s = rnd.choice(stores)
        at = T0 + timedelta(hours=rnd.randrange(0, 24 * 30))
        qty, amount = rnd.choice([1.0, 2.0, 3.0, 5.0, 40.0, -1.0]), rnd.choice([None, None, 500.0])
        for j, sku in enumerate(rnd.sample(SKUS, rnd.randint(1, 3))):
            rows.append({"order_id": f"b{i}", "line_no": j + 1, "store_id": s, "store_name": s, "sku": sku,
                         "quantity": qty, "unit_price": rnd.choice([9.0, 10.0, 11.0, 30.0]),
                         "order_amount": amount, "created_at": at, "source": "t",
                         "state": rnd.choice([None, None, None, "returned", "cancelled"])})
    return frame(rows)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(5, 400), cut_day=st.integers(1, 29),
       redo=st.lists(st.integers(0, 399), max_size=6), platform=st.sampled_from([5, 40, 50_000]),
       window=st.sampled_from([5, 8, 60]))
def test_amount_spike_from_store_orders_and_platform_orders(seed, n, cut_day, redo, platform, window):
    """A store's last orders and the platform's newest come from state; batches of stores with
    no history, of a few orders, and re-exports that return or cancel a stored order."""
    lines = _busy(n, ["S1", "S2", "S3", "S4", "S5"], seed)
    cut = T0 + timedelta(days=cut_day)
    history, batch = lines.filter(pl.col("created_at") < cut), lines.filter(pl.col("created_at") >= cut)
    batch = batch.filter(pl.col("store_id") != "S5")            # S5 only in the history
    again = history.filter(pl.col("order_id").is_in([f"b{i}" for i in redo]))
    batch = pl.concat([batch, again.with_columns(pl.lit("returned").alias("state"))])
    if batch.is_empty():
        return
    params = {"platform_orders": platform, "window": window, "min_history": min(5, window)}
    assert_same_output("amount_spike", params, history, batch, _given())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(5, 300), cut_day=st.integers(1, 29),
       redo=st.lists(st.integers(0, 299), max_size=6), keep=st.sampled_from([3, 10, 200]),
       with_catalog=st.booleans())
def test_price_deviation_from_sku_prices(seed, n, cut_day, redo, keep, with_catalog):
    """A SKU's platform price from its newest stored lines and the batch's; a re-export that
    returns a stored line takes it out of the reference."""
    lines = _busy(n, ["S1", "S2", "S3"], seed)
    cut = T0 + timedelta(days=cut_day)
    history, batch = lines.filter(pl.col("created_at") < cut), lines.filter(pl.col("created_at") >= cut)
    again = history.filter(pl.col("order_id").is_in([f"b{i}" for i in redo]))
    batch = pl.concat([batch.filter(pl.col("store_id") != "S3"), again.with_columns(pl.lit("returned").alias("state"))])
    if batch.is_empty():
        return
    params = {"platform_lines": keep, "min_platform_lines": min(5, keep)}
    assert_same_output("price_deviation", params, history, batch, _given(catalog=CAT if with_catalog else None))


field_st = st.sampled_from(["delivered_at", "paid_at", "phone", "buyer_id", "picked_at"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hist=st.lists(st.tuples(st.sampled_from(["t", "u", "default"]), st.lists(field_st, max_size=3),
                               st.integers(0, 200), st.sampled_from([None, "delivered", "shipped"])), max_size=12),
       files=st.lists(st.tuples(st.sampled_from(["t", "u", "default", "v"]), st.lists(field_st, max_size=2)),
                      min_size=1, max_size=3))
def test_presence_from_source_fields(hist, files):
    """What a file's source carries comes from the state's source_fields inside the window: the
    same fields and states as from the source's raw history lines."""
    from detectors.needs import presence
    from tests.state_support import raw_context, state_context

    now = T0 + timedelta(days=120)
    def row(i, src, fields, at, state, file):
        r = {"order_id": f"{file}{i}", "store_id": "S1", "sku": "A", "quantity": 1.0, "created_at": at,
             "source": src, "source_file": file, "state": state}
        r.update({f: (at if f.endswith("_at") else "x") for f in fields})
        return r
    past = [row(i, s, f, now - timedelta(days=d, hours=1), state, f"old-{s}.csv") for i, (s, f, d, state) in enumerate(hist)]
    new = [row(i, s, f, now + timedelta(hours=i), None, f"new-{i}.csv") for i, (s, f) in enumerate(files)]
    history, batch = frame(past) if past else frame([]), frame(new)
    raw = presence(raw_context(history, batch, _given()).lines)
    ctx = state_context(history, batch, _given())
    assert presence(ctx.lines, ctx.past_state("source_fields", at="last_seen").collect()) == raw


def test_credit_exposure_counts_the_stored_open_orders():
    """The store's open cash-on-delivery orders of earlier days come from the state's cod_orders:
    one still open counts, one delivered since does not, one cancelled by a re-export leaves."""
    day = T0 + timedelta(days=5, hours=10)
    cod = {"store_id": "S1", "sku": "A", "quantity": 1.0, "source": "t", "payment_method": "货到付款"}
    history = frame([
        {**cod, "order_id": "open", "unit_price": 600.0, "created_at": day - timedelta(days=2)},
        {**cod, "order_id": "paid", "unit_price": 500.0, "created_at": day - timedelta(days=3),
         "delivered_at": day - timedelta(days=2)},
        {**cod, "order_id": "gone", "unit_price": 700.0, "created_at": day - timedelta(days=1)},
    ])
    batch = frame([{**cod, "order_id": "new", "unit_price": 500.0, "created_at": day},
                   {**cod, "order_id": "gone", "unit_price": 700.0, "created_at": day - timedelta(days=1),
                    "status": "已取消"}])
    out = assert_same_output("credit_limit", {}, history, batch, _given(limits=LIMITS))
    row = out.filter(pl.col("order_id") == "new")
    assert row["cod_exposure"].to_list() == [1100.0] and row["open_cod_orders"].to_list() == [2]


def test_params_the_state_cannot_serve_are_refused():
    """A rule reading more than the state keeps is refused by the loader (file, rule, field)."""
    from detectors import REGISTRY
    credit, amount, price = (REGISTRY[n] for n in ("credit_limit", "amount_spike", "price_deviation"))
    assert [f for f, _ in credit.check(credit.with_defaults({"exposure_days": 90}), CONFIG)] == ["exposure_days"]
    assert credit.check(credit.with_defaults({}), CONFIG) == []
    assert [f for f, _ in amount.check(amount.with_defaults({"platform_orders": 3}), CONFIG)] == ["platform_orders"]
    assert [f for f, _ in price.check(price.with_defaults({"platform_lines": 2}), CONFIG)] == ["platform_lines"]
